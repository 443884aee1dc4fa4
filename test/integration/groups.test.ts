import { describe, expect, it } from "vitest";
import { Limits, SystemEvent } from "../../src/protocol";
import { api, connect, createGroup, quickUsers, registerUser, text, type Account, type TestSocket } from "../helpers/client";

const events = (messages: { content_type: string; content: string }[]) =>
  messages.filter((m) => m.content_type === "system").map((m) => SystemEvent.parse(JSON.parse(m.content)));

async function history(conv: string, who: Account) {
  return api("GET", `/api/v1/conversations/${conv}/messages?limit=100`, { token: who.token });
}

describe("group size", () => {
  it("creates and runs a group of exactly 500, and refuses a 501st member both ways", async () => {
    const users = await quickUsers(501, "big");
    const [owner, ...rest] = users;
    const conv = await createGroup(owner!, rest.slice(0, 499), "five hundred");
    const got = await api("GET", `/api/v1/conversations/${conv}`, { token: owner!.token });
    expect(got.body.conversation.members).toHaveLength(500);
    expect(got.body.conversation.members.filter((m: { role: string }) => m.role === "admin")).toEqual([
      { user_id: owner!.user.user_id, role: "admin" },
    ]);

    const listeners = await Promise.all([rest[0]!, rest[250]!, rest[498]!].map((u, i) => connect(u.token, `d${i}`)));
    const sent = await api("POST", `/api/v1/conversations/${conv}/messages`, { token: owner!.token, body: text("hello 500", "h1") });
    expect(sent.status).toBe(201);
    for (const s of listeners) {
      // The group_created system message, then the text.
      const got = await s.next("new_message", 2);
      expect(got.map((m) => m.content_type)).toEqual(["system", "text"]);
      expect(got[1]!.content).toBe("hello 500");
    }
    const list = await api("GET", "/api/v1/conversations", { token: rest[498]!.token });
    expect(list.body.conversations[0]).toMatchObject({ conversation_id: conv, type: "group", name: "five hundred", member_count: 500 });

    const add = await api("POST", `/api/v1/conversations/${conv}/members`, { token: owner!.token, body: { user_ids: [rest[499]!.user.user_id] } });
    expect(add.status).toBe(422);
    expect(add.body.error.code).toBe("group_too_large");
    const tooBig = await api("POST", "/api/v1/conversations", {
      token: owner!.token,
      body: { type: "group", name: "too big", member_ids: rest.map((u) => u.user.user_id) },
    });
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.error.code).toBe("group_too_large");
    for (const s of listeners) s.close();
  }, 60_000);

  it("refuses unknown members and bad names", async () => {
    const a = await registerUser();
    const ghost = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "group", name: "g", member_ids: ["u_nobody_here_000000"] } });
    expect(ghost.status).toBe(404);
    const unnamed = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "group", name: " ", member_ids: [] } });
    expect(unnamed.status).toBe(400);
  });
});

