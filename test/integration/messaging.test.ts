import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { api, connect, directConversation, registerUser, sendAndAck, text, type TestSocket } from "../helpers/client";
import { conversationStub } from "../helpers/objects";



describe("direct conversations", () => {
  it("exist once per pair, whoever creates them", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const first = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "direct", member_ids: [b.user.user_id] } });
    expect(first.status).toBe(201);
    const again = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "direct", member_ids: [b.user.user_id] } });
    const reverse = await api("POST", "/api/v1/conversations", { token: b.token, body: { type: "direct", member_ids: [a.user.user_id] } });
    expect(again.status).toBe(200);
    expect(reverse.status).toBe(200);
    const id = first.body.conversation.conversation_id;
    expect(again.body.conversation.conversation_id).toBe(id);
    expect(reverse.body.conversation.conversation_id).toBe(id);
    expect(first.body.conversation.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
      [a.user.user_id, b.user.user_id].sort(),
    );
    const got = await api("GET", `/api/v1/conversations/${id}`, { token: b.token });
    expect(got.status).toBe(200);
    expect(got.body.conversation.type).toBe("direct");
  });

  it("refuses a conversation with oneself or with nobody", async () => {
    const a = await registerUser();
    const self = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "direct", member_ids: [a.user.user_id] } });
    expect(self.status).toBe(400);
    const ghost = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "direct", member_ids: ["u_doesnotexist000000"] } });
    expect(ghost.status).toBe(404);
    const two = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "direct", member_ids: ["u_x", "u_y"] } });
    expect(two.status).toBe(400);
    expect(two.body.error.code).toBe("bad_request");
  });
});

