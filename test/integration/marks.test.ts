import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { MessageMark, StarredResponse } from "../../src/protocol";
import { api, connect, createGroup, directConversation, quickUsers, rest, text, type Account, type TestSocket } from "../helpers/client";
import { conversationStub, runAlarms } from "../helpers/objects";

/**
 * A user's own marks on messages (issue 17): starred, and hidden by "delete for me". Each change
 * reaches every device of that user at once (a `marks` frame) and none of anyone else's; a device
 * that was away asks `GET /users/me/marks?after=<version>`; the starred list reads each message as
 * it is now, across conversations.
 */

const send = async (who: Account, conversationId: string, content: string) =>
  (await rest(who.token).call("sendMessage", { conversation_id: conversationId, body: text(content, `${content}-${crypto.randomUUID()}`) })).server_msg_id;

const messagePath = (conversationId: string, serverMsgId: string) => `/api/v1/conversations/${conversationId}/messages/${serverMsgId}`;
const star = (who: Account, c: string, m: string) => api("POST", `${messagePath(c, m)}/star`, { token: who.token });
const unstar = (who: Account, c: string, m: string) => api("DELETE", `${messagePath(c, m)}/star`, { token: who.token });
const hide = (who: Account, c: string, m: string) => api("POST", `${messagePath(c, m)}/hide`, { token: who.token });
const marksAfter = (who: Account, after: number, limit?: number) => rest(who.token).call("marks", { query: { after, ...(limit ? { limit } : {}) } });
const starred = (who: Account, query: { before?: number; limit?: number } = {}): Promise<StarredResponse> => rest(who.token).call("starred", { query: query as never });

/** The marks frames a socket got, flattened, as [kind, server_msg_id, active, version]. */
const marksSeen = (s: TestSocket) => s.of("marks").flatMap((f) => f.marks.map((m) => [m.kind, m.server_msg_id, m.active, m.version]));