describe("group messages", () => {
  it("reach every member once, in seq order, with several senders at once", async () => {
    const users = await quickUsers(6, "fan");
    const conv = await createGroup(users[0]!, users.slice(1));
    const sockets = await Promise.all(users.map((u, i) => connect(u.token, `dev${i}`)));
    const senders = [0, 2, 4];
    const perSender = 20;
    for (let k = 0; k < perSender; k++) {
      for (const i of senders) sockets[i]!.send({ type: "send_message", conversation_id: conv, ...text(`${i}:${k}`, `${i}:${k}`) });
    }
    const total = 1 + senders.length * perSender; // the group_created message too
    for (const [i, s] of sockets.entries()) {
      const own = senders.includes(i) ? perSender : 0;
      const got = await s.next("new_message", total - own, 10_000);
      const seqs = got.map((m) => m.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      if (own > 0) {
        // Acks and others' messages travel separately: wait for this sender's acks too.
        const acks = (await s.next("message_ack", own, 10_000)).map((x) => x.seq);
        expect([...acks, ...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, j) => j + 1));
      } else {
        expect(seqs).toEqual(Array.from({ length: total }, (_, j) => j + 1));
      }
    }
    sockets.forEach((s) => s.close());
  });

  it("lets an offline member catch up on reconnect", async () => {
    const users = await quickUsers(3, "off");
    const conv = await createGroup(users[0]!, users.slice(1));
    for (let i = 0; i < 10; i++) await api("POST", `/api/v1/conversations/${conv}/messages`, { token: users[i % 2]!.token, body: text(`o${i}`, `o${i}`) });
    const late = await connect(users[2]!.token, "late");
    const got = await late.next("new_message", 11);
    expect(got.map((m) => m.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(got.slice(1).map((m) => m.content)).toEqual(Array.from({ length: 10 }, (_, i) => `o${i}`));
    late.close();
  });
});

describe("group membership", () => {
  it("lets admins rename, add, remove and change roles; refuses non-admins; records each change in sequence", async () => {
    const [admin, bob, carol, dave] = await quickUsers(4, "mem");
    const conv = await createGroup(admin!, [bob!, carol!], "first name");
    const bobSocket = await connect(bob!.token, "bob");

    const asBob = [
      ["PATCH", `/api/v1/conversations/${conv}`, { name: "hijack" }],
      ["POST", `/api/v1/conversations/${conv}/members`, { user_ids: [dave!.user.user_id] }],
      ["DELETE", `/api/v1/conversations/${conv}/members/${carol!.user.user_id}`, undefined],
      ["PATCH", `/api/v1/conversations/${conv}/members/${bob!.user.user_id}`, { role: "admin" }],
    ] as const;
    for (const [method, path, body] of asBob) {
      const res = await api(method, path, { token: bob!.token, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe("forbidden");
    }

    expect((await api("PATCH", `/api/v1/conversations/${conv}`, { token: admin!.token, body: { name: "second name" } })).status).toBe(200);
    const added = await api("POST", `/api/v1/conversations/${conv}/members`, { token: admin!.token, body: { user_ids: [dave!.user.user_id] } });
    expect(added.body.conversation.members).toHaveLength(4);
    expect((await api("PATCH", `/api/v1/conversations/${conv}/members/${bob!.user.user_id}`, { token: admin!.token, body: { role: "admin" } })).status).toBe(200);
    // Bob is an admin now, so this is allowed.
    expect((await api("DELETE", `/api/v1/conversations/${conv}/members/${carol!.user.user_id}`, { token: bob!.token })).status).toBe(200);

    const h = await history(conv, admin!);
    expect(events(h.body.messages)).toEqual([
      { event: "group_created", actor: admin!.user.user_id, name: "first name", user_ids: [bob!.user.user_id, carol!.user.user_id] },
      { event: "renamed", actor: admin!.user.user_id, name: "second name" },
      { event: "members_added", actor: admin!.user.user_id, user_ids: [dave!.user.user_id] },
      { event: "role_changed", actor: admin!.user.user_id, user_id: bob!.user.user_id, role: "admin" },
      { event: "member_removed", actor: bob!.user.user_id, user_id: carol!.user.user_id },
    ]);
    expect(h.body.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4, 5]);

    // Members' devices and lists follow.
    const live = await bobSocket.next("new_message", 5);
    expect(live.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    await expect
      .poll(async () => (await api("GET", "/api/v1/conversations", { token: bob!.token })).body.conversations[0])
      .toMatchObject({ name: "second name", member_count: 3 });
    const bobList = (await api("GET", "/api/v1/conversations", { token: bob!.token })).body.conversations[0];
    expect(bobList.members).toContainEqual({ user_id: bob!.user.user_id, role: "admin" });

    // A member added later sees from their joining on.
    const daveHistory = await history(conv, dave!);
    expect(daveHistory.body.messages.map((m: { seq: number }) => m.seq)).toEqual([3, 4, 5]);
    const daveSocket = await connect(dave!.token, "dave");
    expect((await daveSocket.next("new_message", 3)).map((m) => m.seq)).toEqual([3, 4, 5]);
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: admin!.token, body: text("welcome", "w1") });
    await daveSocket.next("new_message", 4);
    await daveSocket.settle();
    expect(daveSocket.of("new_message").map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    bobSocket.close();
    daveSocket.close();
  });

  it("cuts a removed member off: no frames, no history, no sending after removal", async () => {
    const [admin, bob, carol] = await quickUsers(3, "cut");
    const conv = await createGroup(admin!, [bob!, carol!]);
    const carolSocket = await connect(carol!.token, "carol");
    const bobSocket = await connect(bob!.token, "bob");
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: admin!.token, body: text("before", "b1") });
    await carolSocket.next("new_message", 2);

    expect((await api("DELETE", `/api/v1/conversations/${conv}/members/${carol!.user.user_id}`, { token: admin!.token })).status).toBe(200);
    // Carol hears of her removal, and that is the last thing she gets.
    const [, , removal] = await carolSocket.next("new_message", 3);
    expect(SystemEvent.parse(JSON.parse(removal!.content))).toMatchObject({ event: "member_removed", user_id: carol!.user.user_id });

    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: admin!.token, body: text("after", "a1") });
    await bobSocket.until((s) => s.of("new_message").some((m) => m.content === "after"), "the message after the removal");
    await carolSocket.settle();
    expect(carolSocket.of("new_message").map((m) => m.content)).not.toContain("after");

    expect((await history(conv, carol!)).status).toBe(403);
    const send = await api("POST", `/api/v1/conversations/${conv}/messages`, { token: carol!.token, body: text("let me in", "x1") });
    expect(send.status).toBe(403);
    carolSocket.send({ type: "send_message", conversation_id: conv, ...text("let me in", "x2") });
    const [err] = await carolSocket.next("error");
    expect(err).toMatchObject({ code: "not_a_member", client_msg_id: "x2" });
    await expect.poll(async () => (await api("GET", "/api/v1/conversations", { token: carol!.token })).body.conversations).toEqual([]);

    // A reconnect replays nothing from after the removal either.
    carolSocket.close();
    const again = await connect(carol!.token, "carol-2");
    await again.settle();
    expect(again.of("new_message").map((m) => m.content)).not.toContain("after");
    for (const s of [bobSocket, again]) s.close();
  });

  it("promotes someone when the last admin leaves", async () => {
    const [admin, bob, carol] = await quickUsers(3, "lead");
    const conv = await createGroup(admin!, [bob!, carol!]);
    const left = await api("DELETE", `/api/v1/conversations/${conv}/members/${admin!.user.user_id}`, { token: admin!.token });
    expect(left.status).toBe(200);
    expect(left.body.conversation.members.filter((m: { role: string }) => m.role === "admin")).toHaveLength(1);
    const h = await history(conv, bob!);
    expect(events(h.body.messages).slice(-2).map((e) => e.event)).toEqual(["member_left", "role_changed"]);
    // The only admin cannot demote themself into an adminless group.
    const newAdmin = left.body.conversation.members.find((m: { role: string }) => m.role === "admin").user_id;
    const who = [bob!, carol!].find((u) => u.user.user_id === newAdmin)!;
    const demote = await api("PATCH", `/api/v1/conversations/${conv}/members/${newAdmin}`, { token: who.token, body: { role: "member" } });
    expect(demote.status).toBe(403);
  });

  it("refuses membership changes on direct conversations", async () => {
    const [a, b] = await quickUsers(2, "dm");
    const res = await api("POST", "/api/v1/conversations", { token: a!.token, body: { type: "direct", member_ids: [b!.user.user_id] } });
    const conv = res.body.conversation.conversation_id;
    const rename = await api("PATCH", `/api/v1/conversations/${conv}`, { token: a!.token, body: { name: "x" } });
    expect(rename.status).toBe(400);
    expect(rename.body.error.code).toBe("not_a_group");
    const leave = await api("DELETE", `/api/v1/conversations/${conv}/members/${a!.user.user_id}`, { token: a!.token });
    expect(leave.status).toBe(400);
  });
});

