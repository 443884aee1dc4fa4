import { describe, expect, it } from "vitest";
import { MUTED_FOREVER, type ConversationSettings, type ConversationSummary } from "../../src/protocol";
import { api, connect, createGroup, directConversation, quickUsers, rest, text, type Account, type TestSocket } from "../helpers/client";

/**
 * A user's own settings for each conversation (issue 18): mute, pin, mark as unread, archive. Each
 * change reaches every device of that user at once (a `conversation_settings` frame) and nobody
 * else's; a device that was away reads them from the list. Pins head the list, at most three; a new
 * message brings an archived chat back unless the user keeps chats archived; a read ends "unread".
 */

const settle = (who: Account, conversationId: string, body: Record<string, unknown>) =>
  api("PATCH", `/api/v1/conversations/${conversationId}/settings`, { token: who.token, body });
const send = async (who: Account, conversationId: string, content: string) =>
  (await rest(who.token).call("sendMessage", { conversation_id: conversationId, body: text(content, `${content}-${crypto.randomUUID()}`) })).server_msg_id;
const list = async (who: Account, query = ""): Promise<{ conversations: ConversationSummary[]; next: string | null }> =>
  (await api("GET", `/api/v1/conversations${query}`, { token: who.token })).body;
const row = async (who: Account, conversationId: string, archived = false) =>
  (await list(who, archived ? "?archived=true" : "")).conversations.find((c) => c.conversation_id === conversationId);
/** The settings frames a socket got for a conversation. */
const seen = (s: TestSocket, conversationId: string): ConversationSettings[] =>
  s.of("conversation_settings").filter((f) => f.settings.conversation_id === conversationId).map((f) => f.settings);

