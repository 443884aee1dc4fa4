import { afterAll, describe, expect, it } from "vitest";
import { RestClient } from "../../src/client";
import { DevServer } from "../helpers/devServer";
import { account, client, until, type Account } from "../helpers/sdk";

/**
 * The state of a server that ran with one object per user and per conversation (every version before
 * objects held shards), started again with four user and four conversation objects, then two and one:
 * every user and every conversation moves to its new home on start, and everything of theirs comes
 * along.
 */
const server = new DevServer(undefined, { USER_SHARDS: "", CONVERSATION_SHARDS: "" });
afterAll(() => server.stop());

const rest = (who: Account) => new RestClient(server.url, () => who.token);

async function restart(users: string, conversations: string) {
  await server.stop();
  server.vars.USER_SHARDS = users;
  server.vars.CONVERSATION_SHARDS = conversations;
  await server.start(server.port);
}

describe("a change of USER_SHARDS or CONVERSATION_SHARDS", () => {
  it("moves every user and conversation to its new home on start: sessions, lists, unread counts, history, receipts, settings and marks come along", async () => {
    await server.start();
    const users = await Promise.all(Array.from({ length: 6 }, () => account(server.url, "lay")));
    const [ana, ...others] = users as [Account, ...Account[]];
    const group = (await rest(ana).call("createConversation", { body: { type: "group", name: "moving", member_ids: others.map((o) => o.user.user_id) } })).conversation
      .conversation_id;
    const direct = (await rest(ana).call("createConversation", { body: { type: "direct", member_ids: [others[0]!.user.user_id] } })).conversation.conversation_id;
    // Bo reads the group up to the first message on his phone; the rest waits for him.
    const bo = others[0]!;
    const phone = client(server.url, bo, "bo-phone", { deliveredAckIntervalMs: 0 });
    void phone.start();
    let last = "";
    for (let i = 1; i <= 4; i++) {
      last = (await rest(ana).call("sendMessage", { conversation_id: group, body: { content: `g${i}`, content_type: "text", client_msg_id: `g${i}` } })).server_msg_id;
    }
    const lastDirect = (await rest(ana).call("sendMessage", { conversation_id: direct, body: { content: "just you", content_type: "text", client_msg_id: "d1" } })).server_msg_id;
    await until([phone], () => phone.contiguousSeq(group) === 5 && phone.contiguousSeq(direct) === 1, "Bo's phone to have everything");
    // The phone has acknowledged both (its delivery cursors are on the server) before it goes away.
    const delivered = async (conversation_id: string, server_msg_id: string) =>
      (await rest(ana).call("receipts", { conversation_id, server_msg_id })).receipts.find((r) => r.user_id === bo.user.user_id)?.delivered_at ?? null;
    for (let i = 0; i < 100 && ((await delivered(group, last)) === null || (await delivered(direct, lastDirect)) === null); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await delivered(direct, lastDirect)).not.toBeNull();
    phone.stop();
    await rest(bo).call("updateMe", { body: { last_seen_visible: false } });
    // Bo's marks: a star on the last group message, a hidden direct one.
    await rest(bo).call("starMessage", { conversation_id: group, server_msg_id: last });
    await rest(bo).call("hideMessage", { conversation_id: direct, server_msg_id: lastDirect });
    await rest(ana).call("sendMessage", { conversation_id: group, body: { content: "while away", content_type: "text", client_msg_id: "g5" } });
    const lists = async () =>
      Object.fromEntries(
        await Promise.all(
          users.map(async (u) => [u.user.user_id, (await rest(u).call("listConversations", {})).conversations.map((c) => [c.conversation_id, c.last_message?.content, c.unread_count])] as const),
        ),
      );
    // What the conversations hold: their history, and who has what (their members' cursors).
    const conversations = async () => ({
      history: (await rest(ana).call("history", { conversation_id: group, query: { limit: 50 } })).messages.map((m) => [m.seq, m.server_msg_id, m.content]),
      receipts: (await rest(ana).call("receipts", { conversation_id: group, server_msg_id: last })).receipts.sort((x, y) => x.user_id.localeCompare(y.user_id)),
      direct: (await rest(ana).call("history", { conversation_id: direct, query: { limit: 50 } })).messages.map((m) => [m.seq, m.content]),
      starred: (await rest(bo).call("starred", {})).starred.map((s) => [s.message.server_msg_id, s.message.content, s.starred_at]),
      marks: (await rest(bo).call("marks", {})).marks,
    });
    await new Promise((r) => setTimeout(r, 1_500));
    const before = await lists();
    const held = await conversations();
    expect(held.history).toHaveLength(6);
    expect(held.receipts.find((r) => r.user_id === bo.user.user_id)?.delivered_at).not.toBeNull();
    expect(held.starred.map(([id]) => id)).toEqual([last]);
    expect(held.marks.map((m) => [m.kind, m.version])).toEqual([["starred", 1], ["hidden", 2]]);

    for (const [users, conversationShards] of [["4", "4"], ["2", "1"]] as const) {
      await restart(users, conversationShards);
      expect(server.output()).toMatch(new RegExp(`→ USER_SHARDS=${users}: moved \\d+ users`));
      expect(server.output()).toMatch(new RegExp(`→ CONVERSATION_SHARDS=${conversationShards}: moved \\d+ conversations`));
      // The same tokens still work (sessions moved), and every list reads exactly as before.
      expect(await lists()).toEqual(before);
      expect(await conversations()).toEqual(held);
      expect((await rest(bo).call("me", {})).settings).toMatchObject({ last_seen_visible: false });
    }
    // Bo's phone reconnects to his new home and is sent only what lies past its cursor.
    const again = client(server.url, bo, "bo-phone");
    const seen: string[] = [];
    again.on("message", (m) => seen.push(m.content));
    void again.start();
    await until([again], () => seen.includes("while away"), "the message Bo missed");
    expect(seen).toEqual(["while away"]);
    // And new messages flow through the new homes.
    await rest(ana).call("sendMessage", { conversation_id: group, body: { content: "after the move", content_type: "text", client_msg_id: "g6" } });
    await until([again], () => seen.includes("after the move"), "a message after the move");
    // Its sequence carries on from where the old home left it, and the idempotency keys came along.
    const resent = await rest(ana).call("sendMessage", { conversation_id: group, body: { content: "g4 again", content_type: "text", client_msg_id: "g4" } });
    expect(resent.server_msg_id).toBe(last);
    const history = (await rest(ana).call("history", { conversation_id: group, query: { limit: 50 } })).messages;
    expect(history.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    again.stop();
  });
});