describe("group receipts", () => {
  it("flow back per member to the sender's devices and the receipts endpoint", async () => {
    const [alice, bob, carol, dave] = await quickUsers(4, "rcpt");
    const conv = await createGroup(alice!, [bob!, carol!, dave!]);
    const sockets: Record<string, TestSocket> = {};
    for (const [name, u] of Object.entries({ alice, bob, carol })) sockets[name] = await connect(u!.token, name);
    sockets.alice!.send({ type: "send_message", conversation_id: conv, ...text("did you get this?", "q1") });
    const [ack] = await sockets.alice!.next("message_ack");
    const id = ack!.server_msg_id;
    await sockets.bob!.until((s) => s.of("new_message").some((m) => m.server_msg_id === id), "the question");
    await sockets.carol!.until((s) => s.of("new_message").some((m) => m.server_msg_id === id), "the question");

    sockets.bob!.send({ type: "message_status", conversation_id: conv, server_msg_id: id, status: "delivered" });
    sockets.carol!.send({ type: "message_status", conversation_id: conv, server_msg_id: id, status: "read" });
    await sockets.alice!.until((s) => s.of("message_status").length >= 2, "two receipts");
    const statuses = sockets.alice!.of("message_status").map((f) => [f.user_id, f.status, f.server_msg_id]);
    expect(statuses).toEqual(
      expect.arrayContaining([
        [bob!.user.user_id, "delivered", id],
        [carol!.user.user_id, "read", id],
      ]),
    );

    const receipts = await api("GET", `/api/v1/conversations/${conv}/messages/${id}/receipts`, { token: alice!.token });
    expect(receipts.status).toBe(200);
    const byUser = Object.fromEntries(receipts.body.receipts.map((r: { user_id: string }) => [r.user_id, r]));
    expect(Object.keys(byUser).sort()).toEqual([bob!, carol!, dave!].map((u) => u.user.user_id).sort());
    expect(byUser[bob!.user.user_id]).toMatchObject({ delivered_at: expect.any(Number), read_at: null });
    expect(byUser[carol!.user.user_id]).toMatchObject({ delivered_at: expect.any(Number), read_at: expect.any(Number) });
    expect(byUser[dave!.user.user_id]).toMatchObject({ delivered_at: null, read_at: null });

    // A later read covers earlier messages: cursors, not rows per message.
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: alice!.token, body: text("and this?", "q2") });
    const [, latest] = (await history(conv, dave!)).body.messages.slice(-2);
    const daveSocket = await connect(dave!.token, "dave");
    daveSocket.send({ type: "message_status", conversation_id: conv, server_msg_id: latest.server_msg_id, status: "read" });
    await expect
      .poll(async () => {
        const r = await api("GET", `/api/v1/conversations/${conv}/messages/${id}/receipts`, { token: alice!.token });
        return r.body.receipts.find((x: { user_id: string }) => x.user_id === dave!.user.user_id).read_at;
      })
      .toEqual(expect.any(Number));

    // Only the sender and admins may look.
    const asBob = await api("GET", `/api/v1/conversations/${conv}/messages/${id}/receipts`, { token: bob!.token });
    expect(asBob.status).toBe(403);
    for (const s of [...Object.values(sockets), daveSocket]) s.close();
  });
});