describe("conversation settings", () => {
  it("reach every device of the user live, a device that was away through the list, and nobody else", async () => {
    const [ana, bo] = (await quickUsers(2, "cs")) as [Account, Account];
    const chat = await directConversation(ana, bo);
    await send(bo, chat, "hi");
    const phone = await connect(ana.token, "phone");
    const laptop = await connect(ana.token, "laptop");
    const boPhone = await connect(bo.token, "phone");

    const until = Date.now() + 8 * 3600_000;
    expect(await settle(ana, chat, { muted_until: until })).toMatchObject({ status: 200, body: { settings: { conversation_id: chat, muted_until: until } } });
    expect((await settle(ana, chat, { pinned: true })).status).toBe(200);
    const last = await settle(ana, chat, { marked_unread: true });
    const expected = { conversation_id: chat, muted_until: until, pinned_at: expect.any(Number), marked_unread: true, archived: false };
    expect(last.body.settings).toEqual(expected);
    for (const device of [phone, laptop]) {
      await device.until((s) => seen(s, chat).length === 3, "three settings frames");
      expect(seen(device, chat).map((x) => [x.muted_until, x.pinned_at !== null, x.marked_unread])).toEqual([
        [until, false, false],
        [until, true, false],
        [until, true, true],
      ]);
    }

    // A tablet that was away: the list says the same.
    expect(await row(ana, chat)).toMatchObject({ ...expected, pinned_at: last.body.settings.pinned_at, unread_count: 1 });
    // Muted always, and archived (which unpins): still the same everywhere.
    await settle(ana, chat, { muted_until: "always", archived: true });
    await phone.until((s) => seen(s, chat).length === 4, "the fourth frame");
    await laptop.until((s) => seen(s, chat).length === 4, "the fourth frame");
    expect(seen(phone, chat)[3]).toEqual({ conversation_id: chat, muted_until: MUTED_FOREVER, pinned_at: null, marked_unread: true, archived: true });
    expect(await row(ana, chat)).toBeUndefined();
    expect(await row(ana, chat, true)).toMatchObject({ muted_until: MUTED_FOREVER, pinned_at: null, archived: true });

    // Bo, in the same chat, heard nothing and his settings are untouched.
    await boPhone.settle();
    expect(boPhone.of("conversation_settings")).toEqual([]);
    expect(await row(bo, chat)).toMatchObject({ muted_until: null, pinned_at: null, marked_unread: false, archived: false });
    // Nobody sets anything in a chat that is not theirs.
    const [cy] = (await quickUsers(1, "csx")) as [Account];
    expect(await settle(cy, chat, { pinned: true })).toMatchObject({ status: 404, body: { error: { code: "conversation_not_found" } } });
    expect(await settle(ana, chat, {})).toMatchObject({ status: 400 });
    expect(await settle(ana, chat, { muted_until: "soon" })).toMatchObject({ status: 400 });
    for (const s of [phone, laptop, boPhone]) s.close();
  });

  it("pins at most three, most recently pinned first at the top of the list, before newer chats", async () => {
    const [ana, ...others] = (await quickUsers(6, "cp")) as Account[];
    const chats: string[] = [];
    for (const other of others) chats.push(await directConversation(ana!, other));
    for (const [i, chat] of chats.entries()) await send(others[i]!, chat, `from ${i}`);
    // Newest activity first: chats[4] … chats[0].
    expect((await list(ana!)).conversations.map((c) => c.conversation_id)).toEqual([...chats].reverse());

    for (const chat of [chats[0]!, chats[1]!, chats[2]!]) expect((await settle(ana!, chat, { pinned: true })).status).toBe(200);
    expect(await settle(ana!, chats[3]!, { pinned: true })).toMatchObject({ status: 422, body: { error: { code: "too_many_pinned" } } });
    // Pinning one already pinned is no fourth.
    expect((await settle(ana!, chats[0]!, { pinned: true })).status).toBe(200);
    const order = [chats[2], chats[1], chats[0], chats[4], chats[3]];
    expect((await list(ana!)).conversations.map((c) => c.conversation_id)).toEqual(order);

    // Paged: the first page is the pins (three, though the page asks for two), then the rest from the newest, each once.
    const pages = [await list(ana!, "?limit=2")];
    while (pages.at(-1)!.next) pages.push(await list(ana!, `?limit=2&cursor=${pages.at(-1)!.next}`));
    expect(pages.map((p) => p.conversations.length)).toEqual([3, 2]);
    expect(pages.flatMap((p) => p.conversations.map((c) => c.conversation_id))).toEqual(order);

    // Unpinning makes room; a new message does not move a chat above the pins.
    expect((await settle(ana!, chats[1]!, { pinned: false })).body.settings.pinned_at).toBeNull();
    expect((await settle(ana!, chats[3]!, { pinned: true })).status).toBe(200);
    await send(others[1]!, chats[1]!, "newest");
    expect((await list(ana!)).conversations.map((c) => c.conversation_id)).toEqual([chats[3], chats[2], chats[0], chats[1], chats[4]]);
  });

  it("brings an archived chat back with a new message (not with a reaction), unless the user keeps chats archived", async () => {
    const [ana, bo, cy] = (await quickUsers(3, "ca")) as [Account, Account, Account];
    const chat = await directConversation(ana, bo);
    const group = await createGroup(cy, [ana]);
    const hello = await send(ana, chat, "hello");
    const phone = await connect(ana.token, "phone");
    expect((await api("POST", "/api/v1/conversations/archive", { token: ana.token, body: { conversation_ids: [chat, group], archived: true } })).status).toBe(200);
    await phone.until((s) => seen(s, chat).length === 1 && seen(s, group).length === 1, "the archive frames");

    // A reaction to Ana's message is an action on a message, not a new one: it stays archived.
    const reaction = await api("POST", `/api/v1/conversations/${chat}/messages/${hello}/actions`, {
      token: bo.token,
      body: { action: "reaction", content: "👍", client_msg_id: `r-${crypto.randomUUID()}` },
    });
    expect(reaction.status).toBe(201);
    await phone.until((s) => s.of("new_message").some((f) => f.conversation_id === chat && f.content_type === "reaction"), "the reaction");
    // Ana's own message does not bring it back either.
    await send(ana, chat, "note to self");
    expect(await row(ana, chat, true)).toMatchObject({ archived: true });

    await send(bo, chat, "are you there?");
    await phone.until((s) => seen(s, chat).length === 2, "the unarchive frame");
    expect(seen(phone, chat)[1]).toMatchObject({ archived: false });
    expect(await row(ana, chat)).toMatchObject({ archived: false });

    // Keep archived: a message leaves the group where it is.
    expect((await api("PATCH", "/api/v1/users/me", { token: ana.token, body: { keep_archived: true } })).body.settings).toMatchObject({ keep_archived: true });
    await send(cy, group, "big news");
    await phone.until((s) => s.of("new_message").some((f) => f.conversation_id === group && f.content === "big news"), "the group message");
    await phone.settle();
    expect(seen(phone, group)).toHaveLength(1);
    expect(await row(ana, group, true)).toMatchObject({ archived: true, unread_count: 2 });
    phone.close();
  });

  it("marks a chat unread until the user reads in it; unread_count stays the count of unread messages", async () => {
    const [ana, bo] = (await quickUsers(2, "cu")) as [Account, Account];
    const chat = await directConversation(ana, bo);
    const m = await send(bo, chat, "read me");
    const phone = await connect(ana.token, "phone");
    const laptop = await connect(ana.token, "laptop");
    phone.send({ type: "message_status", conversation_id: chat, server_msg_id: m, status: "read" });
    await expect.poll(async () => (await row(ana, chat))?.unread_count).toBe(0);

    await settle(ana, chat, { marked_unread: true });
    await laptop.until((s) => seen(s, chat).length === 1, "marked unread");
    expect(await row(ana, chat)).toMatchObject({ marked_unread: true, unread_count: 0 });

    // Opening the chat on the laptop reads it again (the cursor does not move): the mark is done with, everywhere.
    laptop.send({ type: "message_status", conversation_id: chat, server_msg_id: m, status: "read" });
    for (const device of [phone, laptop]) await device.until((s) => seen(s, chat).length === 2, "the mark cleared");
    expect(seen(phone, chat)[1]).toMatchObject({ marked_unread: false });
    expect(await row(ana, chat)).toMatchObject({ marked_unread: false, unread_count: 0 });
    phone.close();
    laptop.close();
  });
});