describe("message marks", () => {
  it("reach every device of the user live, a device that was away through /users/me/marks, and nobody else", async () => {
    const [ana, bo] = (await quickUsers(2, "mk")) as [Account, Account];
    const chat = await directConversation(ana, bo);
    const [m1, m2] = [await send(bo, chat, "one"), await send(bo, chat, "two")];
    const phone = await connect(ana.token, "phone");
    const laptop = await connect(ana.token, "laptop");
    const boPhone = await connect(bo.token, "phone");

    expect((await star(ana, chat, m1)).status).toBe(204);
    expect((await unstar(ana, chat, m1)).status).toBe(204);
    expect((await hide(ana, chat, m2)).status).toBe(204);
    const expected = [
      ["starred", m1, true, 1],
      ["starred", m1, false, 2],
      ["hidden", m2, true, 3],
    ];
    for (const device of [phone, laptop]) {
      await device.until((s) => marksSeen(s).length === 3, "three marks");
      expect(marksSeen(device)).toEqual(expected);
      // One frame per change, in the order made.
      expect(device.of("marks").map((f) => f.marks.length)).toEqual([1, 1, 1]);
    }
    const first = phone.of("marks")[0]!.marks[0]!;
    expect(first).toEqual({ conversation_id: chat, server_msg_id: m1, seq: 1, kind: "starred", active: true, at: expect.any(Number), version: 1 });

    // A tablet that was away: the marks as they are now, each with the version of its last change.
    const all = await marksAfter(ana, 0);
    expect(all.has_more).toBe(false);
    expect(all.marks.map((m) => [m.kind, m.server_msg_id, m.active, m.version])).toEqual([expected[1], expected[2]]);
    expect((await marksAfter(ana, 2)).marks.map((m) => m.version)).toEqual([3]);
    expect((await marksAfter(ana, 3)).marks).toEqual([]);
    const paged = await marksAfter(ana, 0, 1);
    expect([paged.marks.map((m) => m.version), paged.has_more]).toEqual([[2], true]);

    // Bo, in the same chat, saw nothing and has nothing: the messages are still his to see.
    await boPhone.settle();
    expect(boPhone.of("marks")).toEqual([]);
    expect(await marksAfter(bo, 0)).toEqual({ marks: [], has_more: false });
    expect(await starred(bo)).toEqual({ starred: [], has_more: false });
    const history = await rest(bo.token).call("history", { conversation_id: chat, query: { after: 0 } });
    expect(history.messages.map((m) => m.content)).toEqual(["one", "two"]);
    for (const s of [phone, laptop, boPhone]) s.close();
  });

  it("changes nothing when repeated; hiding a message takes its star with it, and a hidden message cannot be starred", async () => {
    const [ana, bo] = (await quickUsers(2, "mkr")) as [Account, Account];
    const group = await createGroup(ana, [bo]);
    const m = await send(bo, group, "keep me");
    const phone = await connect(ana.token, "phone");

    expect((await star(ana, group, m)).status).toBe(204);
    expect((await star(ana, group, m)).status).toBe(204);
    expect((await unstar(ana, group, m)).status).toBe(204);
    expect((await unstar(ana, group, m)).status).toBe(204);
    expect((await star(ana, group, m)).status).toBe(204);
    await phone.until((s) => marksSeen(s).length === 3, "star, unstar, star");
    expect(marksSeen(phone)).toEqual([
      ["starred", m, true, 1],
      ["starred", m, false, 2],
      ["starred", m, true, 3],
    ]);

    expect((await hide(ana, group, m)).status).toBe(204);
    expect((await hide(ana, group, m)).status).toBe(204);
    await phone.until((s) => s.of("marks").length === 4, "the hide");
    // One frame for one change: hidden, and no longer starred.
    expect(phone.of("marks")[3]!.marks.map((x) => [x.kind, x.active, x.version])).toEqual([
      ["hidden", true, 4],
      ["starred", false, 5],
    ]);
    expect(await api("POST", `${messagePath(group, m)}/star`, { token: ana.token })).toMatchObject({ status: 404, body: { error: { code: "message_not_found" } } });
    expect((await unstar(ana, group, m)).status).toBe(204);
    await phone.settle();
    expect(phone.of("marks")).toHaveLength(4);
    expect((await marksAfter(ana, 0)).marks.map((x) => [x.kind, x.active, x.version])).toEqual([
      ["hidden", true, 4],
      ["starred", false, 5],
    ]);
    expect((await starred(ana)).starred).toEqual([]);
    phone.close();
  });

  it("lists starred messages across conversations, newest star first, each as it is now, paged by `before`", async () => {
    const [ana, bo, cy] = (await quickUsers(3, "mks")) as [Account, Account, Account];
    const chat = await directConversation(ana, bo);
    const group = await createGroup(cy, [ana, bo]);
    const d1 = await send(bo, chat, "direct one");
    const g1 = await send(cy, group, "group one");
    const d2 = await send(ana, chat, "direct two");
    const g2 = await send(bo, group, "group two");
    const g3 = await send(cy, group, "group three");
    // Starred in an order of its own: the list follows it, not the messages' order.
    const order: [string, string][] = [
      [group, g2],
      [chat, d1],
      [group, g3],
      [chat, d2],
      [group, g1],
    ];
    for (const [c, m] of order) expect((await star(ana, c, m)).status).toBe(204);
    // Unstarred again: not listed.
    expect((await unstar(ana, group, g3)).status).toBe(204);

    const newestFirst = ["group one", "direct two", "direct one", "group two"];
    const whole = await starred(ana);
    expect(whole.has_more).toBe(false);
    expect(whole.starred.map((s) => s.message.content)).toEqual(newestFirst);
    expect(whole.starred.map((s) => s.message.conversation_id)).toEqual([group, chat, chat, group]);
    const times = whole.starred.map((s) => s.starred_at);
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(new Set(times).size).toBe(times.length);
    expect(whole.starred[0]!.message).toMatchObject({ server_msg_id: g1, sender_id: cy.user.user_id, content_type: "text", seq: expect.any(Number) });

    const pages: string[][] = [];
    let before: number | undefined;
    for (let i = 0; i < 5; i++) {
      const page = await starred(ana, { limit: 3, ...(before === undefined ? {} : { before }) });
      pages.push(page.starred.map((s) => s.message.content));
      if (!page.has_more) break;
      before = page.starred.at(-1)!.starred_at;
    }
    expect(pages).toEqual([newestFirst.slice(0, 3), newestFirst.slice(3)]);

    // Bo's stars are his own.
    expect((await star(bo, group, g1)).status).toBe(204);
    expect((await starred(bo)).starred.map((s) => s.message.content)).toEqual(["group one"]);
    expect((await starred(ana)).starred.map((s) => s.message.content)).toEqual(newestFirst);

    // Ana leaves the group: its messages are no longer hers to read, so they leave her list.
    expect((await api("DELETE", `/api/v1/conversations/${group}/members/${ana.user.user_id}`, { token: ana.token })).status).toBe(200);
    await until(async () => (await starred(ana)).starred.length === 2, "the group's stars to leave Ana's list");
    expect((await starred(ana)).starred.map((s) => s.message.content)).toEqual(["direct two", "direct one"]);
  });

  it("lists a starred message as it is now: edited, reacted to, deleted for everyone; an action itself cannot be marked", async () => {
    const [ana, bo] = (await quickUsers(2, "mkn")) as [Account, Account];
    const chat = await directConversation(ana, bo);
    const [typo, gone] = [await send(bo, chat, "helo"), await send(bo, chat, "oops")];
    for (const m of [typo, gone]) expect((await star(ana, chat, m)).status).toBe(204);
    const act = (who: Account, m: string, action: "edit" | "reaction" | "delete", content?: string) =>
      rest(who.token).call("messageAction", { conversation_id: chat, server_msg_id: m, body: { action, client_msg_id: crypto.randomUUID(), ...(content === undefined ? {} : { content }) } });
    const edit = await act(bo, typo, "edit", "hello");
    await act(ana, typo, "reaction", "👍");
    await act(bo, gone, "delete");

    const list = (await starred(ana)).starred.map((s) => s.message);
    expect(list.map((m) => m.server_msg_id)).toEqual([gone, typo]);
    expect(list[0]).toMatchObject({ deleted: true, content: "" });
    expect(list[1]).toMatchObject({ content: "hello", edited_at: expect.any(Number), reactions: [{ user_id: ana.user.user_id, emoji: "👍" }] });
    // The edit is a row of the sequence, not a message: there is nothing to star or hide in it.
    for (const mark of [star, hide]) expect(await mark(ana, chat, edit.server_msg_id)).toMatchObject({ status: 404, body: { error: { code: "message_not_found" } } });
    // A message deleted for everyone can still be hidden (which takes its star).
    expect((await hide(ana, chat, gone)).status).toBe(204);
    expect((await starred(ana)).starred.map((s) => s.message.server_msg_id)).toEqual([typo]);
  });

  it("marks and lists messages that moved to the archive (R2) like hot ones", async () => {
    const [ana, bo] = (await quickUsers(2, "mka")) as [Account, Account];
    const chat = await directConversation(ana, bo);
    const phone = await connect(bo.token, "phone");
    // Past the hot window (100 in the workers projects, vitest.config.ts), 75 frames per socket message.
    const frames = Array.from({ length: 150 }, (_, i) => ({ type: "send_message", conversation_id: chat, ...text(`old ${i + 1}`, `old-${i + 1}`) }));
    for (const some of [frames.slice(0, 75), frames.slice(75)]) phone.send(some);
    const acks = await phone.next("message_ack", 150, 30_000);
    const hotRows = () =>
      runInDurableObject(conversationStub(chat), (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?", chat).one().n);
    await runAlarms(conversationStub(chat), async () => (await hotRows()) <= 100);
    expect(await hotRows()).toBeLessThanOrEqual(100);

    const idOf = (seq: number) => acks.find((a) => a.seq === seq)!.server_msg_id;
    expect((await star(ana, chat, idOf(3))).status).toBe(204);
    expect((await star(ana, chat, idOf(140))).status).toBe(204);
    expect((await hide(ana, chat, idOf(4))).status).toBe(204);
    expect(await hide(ana, chat, idOf(5).replace(/_.*/, "_forgedXY"))).toMatchObject({ status: 404, body: { error: { code: "message_not_found" } } });
    expect((await starred(ana)).starred.map((s) => [s.message.seq, s.message.content])).toEqual([
      [140, "old 140"],
      [3, "old 3"],
    ]);
    expect((await marksAfter(ana, 0)).marks.map((m) => [m.kind, m.seq])).toEqual([
      ["starred", 3],
      ["starred", 140],
      ["hidden", 4],
    ]);
    phone.close();
  });

  it("refuses marks on messages the user cannot see, with the documented codes", async () => {
    const [ana, bo, cy, dan] = (await quickUsers(4, "mkx")) as [Account, Account, Account, Account];
    const group = await createGroup(ana, [bo]);
    const chat = await directConversation(ana, bo);
    const before = await send(ana, group, "before Cy");
    const inChat = await send(ana, chat, "just us");
    expect((await api("POST", `/api/v1/conversations/${group}/members`, { token: ana.token, body: { user_ids: [cy.user.user_id] } })).status).toBe(200);
    const after = await send(ana, group, "after Cy");

    const refused = async (res: Promise<{ status: number; body: any }>, status: number, code: string, what: string) =>
      expect(await res, what).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } });
    for (const mark of [star, hide]) {
      const name = mark === star ? "star" : "hide";
      await refused(mark(dan, group, before), 403, "not_a_member", `${name}: a group Dan is not in`);
      await refused(mark(cy, chat, inChat), 403, "not_a_member", `${name}: a chat Cy is not in`);
      await refused(mark(ana, `g_${"A".repeat(22)}`, before), 404, "conversation_not_found", `${name}: no such conversation`);
      await refused(mark(ana, "not-an-id", before), 404, "conversation_not_found", `${name}: not a conversation id`);
      // Cy sees only what was sent after he joined.
      await refused(mark(cy, group, before), 404, "message_not_found", `${name}: from before Cy joined`);
      // A forged id: the right seq, another tail; one past the end; garbage; another conversation's message.
      await refused(mark(ana, group, before.replace(/_.*/, "_forgedXY")), 404, "message_not_found", `${name}: forged`);
      await refused(mark(ana, group, "m2s_abcdefgh"), 404, "message_not_found", `${name}: past the end`);
      await refused(mark(ana, group, "garbage"), 404, "message_not_found", `${name}: garbage`);
      await refused(mark(ana, group, inChat), 404, "message_not_found", `${name}: another conversation's message`);
    }
    // None of it left a mark; what each may see, they may mark.
    for (const who of [ana, cy, dan]) expect((await marksAfter(who, 0)).marks, who.user.username).toEqual([]);
    expect((await star(cy, group, after)).status).toBe(204);
    expect((await marksAfter(cy, 0)).marks.map((m: MessageMark) => m.server_msg_id)).toEqual([after]);
    // Unstarring what one never starred changes nothing, whoever asks; an id that is none is refused.
    expect((await unstar(dan, group, after)).status).toBe(204);
    await refused(unstar(ana, group, "garbage"), 404, "message_not_found", "unstar: garbage");
    await refused(unstar(ana, "not-an-id", after), 404, "conversation_not_found", "unstar: not a conversation id");
    expect((await marksAfter(cy, 0)).marks).toHaveLength(1);
    expect((await marksAfter(dan, 0)).marks).toEqual([]);
  });
});

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
