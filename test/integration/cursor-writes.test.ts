import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userHome } from "../../src/objects/homes";
import { api, connect, directConversation, registerUser, sendAndAck } from "../helpers/client";
import { conversationStub } from "../helpers/objects";

/**
 * Delivered/read acknowledgements are written behind (src/objects/writeBehind.ts): the sender
 * hears at once, the stored cursors follow within a second or with the next write, and what is
 * stored is what a restart and a reconnecting device see.
 */
const userStub = (id: string) => userHome(env, id);

const storedMemberCursor = (conversationId: string, userId: string) =>
  runInDurableObject(conversationStub(conversationId), (_o, state) =>
    state.storage.sql
      .exec<{ delivered_seq: number; read_seq: number }>("SELECT delivered_seq, read_seq FROM members WHERE conversation_id = ? AND user_id = ?", conversationId, userId)
      .one(),
  );
const storedDeviceCursor = (userId: string, deviceId: string, conversationId: string) =>
  runInDurableObject(userStub(userId), (_o, state) =>
    state.storage.sql
      .exec<{ delivered_seq: number }>(
        "SELECT delivered_seq FROM delivery_cursors WHERE user_id = ? AND device_id = ? AND conversation_id = ?",
        userId,
        deviceId,
        conversationId,
      )
      .toArray()[0]?.delivered_seq ?? 0,
  );

/** Two users in a direct conversation, each with one device socket open. */
async function connectedPair() {
  const [a, b] = [await registerUser(), await registerUser()];
  const conv = await directConversation(a, b);
  return { a, b, conv, a1: await connect(a.token, "a1"), b1: await connect(b.token, "b1") };
}

describe("acknowledgements written behind", () => {
  it("tell the sender at once and reach storage without any further traffic", async () => {
    const { a, b, conv, a1, b1 } = await connectedPair();
    const acks = [];
    for (let i = 1; i <= 3; i++) acks.push(await sendAndAck(a1, conv, `m${i}`, `c${i}`));
    await b1.next("new_message", 3);
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: acks[2]!.server_msg_id, status: "delivered" });
    await a1.until((s) => s.of("message_status").some((f) => f.seq === 3 && f.status === "delivered"), "delivered receipt");

    // Nothing else happens in either object; the cursors are stored all the same.
    await expect.poll(() => storedMemberCursor(conv, b.user.user_id), { timeout: 5_000 }).toMatchObject({ delivered_seq: 3 });
    await expect.poll(() => storedDeviceCursor(b.user.user_id, "b1", conv), { timeout: 5_000 }).toBe(3);

    // Stored means a restart keeps it: the evicted user object replays nothing already acknowledged.
    b1.close();
    await evictDurableObject(userStub(b.user.user_id));
    const again = await connect(b.token, "b1");
    // The barrier: a new message's live push waits for the reconnect's catch-up to finish, so
    // anything replayed would arrive before it. Only the new one may come.
    await sendAndAck(a1, conv, "m4", "c4");
    await again.until((s) => s.of("new_message").some((m) => m.seq === 4), "the new message");
    expect(again.of("new_message").map((m) => m.seq)).toEqual([4]);
    a1.close();
    again.close();
  });

  it("a read still pending when the next message lands leaves the right unread count", async () => {
    const { a, b, conv, a1, b1 } = await connectedPair();
    await sendAndAck(a1, conv, "one", "r1");
    const second = await sendAndAck(a1, conv, "two", "r2");
    await b1.next("new_message", 2);
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: second.server_msg_id, status: "read" });
    await a1.until((s) => s.of("message_status").some((f) => f.seq === 2 && f.status === "read"), "read receipt");
    // Within the write-behind window: the read (unread 0) must be applied before this adds one.
    await sendAndAck(a1, conv, "three", "r3");
    await b1.next("new_message", 3);
    await expect
      .poll(async () => (await api("GET", "/api/v1/conversations", { token: b.token })).body.conversations[0], { timeout: 5_000 })
      .toMatchObject({ conversation_id: conv, unread_count: 1 });
    // And the message-info receipts (read from the cursor log) already show the read.
    const info = await api("GET", `/api/v1/conversations/${conv}/messages/${second.server_msg_id}/receipts`, { token: a.token });
    expect(info.status).toBe(200);
    expect(info.body.receipts[0]).toMatchObject({ user_id: b.user.user_id });
    expect(info.body.receipts[0].read_at).toEqual(expect.any(Number));
    a1.close();
    b1.close();
  });
});

describe("inbox writes held by the user object", () => {
  it("a user object that restarts before writing what it was handed loses none of it", async () => {
    const { a, b, conv, a1, b1 } = await connectedPair();
    const ack = await sendAndAck(a1, conv, "held", "h1");
    await b1.next("new_message", 1);
    // b's object pushed it to b1 and holds the inbox write; it crashes before writing (aborted, as
    // the runtime resets an object that broke: what it held in memory is gone).
    const writtenNow = await runInDurableObject(userStub(b.user.user_id), (_o, state) => {
      const seq = state.storage.sql.exec<{ last_seq: number }>("SELECT last_seq FROM conversations WHERE conversation_id = ?", conv).one().last_seq;
      if (seq === 0) state.abort("injected: crash holding inbox writes");
      return seq;
    }).catch((err: unknown) => (String(err).includes("injected") ? 0 : Promise.reject(err)));
    expect(writtenNow).toBe(0);
    // With no further traffic, fan-out's confirmation finds b short and delivers again.
    await expect
      .poll(async () => (await api("GET", "/api/v1/conversations", { token: b.token })).body.conversations[0], { timeout: 10_000 })
      .toMatchObject({ conversation_id: conv, last_message: { server_msg_id: ack.server_msg_id }, unread_count: 1 });
    // And a device that connects now is caught up from it.
    const b2 = await connect(b.token, "b2");
    const [caught] = await b2.next("new_message", 1);
    expect(caught!.server_msg_id).toBe(ack.server_msg_id);
    for (const s of [a1, b1, b2]) s.close();
  });
});
