import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { conversationMigrations } from "../../src/objects/conversation/migrations";
import { conversationHomeName } from "../../src/objects/homes";
import { migrate } from "../../src/objects/migrations";
import type { MemberChange } from "../../src/protocol";
import { api, connect, createGroup, directConversation, quickUsers, rest, text, type Account } from "../helpers/client";
import { conversationStub, runAlarms } from "../helpers/objects";

// vitest.config.ts sets HISTORY_HOT_WINDOW to 100 for the workers projects.
const WINDOW = 100;

const historyPath = (conversation: string, query = "") => `/api/v1/conversations/${conversation}/members/history${query}`;

/** Every change, page by page (`limit` a page), as the admin reads them. */
async function allChanges(admin: Account, conversation: string, limit: number): Promise<{ changes: MemberChange[]; pages: number }> {
  const changes: MemberChange[] = [];
  let before: string | undefined;
  let pages = 0;
  do {
    const page = await rest(admin.token).call("memberHistory", { conversation_id: conversation, query: { limit, ...(before ? { before } : {}) } });
    expect(page.changes.length).toBeLessThanOrEqual(limit);
    changes.push(...page.changes);
    before = page.next ?? undefined;
    pages++;
  } while (before);
  return { changes, pages };
}

/** [change, who, by whom, how] of each, to compare with what happened. */
const summary = (changes: MemberChange[]) => changes.map((c) => [c.change, c.user_id, c.actor, c.via]);

const archivedSeq = (conversation: string) =>
  runInDurableObject(conversationStub(conversation), (_o, state) =>
    state.storage.sql.exec<{ a: number }>("SELECT archived_seq AS a FROM conversations WHERE conversation_id = ?", conversation).one().a,
  );

