import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ftsQuery } from "../../src/objects/conversation/search";
import type { Message, MessageAckFrame } from "../../src/protocol";
import { api, connect, createGroup, directConversation, quickUsers, rest, sendAndAck, text, type Account, type TestSocket } from "../helpers/client";
import { conversationStub, runAlarms } from "../helpers/objects";

// vitest.config.ts sets HISTORY_HOT_WINDOW to 100 for the workers project.
const WINDOW = 100;

async function searchIn(who: Account, conversation: string, q: string): Promise<Message[]> {
  const res = await api("GET", `/api/v1/conversations/${conversation}/search?q=${encodeURIComponent(q)}`, { token: who.token });
  expect(res.status).toBe(200);
  return res.body.messages;
}

async function searchAll(who: Account, q: string): Promise<{ conversations: { conversation_id: string }[]; people: { user_id: string }[]; messages: Message[] }> {
  const res = await api("GET", `/api/v1/search?q=${encodeURIComponent(q)}`, { token: who.token });
  expect(res.status).toBe(200);
  return res.body;
}

async function action(socket: TestSocket, conversation: string, id: string, kind: "edit" | "delete", target: string, content?: string): Promise<MessageAckFrame> {
  socket.send({ type: "message_action", conversation_id: conversation, client_msg_id: id, action: kind, server_msg_id: target, ...(content === undefined ? {} : { content }) });
  await socket.until((s) => s.of("message_ack").some((a) => a.client_msg_id === id), `the ack of ${id}`);
  return socket.of("message_ack").find((a) => a.client_msg_id === id)!;
}

const archivedSeq = (conversation: string) =>
  runInDurableObject(conversationStub(conversation), (_o, state) =>
    state.storage.sql.exec<{ a: number }>("SELECT archived_seq AS a FROM conversations WHERE conversation_id = ?", conversation).one().a,
  );

