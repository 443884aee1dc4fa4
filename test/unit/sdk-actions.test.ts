import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryOutbox, ParleyClient, type ClientFrame, type Message, type ServerFrame, type SocketLike } from "../../src/client";
import { MemoryStorage } from "../../src/client/storage";
import { ConversationTimeline } from "../../src/client/timeline";

const CONVERSATION = "g_test";
const base = (over: Partial<Message> = {}): Message => ({
  conversation_id: CONVERSATION,
  server_msg_id: "m1",
  seq: 1,
  sender_id: "u_a",
  content: "hello",
  content_type: "text",
  timestamp: 1_000,
  ...over,
});
const action = (seq: number, kind: "edit" | "reaction" | "delete", sender: string, content = "", target: Message = base()): Message => ({
  conversation_id: CONVERSATION,
  server_msg_id: `m${seq}`,
  seq,
  sender_id: sender,
  content,
  content_type: kind,
  timestamp: 1_000 + seq,
  target: { server_msg_id: target.server_msg_id, seq: target.seq, sender_id: target.sender_id },
});

/** What the message should look like, written independently of the SDK's fold: actions in seq order. */
function model(actions: Message[], upTo = Infinity) {
  let content = "hello";
  let edited_at: number | undefined;
  let deleted = false;
  let deleted_by: string | undefined;
  let reactions = new Map<string, string>();
  let state_seq: number | undefined;
  for (const a of [...actions].sort((x, y) => x.seq - y.seq)) {
    if (a.seq > upTo) break;
    state_seq = a.seq;
    if (deleted) continue;
    if (a.content_type === "edit") [content, edited_at] = [a.content, a.timestamp];
    if (a.content_type === "reaction") {
      if (a.content === "") reactions.delete(a.sender_id);
      else reactions.set(a.sender_id, a.content);
    }
    if (a.content_type === "delete") {
      [content, edited_at, deleted, reactions] = ["", undefined, true, new Map()];
      if (a.sender_id !== "u_a") deleted_by = a.sender_id;
    }
  }
  return {
    ...base(),
    content,
    ...(edited_at !== undefined ? { edited_at } : {}),
    ...(deleted ? { deleted: true as const } : {}),
    ...(deleted_by ? { deleted_by } : {}),
    ...(reactions.size ? { reactions: [...reactions].map(([user_id, emoji]) => ({ user_id, emoji })) } : {}),
    ...(state_seq !== undefined ? { state_seq } : {}),
  };
}

const anAction = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("edit" as const), sender: fc.constant("u_a"), content: fc.constantFrom("one", "two", "three") }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("reaction" as const), sender: fc.constantFrom("u_a", "u_b", "u_c"), content: fc.constantFrom("👍", "❤️", "") }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), sender: fc.constantFrom("u_a", "u_admin"), content: fc.constant("") }) },
);
const actionRows = fc.array(anAction, { minLength: 1, maxLength: 12 }).map((list) => list.map((a, i) => action(i + 2, a.kind, a.sender, a.content)));

