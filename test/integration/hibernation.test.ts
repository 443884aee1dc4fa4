import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HEARTBEAT_REQUEST } from "../../src/protocol";
import { userHome } from "../../src/objects/homes";
import { userObjectConstructions } from "../../src/objects/user/UserObject";
import { api, connect, directConversation, registerUser, text } from "../helpers/client";

describe("idle device sockets", () => {
  it("are answered without waking their object, which wakes again for a real frame", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const socket = await connect(b.token, "b1");
    const stub = userHome(env, b.user.user_id);
    await evictDurableObject(stub); // hibernates the socket, tears down the instance
    const before = userObjectConstructions.count;

    for (let i = 0; i < 20; i++) socket.send(HEARTBEAT_REQUEST);
    await socket.next("heartbeat_ack", 20);
    expect(userObjectConstructions.count).toBe(before);

    // A message for b does wake it, and the hibernated socket still works.
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("wake up", "w1") });
    const [m] = await socket.next("new_message");
    expect(m!.content).toBe("wake up");
    expect(userObjectConstructions.count).toBeGreaterThan(before);
    socket.close();
  });
});
