import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HEARTBEAT_REQUEST } from "../../src/protocol";
import { userHome } from "../../src/objects/homes";
import { api, connect, directConversation, registerUser, text } from "../helpers/client";

describe("idle device sockets", () => {
  it("are answered by the runtime without waking their object, which wakes again for a real frame", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const socket = await connect(b.token, "b1");
    const stub = userHome(env, b.user.user_id);
    await evictDurableObject(stub, { webSockets: "hibernate" }); // tears down the instance, keeps the socket
    const sentAt = Date.now();

    for (let i = 0; i < 20; i++) socket.send(HEARTBEAT_REQUEST);
    await socket.next("heartbeat_ack", 20);
    // The runtime answered them itself (the auto-response, which never runs the object's code): it
    // recorded when, for the object's liveness checks to read.
    const answeredAt = await runInDurableObject(stub, (_o, state) =>
      state.getWebSockets().map((ws) => state.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? null),
    );
    expect(answeredAt).toHaveLength(1);
    expect(answeredAt[0]).toBeGreaterThanOrEqual(sentAt - 1_000);

    // A message for b does wake it, and the hibernated socket still works.
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("wake up", "w1") });
    const [m] = await socket.next("new_message");
    expect(m!.content).toBe("wake up");
    socket.close();
  });
});