describe("ConversationTimeline with actions", () => {
  it("shows a message as its actions in seq order leave it, whatever order the rows arrive in, repeats included", () => {
    fc.assert(
      fc.property(
        actionRows.chain((actions) => fc.tuple(fc.constant(actions), fc.shuffledSubarray([base(), ...actions], { minLength: actions.length + 1, maxLength: actions.length + 1 }), fc.array(fc.nat(), { maxLength: 5 }))),
        ([actions, order, repeats]) => {
          const timeline = new ConversationTimeline();
          const arrivals = [...order, ...repeats.map((r) => order[r % order.length]!)];
          for (const row of arrivals) timeline.add(row);
          expect(timeline.messages()).toEqual([model(actions)]);
          // Every row counts for the cursor; action rows are never messages.
          expect(timeline.contiguousSeq).toBe(actions.length + 1);
          expect(timeline.get(2)).toEqual(actions[0]);
        },
      ),
    );
  });

  it("applies only actions newer than a copy's state_seq (the server folded the rest in), whichever rows arrive", () => {
    fc.assert(
      fc.property(
        actionRows.chain((actions) =>
          fc.tuple(fc.constant(actions), fc.integer({ min: 0, max: actions.length }), fc.subarray(actions), fc.boolean()),
        ),
        ([actions, folded, arriving, reversed]) => {
          // History returned the message as it was after its first `folded` actions…
          const stateSeq = folded + 1;
          const snapshot = model(actions, stateSeq);
          const timeline = new ConversationTimeline();
          timeline.addPage([snapshot], true);
          // …and some action rows arrive as well, older ones included, in either order.
          for (const a of reversed ? [...arriving].reverse() : arriving) timeline.add(a);
          const expected = model(actions.filter((a) => a.seq <= stateSeq || arriving.includes(a)));
          expect(timeline.messages()).toEqual([expected]);
        },
      ),
    );
  });

  it("keeps an action whose message is not loaded, and folds it in when an older copy of the message arrives", () => {
    const timeline = new ConversationTimeline();
    timeline.addPage([action(5, "edit", "u_a", "fixed")], true);
    expect(timeline.messages()).toEqual([]);
    expect(timeline.contiguousSeq).toBe(5);
    timeline.add(action(6, "reaction", "u_b", "👍"));
    // An older page brings the message as it was at seq 5 (edit folded in): the edit is not applied twice, the reaction is.
    timeline.addPage([base({ content: "fixed", edited_at: 1_005, state_seq: 5 })], false);
    expect(timeline.messages()).toEqual([{ ...base(), content: "fixed", edited_at: 1_005, reactions: [{ user_id: "u_b", emoji: "👍" }], state_seq: 6 }]);
    expect(timeline.oldestSeq()).toBe(1);
  });

  it("a page's copy with a later state_seq replaces the one held; an older copy does not", () => {
    const timeline = new ConversationTimeline();
    timeline.add(base());
    timeline.addPage([base({ content: "edited elsewhere", edited_at: 9, state_seq: 9 })], false);
    expect(timeline.messages()[0]).toMatchObject({ content: "edited elsewhere", state_seq: 9 });
    timeline.addPage([base({ state_seq: 3 })], false);
    expect(timeline.messages()[0]).toMatchObject({ content: "edited elsewhere", state_seq: 9 });
  });

  it("delete for everyone scrubs the message, marks who deleted it, ignores later edits, and its replies' quotes show it deleted", () => {
    const original = base({
      content: "secret",
      media: { media_id: "md1", content_type: "image/png", size: 3, filename: "a.png" },
      mentions: [{ user_id: "u_b", offset: 0, length: 3 }],
      reply_to: { server_msg_id: "m0", seq: 0, sender_id: "u_b", content_type: "text", snippet: "hi" },
      reactions: [{ user_id: "u_b", emoji: "👍" }],
      edited_at: 5,
    });
    const reply = base({ server_msg_id: "m2", seq: 2, sender_id: "u_b", content: "re", reply_to: { server_msg_id: "m1", seq: 1, sender_id: "u_a", content_type: "text", snippet: "secret" } });
    const timeline = new ConversationTimeline();
    for (const row of [original, reply, action(3, "delete", "u_admin", "", original), action(4, "edit", "u_a", "back?", original)]) timeline.add(row);
    const [deleted, quoting] = timeline.messages();
    expect(deleted).toEqual({ ...base(), content: "", deleted: true, deleted_by: "u_admin", state_seq: 4 });
    expect(quoting!.reply_to).toEqual({ server_msg_id: "m1", seq: 1, sender_id: "u_a", content_type: "text", snippet: "", deleted: true });
  });
});

/** A device socket the test plays the server on: it records what the client sends and hands it frames. */
class ServerSide {
  readonly sent: ClientFrame[] = [];
  private socket: { emit(type: string, event: unknown): void; readyState: number } | null = null;