describe("a group's membership history", () => {
  it("lists joins (with the group, added, by invitation, by link), leaves and removals, newest first, with who did it and when", async () => {
    const [ana, bo, cy, dan, eve, fay] = (await quickUsers(6, "past")) as [Account, Account, Account, Account, Account, Account];
    const id = (a: Account) => a.user.user_id;
    const started = Date.now();
    const group = await createGroup(ana, [bo, cy], "comings and goings");
    await rest(ana.token).call("addMembers", { conversation_id: group, body: { user_ids: [id(dan)] } });
    // Fay lets nobody add her: the add is an invitation, which she accepts.
    await rest(fay.token).call("updateMe", { body: { groups_add: "nobody" } });
    expect((await rest(ana.token).call("addMembers", { conversation_id: group, body: { user_ids: [id(fay)] } })).invited).toEqual([id(fay)]);
    await rest(fay.token).call("acceptInvitation", { conversation_id: group });
    const { token } = await rest(ana.token).call("createInviteLink", { conversation_id: group });
    await rest(eve.token).call("joinByInviteLink", { token });
    await rest(cy.token).call("removeMember", { conversation_id: group, user_id: id(cy) });
    await rest(ana.token).call("removeMember", { conversation_id: group, user_id: id(dan) });
    // Not membership: left out of the list.
    await rest(ana.token).call("setRole", { conversation_id: group, user_id: id(eve), body: { role: "admin" } });
    await rest(ana.token).call("updateGroup", { conversation_id: group, body: { name: "renamed" } });

    const { changes, pages } = await allChanges(ana, group, 100);
    expect(pages).toBe(1);
    expect(summary(changes)).toEqual([
      ["removed", id(dan), id(ana), null],
      ["left", id(cy), id(cy), null],
      ["joined", id(eve), id(eve), "link"],
      ["joined", id(fay), id(ana), "invitation"],
      ["joined", id(dan), id(ana), "added"],
      // The group's creation, one seq: its creator first in time, so last.
      ...[cy, bo, ana].map((u) => ["joined", id(u), id(ana), "created"]),
    ]);
    const seqs = changes.map((c) => c.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(seqs.at(-1)).toBe(1);
    for (const c of changes) expect(c.at).toBeGreaterThanOrEqual(started);
    for (const c of changes) expect(c.at).toBeLessThanOrEqual(Date.now());
    // The same seqs as the system messages that recorded them.
    const messages = (await rest(ana.token).call("history", { conversation_id: group, query: { limit: 50 } })).messages;
    const systemSeqs = new Set(messages.filter((m) => m.content_type === "system").map((m) => m.seq));
    for (const s of seqs) expect(systemSeqs.has(s)).toBe(true);

    // Paged: two at a time gives the same list, split where the creation's three people are.
    const paged = await allChanges(ana, group, 2);
    expect(paged.pages).toBe(4);
    expect(paged.changes).toEqual(changes);
    // The other admin (Eve, made one) reads it too.
    expect((await allChanges(eve, group, 100)).changes).toEqual(changes);
  });

  it("is the admins' only: a member gets 403 forbidden, people outside as for the conversation itself", async () => {
    const [ana, bo, cy, stranger] = (await quickUsers(4, "seen")) as [Account, Account, Account, Account];
    const group = await createGroup(ana, [bo, cy]);
    await rest(cy.token).call("removeMember", { conversation_id: group, user_id: cy.user.user_id });
    const refusal = async (who: Account, path: string) => {
      const res = await api("GET", path, { token: who.token });
      return [res.status, res.body.error?.code];
    };
    expect(await refusal(bo, historyPath(group))).toEqual([403, "forbidden"]);
    // Outside: the answer the conversation itself gives them.
    for (const who of [cy, stranger]) {
      expect(await refusal(who, historyPath(group))).toEqual(await refusal(who, `/api/v1/conversations/${group}`));
      expect(await refusal(who, historyPath(group))).toEqual([403, "not_a_member"]);
    }
    expect(await refusal(ana, historyPath("g_no_such_group_at_all"))).toEqual([404, "conversation_not_found"]);
    expect(await refusal(ana, historyPath(await directConversation(ana, bo)))).toEqual([400, "not_a_group"]);
    expect(await refusal(ana, historyPath(group, "?before=12"))).toEqual([400, "bad_request"]);
    expect(await refusal(ana, historyPath(group, "?limit=101"))).toEqual([400, "bad_request"]);

    // Made an admin, Bo sees it; an admin who left sees it no more.
    await rest(ana.token).call("setRole", { conversation_id: group, user_id: bo.user.user_id, body: { role: "admin" } });
    expect((await api("GET", historyPath(group), { token: bo.token })).status).toBe(200);
    await rest(ana.token).call("removeMember", { conversation_id: group, user_id: ana.user.user_id });
    expect(await refusal(ana, historyPath(group))).toEqual([403, "not_a_member"]);
    const seen = await rest(bo.token).call("memberHistory", { conversation_id: group, query: {} });
    expect(summary(seen.changes.slice(0, 2))).toEqual([
      ["left", ana.user.user_id, ana.user.user_id, null],
      ["left", cy.user.user_id, cy.user.user_id, null],
    ]);
  });

  it("keeps listing changes whose system messages were archived to R2, past the hot window", async () => {
    const [ana, bo, cy] = (await quickUsers(3, "old")) as [Account, Account, Account];
    const group = await createGroup(ana, [bo]);
    await rest(ana.token).call("addMembers", { conversation_id: group, body: { user_ids: [cy.user.user_id] } });
    await rest(ana.token).call("removeMember", { conversation_id: group, user_id: cy.user.user_id });
    const before = (await allChanges(ana, group, 100)).changes;
    expect(before.map((c) => c.change)).toEqual(["removed", "joined", "joined", "joined"]);

    const phone = await connect(ana.token, "ana-phone");
    for (let i = 0; i < WINDOW + 20; i++) phone.send({ type: "send_message", conversation_id: group, ...text(`filler ${i}`, `f${i}`) });
    await phone.until((s) => s.of("message_ack").length >= WINDOW + 20, "the filler acks");
    phone.close();
    const removedSeq = before[0]!.seq;
    await runAlarms(conversationStub(group), async () => (await archivedSeq(group)) >= removedSeq, 40);
    expect(await archivedSeq(group)).toBeGreaterThanOrEqual(removedSeq);
    // The system messages themselves are in R2 only now.
    const hotSystem = await runInDurableObject(conversationStub(group), (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? AND content_type = 'system'", group).one().n,
    );
    expect(hotSystem).toBe(0);

    expect((await allChanges(ana, group, 100)).changes).toEqual(before);
    // And a change after them comes first.
    await rest(bo.token).call("removeMember", { conversation_id: group, user_id: bo.user.user_id });
    const after = (await allChanges(ana, group, 2)).changes;
    expect(summary(after.slice(0, 1))).toEqual([["left", bo.user.user_id, bo.user.user_id, null]]);
    expect(after.slice(1)).toEqual(before);
  });

  it("reads changes archived before the history existed from their segments, once, on the first read", async () => {
    const [ana, bo, cy] = (await quickUsers(3, "owed")) as [Account, Account, Account];
    const group = await createGroup(ana, [bo]);
    await rest(ana.token).call("addMembers", { conversation_id: group, body: { user_ids: [cy.user.user_id] } });
    await rest(cy.token).call("removeMember", { conversation_id: group, user_id: cy.user.user_id });
    const phone = await connect(ana.token, "ana-phone");
    for (let i = 0; i < WINDOW + 20; i++) phone.send({ type: "send_message", conversation_id: group, ...text(`filler ${i}`, `f${i}`) });
    await phone.until((s) => s.of("message_ack").length >= WINDOW + 20, "the filler acks");
    phone.close();
    await runAlarms(conversationStub(group), async () => (await archivedSeq(group)) >= 3, 40);
    const expected = (await allChanges(ana, group, 100)).changes;
    expect(summary(expected)).toEqual([
      ["left", cy.user.user_id, cy.user.user_id, null],
      ["joined", cy.user.user_id, ana.user.user_id, "added"],
      ...[bo, ana].map((u) => ["joined", u.user.user_id, ana.user.user_id, "created"]),
    ]);
    // As a group from before the history: its archived changes not listed, the archive owed.
    const owed = (sqlText: string) => runInDurableObject(conversationStub(group), (_o, state) => state.storage.sql.exec(sqlText, group).toArray());
    await runInDurableObject(conversationStub(group), (_o, state) => {
      const upTo = state.storage.sql.exec<{ a: number }>("SELECT archived_seq AS a FROM conversations WHERE conversation_id = ?", group).one().a;
      state.storage.sql.exec("DELETE FROM member_history WHERE conversation_id = ? AND seq <= ?", group, upTo);
      state.storage.sql.exec("INSERT INTO member_history_owed (conversation_id, up_to) VALUES (?, ?)", group, upTo);
    });
    expect(await owed("SELECT * FROM member_history WHERE conversation_id = ?")).toEqual([]);

    expect((await allChanges(ana, group, 2)).changes).toEqual(expected);
    expect(await owed("SELECT * FROM member_history_owed WHERE conversation_id = ?")).toEqual([]);
  });

  it("moves with the conversation to another object (a change of CONVERSATION_SHARDS)", async () => {
    const [ana, bo, cy] = (await quickUsers(3, "mov")) as [Account, Account, Account];
    // Made in the object the old layout (one per conversation) names, then handed to its home.
    const conversationId = `g_moving_${crypto.randomUUID().slice(0, 8)}`;
    const oldId = env.CONVERSATIONS.idFromName(conversationId);
    const old = env.CONVERSATIONS.get(oldId);
    expect((await old.createGroup(conversationId, ana.user.user_id, "movers", [bo.user.user_id])).ok).toBe(true);
    expect((await old.addMembers(conversationId, ana.user.user_id, [cy.user.user_id])).ok).toBe(true);
    expect((await old.removeMember(conversationId, cy.user.user_id, cy.user.user_id)).ok).toBe(true);
    const held = await old.memberHistory(conversationId, ana.user.user_id, { limit: 100 });
    expect(held.ok && held.value.changes.map((c) => c.change)).toEqual(["left", "joined", "joined", "joined"]);

    const moves = !env.CONVERSATIONS.idFromName(conversationHomeName(env, conversationId)).equals(oldId);
    expect(await old.rehome()).toBe(moves ? 1 : 0);
    const atHome = await api("GET", historyPath(conversationId), { token: ana.token });
    expect(atHome.status).toBe(200);
    expect(atHome.body).toEqual(held.ok && held.value);
    if (moves) {
      const left = await runInDurableObject(old, (_o, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM member_history WHERE conversation_id = ?", conversationId).one().n,
      );
      expect(left).toBe(0);
    }
  });

  it("migration 12 fills the history from the system messages an object already holds", async () => {
    const scratch = env.CONVERSATIONS.get(env.CONVERSATIONS.idFromName(`scratch-${crypto.randomUUID()}`));
    await runInDurableObject(scratch, (_o, state) => {
      const sql = state.storage.sql;
      const before = conversationMigrations.filter((m) => m.id < 12);
      migrate(state.storage, before);
      const system = (seq: number, event: object) =>
        sql.exec(
          "INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, content, content_type, timestamp) VALUES ('g_old', ?, ?, 'u_a', ?, 'system', ?)",
          seq,
          `m${seq}`,
          JSON.stringify({ actor: "u_a", ...event }),
          1000 + seq,
        );
      system(1, { event: "group_created", name: "old", user_ids: ["u_b"] });
      system(2, { event: "members_added", user_ids: ["u_c", "u_d"] });
      system(3, { event: "renamed", name: "older" });
      system(4, { event: "member_joined", user_id: "u_e", via: "link" });
      system(5, { event: "member_left", user_id: "u_b" });
      system(6, { event: "member_removed", user_id: "u_c" });
      sql.exec("INSERT INTO messages (conversation_id, seq, server_msg_id, sender_id, content, content_type, timestamp) VALUES ('g_old', 7, 'm7', 'u_a', 'hi', 'text', 1007)");
      // Groups with archived history owe what their segments hold; a direct chat has no members' history.
      const conversation = (id: string, type: string, archived: number) =>
        sql.exec("INSERT INTO conversations (conversation_id, type, created_at, updated_at, last_seq, archived_seq) VALUES (?, ?, 0, 0, ?, ?)", id, type, archived + 7, archived);
      conversation("g_old", "group", 0);
      conversation("g_archived", "group", 40);
      conversation("d_archived", "direct", 40);
      migrate(state.storage, conversationMigrations);
      expect(sql.exec("SELECT conversation_id, up_to FROM member_history_owed").toArray()).toEqual([{ conversation_id: "g_archived", up_to: 40 }]);
      const rows = sql.exec("SELECT seq, position, user_id, change, actor, via, at FROM member_history WHERE conversation_id = 'g_old' ORDER BY seq, position").toArray();
      expect(rows).toEqual([
        { seq: 1, position: 0, user_id: "u_a", change: "joined", actor: "u_a", via: "created", at: 1001 },
        { seq: 1, position: 1, user_id: "u_b", change: "joined", actor: "u_a", via: "created", at: 1001 },
        { seq: 2, position: 0, user_id: "u_c", change: "joined", actor: "u_a", via: "added", at: 1002 },
        { seq: 2, position: 1, user_id: "u_d", change: "joined", actor: "u_a", via: "added", at: 1002 },
        { seq: 4, position: 0, user_id: "u_e", change: "joined", actor: "u_a", via: "link", at: 1004 },
        { seq: 5, position: 0, user_id: "u_b", change: "left", actor: "u_a", via: null, at: 1005 },
        { seq: 6, position: 0, user_id: "u_c", change: "removed", actor: "u_a", via: null, at: 1006 },
      ]);
    });
  });
});
