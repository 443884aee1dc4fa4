import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newServerMsgId } from "../../src/lib/ids";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { userHome } from "../../src/objects/homes";
import { api, connect, directConversation, quickUsersPlaced, registerUser, text, type Account } from "../helpers/client";
import { conversationStub } from "../helpers/objects";

const userStub = (id: string) => userHome(env, id);

describe("recovery", () => {
  it("finishes a fan-out that a crash cut short, so an acked message still reaches the recipient", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("before the crash", "c1") });
    const stub = conversationStub(conv);
    // Fan-out progress is persisted by the next send or by the alarm armed with the batch.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const fanoutSeq = await runInDurableObject(stub, (_o, state) => state.storage.sql.exec("SELECT fanout_seq FROM conversations WHERE conversation_id = ?", conv).one().fanout_seq);
    expect(fanoutSeq).toBe(1);

    // The state a crash leaves between the durable write (and ack) and the fan-out: the message
    // and its alarm are stored, fanout_seq is behind, and no user object has heard of it.
    await runInDurableObject(stub, async (_o, state) => {
      state.storage.sql.exec(
        `INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, client_msg_id, content, content_type, timestamp)
         VALUES (?, 2, ?, ?, 'c2', 'acked, then crashed', 'text', ?)`,
        conv,
        newServerMsgId(2),
        a.user.user_id,
        Date.now(),
      );
      state.storage.sql.exec("UPDATE conversations SET last_seq = 2 WHERE conversation_id = ?", conv);
      await state.storage.setAlarm(Date.now() + 60_000);
    });
    await evictDurableObject(stub);

    const b1 = await connect(b.token, "b1");
    await b1.next("new_message", 1);
    // The alarm resumes fan-out from fanout_seq; the live device gets the rest, once.
    await runDurableObjectAlarm(stub);
    const got = await b1.next("new_message", 2);
    expect(got.map((m) => [m.seq, m.content])).toEqual([
      [1, "before the crash"],
      [2, "acked, then crashed"],
    ]);
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("after", "c3") });
    await b1.next("new_message", 3);
    expect(b1.of("new_message").map((m) => m.seq)).toEqual([1, 2, 3]);
    b1.close();
  });

  it("re-delivers from the persisted fan-out point after a restart, and devices see each message once", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const b1 = await connect(b.token, "b1");
    for (let i = 1; i <= 5; i++) {
      await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text(`r${i}`, `r${i}`) });
    }
    await b1.next("new_message", 5);
    // Fan-out finished in memory, but its progress is persisted only by the next send or alarm:
    // a restart now resumes from an earlier point and delivers some messages a second time.
    const stub = conversationStub(conv);
    const persisted = await runInDurableObject(stub, (_o, state) => state.storage.sql.exec("SELECT fanout_seq FROM conversations WHERE conversation_id = ?", conv).one().fanout_seq as number);
    expect(persisted).toBeLessThan(5);
    await evictDurableObject(stub);
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("r6", "r6") });
    await b1.next("new_message", 6);
    await b1.settle();
    expect(b1.of("new_message").map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    b1.close();
  });

  it("loses nothing when the recipient's object is evicted mid-stream", async () => {
    // Apart: evicting b's object must not close a's socket too.
    const [a, b] = (await quickUsersPlaced(2, "apart")) as [Account, Account];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const b1 = await connect(b.token, "b1");
    const total = 300;
    for (let i = 0; i < total / 2; i++) a1.send({ type: "send_message", conversation_id: conv, ...text(`x${i}`, `x${i}`) });
    await b1.next("new_message", 10);
    // Tear the user object down (and its sockets) while deliveries are still flowing.
    await evictDurableObject(userStub(b.user.user_id), { webSockets: "close" });
    for (let i = total / 2; i < total; i++) a1.send({ type: "send_message", conversation_id: conv, ...text(`x${i}`, `x${i}`) });
    await a1.next("message_ack", total, 20_000);

    const seen = new Map<number, number>();
    for (const m of b1.of("new_message")) seen.set(m.seq, (seen.get(m.seq) ?? 0) + 1);
    const lastContiguous = [...seen.keys()].sort((x, y) => x - y).reduce((acc, s) => (s === acc + 1 ? s : acc), 0);
    const delivered = b1.of("new_message").find((m) => m.seq === lastContiguous);
    // The device acknowledges what it has before it lost the socket.
    const b1again = await connect(b.token, "b1");
    if (delivered) {
      b1again.send({ type: "message_status", conversation_id: conv, server_msg_id: delivered.server_msg_id, status: "delivered" });
    }
    await b1again.until(
      () => {
        for (const m of b1again.of("new_message")) seen.set(m.seq, (seen.get(m.seq) ?? 0) + 1);
        const have = new Set([...b1.of("new_message"), ...b1again.of("new_message")].map((m) => m.seq));
        return have.size >= total;
      },
      "every message",
      20_000,
    );
    const all = [...b1.of("new_message"), ...b1again.of("new_message")].map((m) => m.seq);
    expect(new Set(all).size).toBe(total);
    expect([...new Set(all)].sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // The reconnected socket saw its part in order.
    const again = b1again.of("new_message").map((m) => m.seq);
    expect(again).toEqual([...again].sort((x, y) => x - y));
    a1.close();
    b1again.close();
  });
});