  readonly createSocket = (): SocketLike => {
    const listeners = new Map<string, ((event: any) => void)[]>();
    const server = this;
    const socket = {
      readyState: 0,
      send(data: string) {
        if (data === '{"type":"heartbeat"}') return;
        const parsed = JSON.parse(data) as ClientFrame | ClientFrame[];
        server.sent.push(...(Array.isArray(parsed) ? parsed : [parsed]));
      },
      close() {
        socket.readyState = 3;
        queueMicrotask(() => socket.emit("close", { code: 1000 }));
      },
      addEventListener(type: string, l: (event: any) => void) {
        listeners.set(type, [...(listeners.get(type) ?? []), l]);
      },
      emit(type: string, event: unknown) {
        for (const l of listeners.get(type) ?? []) l(event);
      },
    };
    this.socket = socket;
    queueMicrotask(() => {
      socket.readyState = 1;
      socket.emit("open", {});
    });
    return socket;
  };

  /** The connection drops (the client reconnects to a new fake socket). */
  drop(): void {
    const socket = this.socket!;
    socket.readyState = 3;
    socket.emit("close", { code: 4000 });
  }

  push(...frames: ServerFrame[]): void {
    this.socket!.emit("message", { data: JSON.stringify(frames.length === 1 ? frames[0] : frames) });
  }

  /** The frames of a type sent so far. */
  of<T extends ClientFrame["type"]>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A client for `u_a` with a test-played socket; REST answers nothing of interest (no marks, no list). */
async function clientOnFakeServer() {
  const server = new ServerSide();
  const calls: string[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    calls.push(`${init?.method ?? "GET"} ${url.pathname}`);
    if (url.pathname === "/api/v1/users/me/marks") return Response.json({ marks: [], has_more: false });
    if (url.pathname === "/api/v1/conversations/g_hist/messages") {
      // 250 rows of history: before=N answers the `limit` rows below N.
      const before = Number(url.searchParams.get("before") ?? 251);
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const from = Math.max(1, before - limit);
      const messages = [];
      for (let seq = from; seq < before; seq++) messages.push(base({ conversation_id: "g_hist", server_msg_id: `h${seq}`, seq, content: `old ${seq}` }));
      return Response.json({ messages, has_more: from > 1 });
    }
    if (url.pathname === "/api/v1/conversations") {
      const summary = {
        conversation_id: CONVERSATION,
        type: "group",
        name: "test",
        members: [{ user_id: "u_a", role: "member" }, { user_id: "u_b", role: "admin" }],
        created_at: 1,
        updated_at: 1,
        member_count: 2,
        last_message: null,
        unread_count: 0,
        muted_until: null,
        pinned_at: null,
        marked_unread: false,
        archived: false,
      };
      return Response.json({ conversations: url.searchParams.get("archived") === "true" ? [] : [summary], next: null });
    }
    return new Response(null, { status: 204 });
  }) as typeof fetch;
  const client = new ParleyClient({
    baseUrl: "http://parley.test",
    token: "t",
    user: { user_id: "u_a", username: "a", display_name: "A" },
    deviceId: "d1",
    outbox: new MemoryOutbox(),
    storage: new MemoryStorage(),
    createSocket: server.createSocket,
    fetch: fetchImpl,
    backoff: { baseMs: 1, maxMs: 1 },
  });
  const events: string[] = [];
  for (const e of ["actionFailed", "error", "action", "message"] as const) client.on(e, () => events.push(e));
  await client.start();
  await tick();
  const m1 = base({ timestamp: Date.now() });
  server.push({ type: "new_message", ...m1 });
  return { server, client, events, calls, m1 };
}