describe("the message path", () => {
  it("assigns a gapless seq with several senders at once, and two devices see one order", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const a2 = await connect(a.token, "a2");
    const b1 = await connect(b.token, "b1");
    const b2 = await connect(b.token, "b2");
    const perSender = 25;
    const senders: [TestSocket, string][] = [[a1, "a1"], [a2, "a2"], [b1, "b1"]];
    for (let i = 0; i < perSender; i++) {
      for (const [socket, name] of senders) {
        socket.send({ type: "send_message", conversation_id: conv, ...text(`${name}-${i}`, `${name}-${i}`) });
      }
    }
    // REST sends interleave with the socket ones.
    const rest = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        api("POST", `/api/v1/conversations/${conv}/messages`, { token: b.token, body: text(`rest-${i}`, `rest-${i}`) }),
      ),
    );
    const total = perSender * senders.length + rest.length;
    const acks = [
      ...(await a1.next("message_ack", perSender)),
      ...(await a2.next("message_ack", perSender)),
      ...(await b1.next("message_ack", perSender)),
      ...rest.map((r) => r.body),
    ];
    expect(acks.map((x) => x.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    // One socket's messages keep their send order.
    for (const [socket, name] of senders) {
      const seqs = socket.of("message_ack").map((ack) => ({ seq: ack.seq, i: Number(ack.client_msg_id.split("-")[1]) }));
      expect(seqs.map((s) => s.i), name).toEqual([...Array(perSender).keys()]);
      expect([...seqs.map((s) => s.seq)].sort((x, y) => x - y)).toEqual(seqs.map((s) => s.seq));
    }

    // b2 sent nothing: it sees all of them; b1 sees all but its own (it has their acks).
    const b2Msgs = await b2.next("new_message", total);
    expect(b2Msgs.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const b1Msgs = await b1.next("new_message", total - perSender);
    expect(b1Msgs.map((m) => m.seq)).toEqual(b2Msgs.filter((m) => !m.content.startsWith("b1-")).map((m) => m.seq));
    const history = await api("GET", `/api/v1/conversations/${conv}/messages?after=0&limit=100`, { token: a.token });
    expect(history.body.messages.map((m: { server_msg_id: string }) => m.server_msg_id)).toEqual(b2Msgs.map((m) => m.server_msg_id));
    for (const s of [a1, a2, b1, b2]) s.close();
  });

  it("stores a message durably before acking it", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const ack = await sendAndAck(a1, conv, "survives eviction", "durable-1");
    expect(ack).toMatchObject({ type: "message_ack", status: "sent", seq: 1, conversation_id: conv });
    const stub = conversationStub(conv);
    await evictDurableObject(stub);
    const stored = await runInDurableObject(stub, (_obj: ConversationObject, state) =>
      state.storage.sql.exec("SELECT seq, server_msg_id, content FROM messages WHERE conversation_id = ?", conv).toArray(),
    );
    expect(stored).toEqual([{ seq: 1, server_msg_id: ack.server_msg_id, content: "survives eviction" }]);
    const history = await api("GET", `/api/v1/conversations/${conv}/messages`, { token: b.token });
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual(["survives eviction"]);
    a1.close();
  });

  it("stores a repeated client_msg_id once, over the socket and over REST", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const first = await sendAndAck(a1, conv, "hello", "same-id");
    const second = await sendAndAck(a1, conv, "hello", "same-id");
    expect(second.server_msg_id).toBe(first.server_msg_id);
    expect(second.seq).toBe(first.seq);
    expect(second.timestamp).toBe(first.timestamp);
    const viaRest = await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("hello", "same-id") });
    expect(viaRest.status).toBe(201);
    expect(viaRest.body).toMatchObject({ server_msg_id: first.server_msg_id, seq: first.seq, status: "sent" });
    const restA = await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("rest", "rest-id") });
    const restB = await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("rest", "rest-id") });
    expect(restB.body.server_msg_id).toBe(restA.body.server_msg_id);
    // The same client_msg_id from a different sender is a different message.
    const other = await api("POST", `/api/v1/conversations/${conv}/messages`, { token: b.token, body: text("hello", "same-id") });
    expect(other.body.server_msg_id).not.toBe(first.server_msg_id);
    const history = await api("GET", `/api/v1/conversations/${conv}/messages`, { token: a.token });
    expect(history.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3]);
    a1.close();
  });

  it("catches an offline device up in order, once, and never again after it acknowledges", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const count = 1_200; // more than two replay pages
    for (let i = 0; i < count; i++) a1.send({ type: "send_message", conversation_id: conv, ...text(`m${i}`, `m${i}`) });
    await a1.next("message_ack", count, 30_000);

    const b1 = await connect(b.token, "b1");
    const replayed = await b1.next("new_message", count, 30_000);
    expect(replayed.map((m) => m.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(replayed.map((m) => m.content)).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: replayed.at(-1)!.server_msg_id, status: "delivered" });
    // The sender hears of it: proof the status was processed before b1 goes away.
    await a1.until((s) => s.of("message_status").some((f) => f.seq === count), "delivered receipt");
    b1.close();

    // A later message is the barrier: anything older still queued for b1 would arrive before it.
    await sendAndAck(a1, conv, "after", "after");
    const b1again = await connect(b.token, "b1");
    const again = await b1again.next("new_message", 1);
    await b1again.settle();
    expect(b1again.of("new_message").map((m) => m.content)).toEqual(["after"]);
    expect(again[0]!.seq).toBe(count + 1);
    b1again.close();

    // A parley.v2 device gets the same catch-up in pages: an array per socket message, same order.
    const b3 = await connect(b.token, "b3", { subprotocol: "parley.v2" });
    const paged = await b3.next("new_message", count + 1, 30_000);
    expect(paged.map((m) => m.seq)).toEqual(Array.from({ length: count + 1 }, (_, i) => i + 1));
    expect(b3.messages).toBeLessThanOrEqual(10);
    b3.close();

    // Another device of b has its own cursor: it gets everything.
    const b2 = await connect(b.token, "b2");
    const all = await b2.next("new_message", count + 1, 30_000);
    expect(new Set(all.map((m) => m.seq)).size).toBe(count + 1);
    for (const s of [a1, b1again, b2]) s.close();
  });

  it("delivers live to every connected device, and keeps each device's cursor its own", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const b1 = await connect(b.token, "b1");
    const b2 = await connect(b.token, "b2");
    const ack = await sendAndAck(a1, conv, "to both", "both");
    const [m1] = await b1.next("new_message");
    const [m2] = await b2.next("new_message");
    expect(m1).toEqual(m2);
    expect(m1).toMatchObject({ server_msg_id: ack.server_msg_id, seq: 1, sender_id: a.user.user_id, content: "to both", content_type: "text" });
    // a1 sent it and has the ack; a's other devices get the message itself.
    const a2 = await connect(a.token, "a2");
    const [own] = await a2.next("new_message");
    expect(own!.server_msg_id).toBe(ack.server_msg_id);

    // b1 acknowledges, b2 does not: on reconnect only b2 gets it again.
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: ack.server_msg_id, status: "delivered" });
    await a1.until((s) => s.of("message_status").length >= 1, "delivered receipt");
    b1.close();
    b2.close();
    await sendAndAck(a1, conv, "barrier", "barrier");
    const b1r = await connect(b.token, "b1");
    const b2r = await connect(b.token, "b2");
    expect((await b1r.next("new_message", 1)).map((m) => m.content)).toEqual(["barrier"]);
    expect((await b2r.next("new_message", 2)).map((m) => m.content)).toEqual(["to both", "barrier"]);
    for (const s of [a1, a2, b1r, b2r]) s.close();
  });

  it("tells all the sender's devices when the recipient has delivered and read", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const a2 = await connect(a.token, "a2");
    const b1 = await connect(b.token, "b1");
    const first = await sendAndAck(a1, conv, "one", "one");
    const second = await sendAndAck(a1, conv, "two", "two");
    await b1.next("new_message", 2);

    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: second.server_msg_id, status: "delivered" });
    for (const s of [a1, a2]) {
      const [status] = await s.next("message_status", 1);
      expect(status).toEqual({
        type: "message_status",
        conversation_id: conv,
        server_msg_id: second.server_msg_id,
        seq: 2,
        user_id: b.user.user_id,
        status: "delivered",
      });
    }
    // Cumulative: reading the first marks only it; reading the second then covers both.
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: first.server_msg_id, status: "read" });
    await a1.until((s) => s.of("message_status").some((f) => f.status === "read"), "read receipt");
    expect(a1.of("message_status").at(-1)).toMatchObject({ status: "read", seq: 1, server_msg_id: first.server_msg_id });
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: second.server_msg_id, status: "read" });
    await a2.until((s) => s.of("message_status").filter((f) => f.status === "read").length >= 2, "second read receipt");
    expect(a2.of("message_status").at(-1)).toMatchObject({ status: "read", seq: 2, user_id: b.user.user_id });

    // A stale or repeated status moves nothing and tells nobody. The barrier is a real receipt sent
    // after them on the same path, once the windows that gather moves (100 ms in b's object) and
    // notices (200 ms in the conversation) have passed, so it cannot swallow them: a notice for the
    // stale ones would reach Alice before the barrier's.
    const before = a1.of("message_status").length;
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: first.server_msg_id, status: "delivered" });
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: second.server_msg_id, status: "read" });
    await new Promise((r) => setTimeout(r, 600));
    const barrier = await sendAndAck(a1, conv, "barrier", "barrier");
    await b1.until((s) => s.of("new_message").some((m) => m.server_msg_id === barrier.server_msg_id), "the barrier");
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: barrier.server_msg_id, status: "delivered" });
    await a1.until((s) => s.of("message_status").some((f) => f.server_msg_id === barrier.server_msg_id), "the barrier's receipt");
    expect(a1.of("message_status").slice(before)).toEqual([
      { type: "message_status", conversation_id: conv, server_msg_id: barrier.server_msg_id, seq: 3, user_id: b.user.user_id, status: "delivered" },
    ]);
    for (const s of [a1, a2, b1]) s.close();
  });

  it("keeps the conversation list with last message and unread count", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const b1 = await connect(b.token, "b1");
    await sendAndAck(a1, conv, "first", "c1");
    const last = await sendAndAck(a1, conv, "second", "c2");
    await b1.next("new_message", 2);
    const listB = await api("GET", "/api/v1/conversations", { token: b.token });
    expect(listB.status).toBe(200);
    expect(listB.body.conversations).toHaveLength(1);
    expect(listB.body.conversations[0]).toMatchObject({
      conversation_id: conv,
      type: "direct",
      unread_count: 2,
      last_message: { server_msg_id: last.server_msg_id, content: "second", seq: 2 },
    });
    const listA = await api("GET", "/api/v1/conversations", { token: a.token });
    expect(listA.body.conversations[0].unread_count).toBe(0);

    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: last.server_msg_id, status: "read" });
    await a1.until((s) => s.of("message_status").some((f) => f.status === "read"), "read receipt");
    await b1.settle();
    await expect.poll(async () => (await api("GET", "/api/v1/conversations", { token: b.token })).body.conversations[0].unread_count).toBe(0);

    // Most recent first.
    const c = await registerUser();
    const conv2 = await directConversation(b, c);
    await api("POST", `/api/v1/conversations/${conv2}/messages`, { token: c.token, body: text("newer", "n1") });
    await expect
      .poll(async () => (await api("GET", "/api/v1/conversations", { token: b.token })).body.conversations.map((x: { conversation_id: string }) => x.conversation_id))
      .toEqual([conv2, conv]);
    a1.close();
    b1.close();
  });

  it("serves history pages in both directions", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    for (let i = 1; i <= 25; i++) a1.send({ type: "send_message", conversation_id: conv, ...text(`h${i}`, `h${i}`) });
    await a1.next("message_ack", 25);
    const get = (q: string) => api("GET", `/api/v1/conversations/${conv}/messages${q}`, { token: b.token });
    const seqs = (r: { body: { messages: { seq: number }[] } }) => r.body.messages.map((m) => m.seq);

    const newest = await get("?limit=10");
    expect(seqs(newest)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(newest.body.has_more).toBe(true);
    const older = await get("?before=16&limit=10");
    expect(seqs(older)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const oldest = await get("?before=6&limit=10");
    expect(seqs(oldest)).toEqual([1, 2, 3, 4, 5]);
    expect(oldest.body.has_more).toBe(false);
    const forward = await get("?after=0&limit=20");
    expect(seqs(forward)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(forward.body.has_more).toBe(true);
    const rest = await get("?after=20&limit=20");
    expect(seqs(rest)).toEqual([21, 22, 23, 24, 25]);
    expect(rest.body.has_more).toBe(false);
    expect(seqs(await get(""))).toHaveLength(25);

    for (const q of ["?limit=0", "?limit=101", "?limit=abc", "?before=-1", "?before=3&after=1"]) {
      const res = await get(q);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
    }
    a1.close();
  });

  it("takes a batch of frames in one socket message, in order, refusing only the bad ones", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const a1 = await connect(a.token, "a1");
    const send = (i: number) => ({ type: "send_message", conversation_id: conv, ...text(`batch${i}`, `batch${i}`) });
    a1.send([send(0), send(1), { type: "send_message", conversation_id: conv, ...text("", "empty") }, send(2), { type: "bogus" }, send(3)]);
    const acks = await a1.next("message_ack", 4);
    expect(acks.map((x) => [x.client_msg_id, x.seq])).toEqual([
      ["batch0", 1],
      ["batch1", 2],
      ["batch2", 3],
      ["batch3", 4],
    ]);
    const errors = await a1.next("error", 2);
    expect(errors.map((e) => e.code).sort()).toEqual(["bad_request", "invalid_frame"]);
    const history = await api("GET", `/api/v1/conversations/${conv}/messages`, { token: b.token });
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual(["batch0", "batch1", "batch2", "batch3"]);
    a1.close();
  });

  it("fills a gap on request with sync", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    for (let i = 1; i <= 8; i++) {
      await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text(`s${i}`, `s${i}`) });
    }
    const b1 = await connect(b.token, "b1");
    await b1.next("new_message", 8);
    b1.send({ type: "sync", conversation_id: conv, after_seq: 3, limit: 2 });
    await b1.next("new_message", 10);
    expect(b1.of("new_message").slice(8).map((m) => m.seq)).toEqual([4, 5]);
    b1.close();
  });
});
