import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { userHome } from "../../src/objects/homes";
import type { UserObject } from "../../src/objects/user/UserObject";
import { api, connect, directConversation, registerUser } from "../helpers/client";
import { conversationIn, conversationStub } from "../helpers/objects";

/**
 * Entry points survive a throwing handler: the socket stays open and usable, the client hears only
 * "internal error" (the detail goes to the log), and no state is lost. Faults are injected by
 * replacing one internal method of the live object for one call.
 */
type Patchable = Record<string, Record<string, (...args: unknown[]) => unknown>>;

function failOnce(target: Record<string, (...args: unknown[]) => unknown>, method: string, message: string) {
  const original = target[method]!;
  target[method] = function (this: unknown) {
    target[method] = original;
    throw new Error(message);
  };
}

describe("entry points survive a throwing handler", () => {
  it("a device frame handler that throws: an error frame without detail, the socket stays, the message goes later", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const socket = await connect(ana.token, "phone");
    await runInDurableObject(userHome(env, ana.user.user_id), (instance: UserObject) => {
      // The device port's store (src/objects/user/frames.ts): the frame core catches what it throws.
      failOnce((instance as unknown as Patchable).frames!, "store", "secret detail: disk on fire");
    });
    const frame = { type: "send_message", conversation_id: conversation, content: "first try", content_type: "text", client_msg_id: "c1" };
    socket.send(frame);
    const [error] = await socket.next("error");
    expect(error).toEqual({ type: "error", code: "internal_error", message: "could not store the message; retry", client_msg_id: "c1" });
    await socket.settle(); // still open and answering
    socket.send(frame); // the client resends the same id, as the SDK does
    const [ack] = await socket.next("message_ack");
    expect(ack!.client_msg_id).toBe("c1");
    const history = await api("GET", `/api/v1/conversations/${conversation}/messages`, { token: bo.token });
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual(["first try"]);
    socket.close();
  });

  it("a conversation alarm that throws: nothing is lost, a retry is booked, and the next alarm finishes the job", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const stub = conversationStub(conversation);
    await api("POST", `/api/v1/conversations/${conversation}/messages`, {
      token: ana.token,
      body: { content: "before the fault", content_type: "text", client_msg_id: "a1" },
    });
    await runInDurableObject(stub, async (instance: ConversationObject, state) => {
      failOnce(conversationIn(instance, conversation).fanout as unknown as Record<string, (...args: unknown[]) => unknown>, "publish", "fan-out exploded");
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true); // ran, threw inside, and returned normally
    const rebooked = await runInDurableObject(stub, (_: ConversationObject, state) => state.storage.getAlarm());
    expect(rebooked).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const history = await api("GET", `/api/v1/conversations/${conversation}/messages`, { token: bo.token });
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual(["before the fault"]);
    const socket = await connect(bo.token, "bo-phone");
    const [delivered] = await socket.next("new_message");
    expect(delivered!.content).toBe("before the fault");
    socket.close();
  });

  it("a user alarm task that throws is booked again", async () => {
    const ana = await registerUser("ana");
    const stub = userHome(env, ana.user.user_id);
    const socket = await connect(ana.token, "phone"); // books the liveness check, the alarm's next task
    await runInDurableObject(stub, (instance: UserObject) => {
      failOnce((instance as unknown as Patchable).presence!, "checkLiveness", "presence exploded");
    });
    const before = Date.now();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const liveness = await runInDurableObject(stub, (_: UserObject, state) =>
      state.storage.sql.exec<{ due_at: number }>("SELECT due_at FROM alarm_tasks WHERE task = 'liveness'").toArray(),
    );
    expect(liveness).toHaveLength(1);
    expect(liveness[0]!.due_at).toBeGreaterThanOrEqual(before);
    expect(await runInDurableObject(stub, (_: UserObject, state) => state.storage.getAlarm())).not.toBeNull();
    expect((await api("GET", "/api/v1/users/me", { token: ana.token })).status).toBe(200);
    socket.close();
  });
});