describe("actions through the client: optimistic, acknowledged, refused", () => {
  it("shows an edit at once, and takes it back when the server refuses it", async () => {
    const { server, client, events } = await clientOnFakeServer();
    await client.edit(CONVERSATION, "m1", "hello, fixed");
    expect(client.entries(CONVERSATION).map((e) => [e.content, e.edited_at !== undefined])).toEqual([["hello, fixed", true]]);
    await tick();
    const [frame] = server.of("message_action");
    expect(frame).toMatchObject({ conversation_id: CONVERSATION, server_msg_id: "m1", action: "edit", content: "hello, fixed" });
    server.push({ type: "error", code: "action_window_closed", message: "too late", client_msg_id: frame!.client_msg_id });
    expect(client.entries(CONVERSATION).map((e) => [e.content, e.edited_at])).toEqual([["hello", undefined]]);
    expect(events).toEqual(["message", "actionFailed", "error"]);
    expect(client.pending()).toEqual([]);
    client.stop();
  });

  it("on its ack, an action joins the timeline as a row and stays applied; the same client_msg_id goes again after a reconnect until then", async () => {
    const { server, client } = await clientOnFakeServer();
    await client.react(CONVERSATION, "m1", "👍");
    await client.react(CONVERSATION, "m1", "👍"); // already so: nothing more to send
    await tick();
    expect(client.entries(CONVERSATION)[0]!.reactions).toEqual([{ user_id: "u_a", emoji: "👍" }]);
    server.drop();
    await new Promise((r) => setTimeout(r, 20));
    expect(client.connectionState).toBe("open");
    const sends = server.of("message_action");
    expect(sends).toHaveLength(2);
    expect(sends[1]).toEqual(sends[0]);
    const sent = sends[0];
    server.push({ type: "message_ack", client_msg_id: sent!.client_msg_id, conversation_id: CONVERSATION, server_msg_id: "m2", seq: 2, timestamp: Date.now(), status: "sent" });
    expect(client.entries(CONVERSATION)).toMatchObject([{ content: "hello", reactions: [{ user_id: "u_a", emoji: "👍" }], state_seq: 2 }]);
    expect(client.contiguousSeq(CONVERSATION)).toBe(2);
    expect(client.recentEmojis()[0]).toBe("👍");
    // Taking it back, and a delete: the delete wins over everything.
    await client.react(CONVERSATION, "m1", null);
    await client.deleteForEveryone(CONVERSATION, "m1");
    expect(client.entries(CONVERSATION)).toMatchObject([{ content: "", deleted: true }]);
    expect(client.entries(CONVERSATION)[0]!.reactions).toBeUndefined();
    await expect(client.edit(CONVERSATION, "m1", "x")).rejects.toMatchObject({ code: "message_deleted" });
    await expect(client.react(CONVERSATION, "m1", "ab")).rejects.toMatchObject({ code: "message_deleted" });
    client.stop();
  });

  it("pre-checks what the protocol says: a single emoji, someone else's message, 1 to 5 forward targets", async () => {
    const { server, client } = await clientOnFakeServer();
    await expect(client.react(CONVERSATION, "m1", "👍👍")).rejects.toMatchObject({ code: "invalid_reaction", status: 400 });
    server.push({ type: "new_message", ...base({ server_msg_id: "m2", seq: 2, sender_id: "u_b", timestamp: Date.now() }) });
    await expect(client.edit(CONVERSATION, "m2", "mine now")).rejects.toMatchObject({ code: "not_editable", status: 403 });
    await expect(client.edit(CONVERSATION, "m1", "  ")).rejects.toMatchObject({ code: "bad_request" });
    await expect(client.forward(CONVERSATION, "m1", [])).rejects.toMatchObject({ code: "bad_request" });
    await expect(client.forward(CONVERSATION, "m1", ["a", "b", "c", "d", "e", "f"])).rejects.toMatchObject({ code: "bad_request" });
    expect(client.lastEditable(CONVERSATION)?.server_msg_id).toBe("m1");
    client.stop();
  });

  it("a reply shows its quote while pending and after its ack; forwards show pending in each target", async () => {
    const { server, client } = await clientOnFakeServer();
    const reply = await client.send(CONVERSATION, "yes", { replyTo: "m1", mentions: [{ user_id: "u_b", offset: 0, length: 3 }] });
    expect(client.entries(CONVERSATION)[1]).toMatchObject({ state: "pending", reply_to: { server_msg_id: "m1", seq: 1, snippet: "hello" } });
    await tick();
    expect(server.of("send_message")[0]).toMatchObject({ reply_to: "m1", mentions: [{ user_id: "u_b", offset: 0, length: 3 }] });
    server.push({ type: "message_ack", client_msg_id: reply.client_msg_id, conversation_id: CONVERSATION, server_msg_id: "m2", seq: 2, timestamp: Date.now(), status: "sent" });
    expect(client.entries(CONVERSATION)[1]).toMatchObject({ key: reply.client_msg_id, seq: 2, reply_to: { server_msg_id: "m1", snippet: "hello" }, mentions: [{ user_id: "u_b" }] });

    const forwards = await client.forward(CONVERSATION, "m1", ["d_x", "d_y", "d_x"]);
    expect(forwards.map((f) => f.conversation_id)).toEqual(["d_x", "d_y"]);
    for (const id of ["d_x", "d_y"]) expect(client.entries(id)).toMatchObject([{ content: "hello", forwarded: 1, state: "pending" }]);
    await tick();
    expect(server.of("forward_message").map((f) => [f.conversation_id, f.from])).toEqual([
      ["d_x", { conversation_id: CONVERSATION, server_msg_id: "m1" }],
      ["d_y", { conversation_id: CONVERSATION, server_msg_id: "m1" }],
    ]);
    // The quoted message is deleted (by someone else): the reply's quote shows it.
    server.push({ type: "new_message", ...action(3, "delete", "u_a") });
    expect(client.entries(CONVERSATION)[1]!.reply_to).toMatchObject({ deleted: true, snippet: "" });
    client.stop();
  });

  it("stars and hides at once, sends the change by REST, and hidden messages leave entries()", async () => {
    const { client, calls } = await clientOnFakeServer();
    client.star(CONVERSATION, "m1", true);
    expect(client.isStarred(CONVERSATION, "m1")).toBe(true);
    expect(client.entries(CONVERSATION)[0]!.starred).toBe(true);
    expect(client.starredMessages().map((s) => s.message.server_msg_id)).toEqual(["m1"]);
    client.deleteForMe(CONVERSATION, "m1");
    expect(client.entries(CONVERSATION)).toEqual([]);
    for (let i = 0; i < 5; i++) await tick();
    expect(calls).toContain(`POST /api/v1/conversations/${CONVERSATION}/messages/m1/star`);
    expect(calls).toContain(`POST /api/v1/conversations/${CONVERSATION}/messages/m1/hide`);
    client.stop();
  });

  it("the conversation list counts no action as unread, and an edit or delete of the last message changes its preview", async () => {
    const { server, client } = await clientOnFakeServer();
    await client.refreshConversations();
    const theirs = base({ server_msg_id: "m2", seq: 2, sender_id: "u_b", content: "typo", timestamp: Date.now() });
    server.push({ type: "new_message", ...theirs });
    const summary = () => client.conversation(CONVERSATION)!;
    expect(summary()).toMatchObject({ unread_count: 1, last_message: { content: "typo" } });
    server.push({ type: "new_message", ...action(3, "reaction", "u_b", "👍") }, { type: "new_message", ...action(4, "edit", "u_b", "fixed", theirs) });
    expect(summary()).toMatchObject({ unread_count: 1, last_message: { server_msg_id: "m2", content: "fixed", state_seq: 4 } });
    server.push({ type: "new_message", ...action(5, "delete", "u_b", "", theirs) });
    expect(summary()).toMatchObject({ unread_count: 1, last_message: { server_msg_id: "m2", content: "", deleted: true } });
    client.stop();
  });

  it("jumpTo loads older pages until the seq is held, and says when there is none", async () => {
    const { client } = await clientOnFakeServer();
    await client.loadOlder("g_hist");
    expect(client.messages("g_hist")[0]!.seq).toBe(201);
    expect(await client.jumpTo("g_hist", 7)).toBe(true);
    expect(client.messages("g_hist").some((m) => m.seq === 7)).toBe(true);
    expect(await client.jumpTo("g_hist", 0)).toBe(false);
    client.stop();
  });
});