describe("search", () => {
  it("the conversation object's SQLite has FTS5", async () => {
    const [ana, bo] = await quickUsers(2, "fts");
    const conv = await directConversation(ana!, bo!);
    const matched = await runInDurableObject(conversationStub(conv), (_o, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE VIRTUAL TABLE fts_probe USING fts5(text, tokenize='unicode61 remove_diacritics 2')");
      sql.exec("INSERT INTO fts_probe (text) VALUES ('the quick brown fox'), ('lazy dogs'), ('Crème brûlée')");
      const rows = sql.exec<{ text: string }>("SELECT text FROM fts_probe WHERE fts_probe MATCH ? OR fts_probe MATCH ?", '"qui"*', '"creme"').toArray();
      sql.exec("DROP TABLE fts_probe");
      return rows.map((r) => r.text);
    });
    expect(matched.sort()).toEqual(["Crème brûlée", "the quick brown fox"]);
  });

  it("typed text never reaches FTS5 as query syntax", () => {
    expect(ftsQuery('walrus OR "x" NEAR(a b) text:* -no ^')).toBe('"walrus"* "OR"* "x"* "NEAR"* "a"* "b"* "text"* "no"*');
    expect(ftsQuery("  ** () \" ")).toBeNull();
  });

  it("finds hot and archived messages, by their text as it is now: an edit's new text, and not after a delete for everyone", async () => {
    const [ana, bo] = await quickUsers(2, "srch");
    const conv = await directConversation(ana!, bo!);
    const phone = await connect(ana!.token, "ana-phone");
    const old = await sendAndAck(phone, conv, "the walrus plan is on", "w1");
    const oldEdited = await sendAndAck(phone, conv, "meet at the harbour", "w2");
    for (let i = 0; i < WINDOW + 20; i++) phone.send({ type: "send_message", conversation_id: conv, ...text(`filler ${i}`, `f${i}`) });
    await phone.until((s) => s.of("message_ack").length >= WINDOW + 22, "the filler acks");
    await runAlarms(conversationStub(conv), async () => (await archivedSeq(conv)) >= oldEdited.seq, 40);
    expect(await archivedSeq(conv)).toBeGreaterThanOrEqual(oldEdited.seq);
    const hot = await sendAndAck(phone, conv, "Walrus sighting near the pier", "w3");

    // Both, newest first, by a prefix of a word, whatever its case; and the sender finds them too.
    expect((await searchIn(bo!, conv, "walru")).map((m) => m.seq)).toEqual([hot.seq, old.seq]);
    expect((await searchIn(ana!, conv, "WALRUS")).map((m) => m.seq)).toEqual([hot.seq, old.seq]);
    expect((await searchIn(bo!, conv, "walrus pier")).map((m) => m.seq)).toEqual([hot.seq]);
    expect(await searchIn(bo!, conv, "filler 57")).toHaveLength(1);
    expect((await searchIn(bo!, conv, "harbour")).map((m) => m.seq)).toEqual([oldEdited.seq]);

    // An edit, of an archived message and of a hot one: found by the new text only, shown as edited.
    await action(phone, conv, "e1", "edit", oldEdited.server_msg_id, "meet at the lighthouse");
    await action(phone, conv, "e2", "edit", hot.server_msg_id, "Seal sighting near the pier");
    expect(await searchIn(bo!, conv, "harbour")).toEqual([]);
    const [lighthouse] = await searchIn(bo!, conv, "lighthouse");
    expect(lighthouse).toMatchObject({ seq: oldEdited.seq, content: "meet at the lighthouse" });
    expect(lighthouse!.edited_at).toBeGreaterThan(0);
    expect((await searchIn(bo!, conv, "walrus")).map((m) => m.seq)).toEqual([old.seq]);
    expect((await searchIn(bo!, conv, "seal")).map((m) => m.seq)).toEqual([hot.seq]);

    // Deleted for everyone, archived and hot: found by nobody, here or across conversations.
    await action(phone, conv, "d1", "delete", old.server_msg_id);
    await action(phone, conv, "d2", "delete", hot.server_msg_id);
    expect(await searchIn(bo!, conv, "walrus")).toEqual([]);
    expect(await searchIn(ana!, conv, "seal")).toEqual([]);
    expect((await searchAll(bo!, "walrus")).messages).toEqual([]);
    expect((await searchAll(bo!, "lighthouse")).messages.map((m) => m.seq)).toEqual([oldEdited.seq]);
    // The deleted text is gone from the index itself, not only hidden when read; the edited-away text too.
    const indexed = await runInDurableObject(conversationStub(conv), (_o, state) =>
      state.storage.sql
        .exec<{ rowid: number }>("SELECT rowid FROM search_index WHERE search_index MATCH ?", '"walrus" OR "seal" OR "harbour"')
        .toArray(),
    );
    expect(indexed).toEqual([]);

    // Paging back with `before`.
    const page = await api("GET", `/api/v1/conversations/${conv}/search?q=filler&limit=5`, { token: bo!.token });
    expect(page.body.has_more).toBe(true);
    const next = await api("GET", `/api/v1/conversations/${conv}/search?q=filler&limit=5&before=${page.body.messages[4].seq}`, { token: bo!.token });
    expect(next.body.messages[0].seq).toBe(page.body.messages[4].seq - 1);
    phone.close();
  });

  it("the send path writes nothing for search: hot rows are taken when the conversation is quiet, or before a search reads", async () => {
    const [ana, bo] = await quickUsers(2, "batch");
    const conv = await directConversation(ana!, bo!);
    const phone = await connect(ana!.token, "ana-phone");
    const stub = conversationStub(conv);
    const taken = () =>
      runInDurableObject(stub, (_o, state) => ({
        rows: state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM search_text WHERE conversation_id = ?", conv).one().n,
        seq: state.storage.sql.exec<{ s: number }>("SELECT COALESCE(MAX(indexed_seq), 0) AS s FROM search_progress WHERE conversation_id = ?", conv).one().s,
      }));
    const first = await sendAndAck(phone, conv, "gecko one", "g1");
    await sendAndAck(phone, conv, "gecko two", "g2");
    expect((await taken()).rows).toBe(0);
    expect(await searchIn(bo!, conv, "gecko")).toHaveLength(2);
    const edited = await sendAndAck(phone, conv, "gecko three", "g3");
    expect(await taken()).toMatchObject({ rows: 2 });
    // An edit and a delete of messages not taken yet: the batch takes them as they are then.
    await action(phone, conv, "e1", "edit", edited.server_msg_id, "salamander three");
    await action(phone, conv, "d1", "delete", first.server_msg_id);
    await runAlarms(stub, async () => (await taken()).seq >= edited.seq + 2, 40);
    expect((await searchIn(bo!, conv, "gecko")).map((m) => m.content)).toEqual(["gecko two"]);
    expect((await searchIn(bo!, conv, "salamander")).map((m) => m.seq)).toEqual([edited.seq]);
    phone.close();
  });

  it("indexes archived history from before search existed on the first search", async () => {
    const [ana, bo] = await quickUsers(2, "back");
    const conv = await directConversation(ana!, bo!);
    const phone = await connect(ana!.token, "ana-phone");
    const old = await sendAndAck(phone, conv, "narwhal tusk", "n1");
    const gone = await sendAndAck(phone, conv, "narwhal gone", "n2");
    await action(phone, conv, "d1", "delete", gone.server_msg_id);
    for (let i = 0; i < WINDOW + 10; i++) phone.send({ type: "send_message", conversation_id: conv, ...text(`filler ${i}`, `f${i}`) });
    await phone.until((s) => s.of("message_ack").length >= WINDOW + 13, "the filler acks");
    await runAlarms(conversationStub(conv), async () => (await archivedSeq(conv)) >= old.seq, 40);
    // As an object from before search: nothing indexed, the archive owed.
    await runInDurableObject(conversationStub(conv), (_o, state) => {
      const upTo = state.storage.sql.exec<{ a: number }>("SELECT archived_seq AS a FROM conversations WHERE conversation_id = ?", conv).one().a;
      state.storage.sql.exec("DELETE FROM search_text WHERE conversation_id = ? AND seq <= ?", conv, upTo);
      state.storage.sql.exec("INSERT INTO search_unindexed (conversation_id, up_to) VALUES (?, ?)", conv, upTo);
    });
    expect((await searchIn(bo!, conv, "narwhal")).map((m) => m.seq)).toEqual([old.seq]);
    const owed = await runInDurableObject(conversationStub(conv), (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM search_unindexed WHERE conversation_id = ?", conv).one().n,
    );
    expect(owed).toBe(0);
    phone.close();
  });

  it("never returns messages of conversations the user is not in, or from before they joined", async () => {
    const [ana, bo, cy, dan] = await quickUsers(4, "scope");
    const group = await createGroup(ana!, [bo!], "Okapi fans");
    const phone = await connect(ana!.token, "ana-phone");
    const early = await sendAndAck(phone, group, "okapi before cy", "o1");
    await rest(ana!.token).call("addMembers", { conversation_id: group, body: { user_ids: [cy!.user.user_id] } });
    const late = await sendAndAck(phone, group, "okapi after cy", "o2");
    const direct = await directConversation(ana!, dan!);
    const secret = await sendAndAck(phone, direct, "okapi between ana and dan", "o3");

    expect((await searchIn(bo!, group, "okapi")).map((m) => m.seq)).toEqual([late.seq, early.seq]);
    expect((await searchIn(cy!, group, "okapi")).map((m) => m.seq)).toEqual([late.seq]);
    const denied = await api("GET", `/api/v1/conversations/${group}/search?q=okapi`, { token: dan!.token });
    expect(denied.body.error.code).toBe("not_a_member");

    const forCy = await searchAll(cy!, "okapi");
    expect(forCy.messages.map((m) => m.server_msg_id)).toEqual([late.server_msg_id]);
    expect(forCy.conversations.map((c) => c.conversation_id)).toEqual([group]);
    const forDan = await searchAll(dan!, "okapi");
    expect(forDan.messages.map((m) => m.server_msg_id)).toEqual([secret.server_msg_id]);
    expect(forDan.conversations).toEqual([]);
    const forAna = await searchAll(ana!, "okapi");
    expect(new Set(forAna.messages.map((m) => m.server_msg_id))).toEqual(new Set([early.server_msg_id, late.server_msg_id, secret.server_msg_id]));

    // People: found by name among those the user shares a conversation with; their direct chat with it.
    const byName = await searchAll(ana!, dan!.user.username.slice(0, 8));
    expect(byName.people.map((p) => p.user_id)).toContain(dan!.user.user_id);
    expect(byName.conversations.map((c) => c.conversation_id)).toContain(direct);
    expect((await searchAll(bo!, dan!.user.username)).people).toEqual([]);
    phone.close();
  });

  it("leaves out what a block withholds from the reader", async () => {
    const [ana, bo] = await quickUsers(2, "blk");
    const conv = await directConversation(ana!, bo!);
    const phone = await connect(ana!.token, "ana-phone");
    const before = await sendAndAck(phone, conv, "tapir before the block", "t1");
    await rest(bo!.token).call("block", { user_id: ana!.user.user_id });
    const after = await sendAndAck(phone, conv, "tapir after the block", "t2");
    expect((await searchIn(bo!, conv, "tapir")).map((m) => m.seq)).toEqual([before.seq]);
    expect((await searchAll(bo!, "tapir")).messages.map((m) => m.seq)).toEqual([before.seq]);
    expect((await searchIn(ana!, conv, "tapir")).map((m) => m.seq)).toEqual([after.seq, before.seq]);
    phone.close();
  });

  it("answers across 300 conversations within a second", async () => {
    const [me, ...others] = await quickUsers(21, "many");
    const conversations: string[] = [];
    for (let i = 0; i < 300; i += 20) {
      conversations.push(
        ...(await Promise.all(others.map((o, j) => createGroup(me!, [o], `Chat ${i + j}`)))),
      );
    }
    const phone = await connect(me!.token, "me-phone");
    for (let i = 0; i < conversations.length; i += 50) {
      phone.send(conversations.slice(i, i + 50).map((c, j) => ({ type: "send_message", conversation_id: c, ...text(`capybara number ${i + j} says hello`, `c${i + j}`) })));
    }
    await phone.until((s) => s.of("message_ack").length >= 300, "300 acks");
    await searchAll(me!, "capybara"); // warm: the objects are loaded, as they are for an active user
    const started = performance.now();
    const found = await searchAll(me!, "capybara hello");
    const ms = performance.now() - started;
    const layout = { USER_SHARDS: env.USER_SHARDS ?? "", CONVERSATION_SHARDS: env.CONVERSATION_SHARDS ?? "" };
    console.log(JSON.stringify({ figure: "search across conversations", conversations: 300, ...layout, ms: Math.round(ms) }));
    expect(found.messages).toHaveLength(20);
    expect(ms).toBeLessThan(1_000);
    phone.close();
  });
});
