import { describe, expect, inject, it } from "vitest";
import { account, client } from "../helpers/sdk";

const baseUrl = inject("serverUrl");

/** Search through the SDK: a result opens the chat at its message, loading the history around it. */
describe("search through the SDK against a real server", () => {
  it("finds a message in one chat and across chats, and jumpTo brings it into the timeline", async () => {
    const [alice, bob] = await Promise.all([account(baseUrl, "alice"), account(baseUrl, "bob")]);
    const setup = client(baseUrl, alice, "setup").rest;
    const { conversation } = await setup.call("createConversation", { body: { type: "group", name: "Expedition", member_ids: [bob.user.user_id] } });
    const chat = conversation.conversation_id;
    const needle = await setup.call("sendMessage", { conversation_id: chat, body: { content: "the ibex trail starts here", content_type: "text", client_msg_id: "n1" } });
    for (let i = 0; i < 120; i++) {
      await setup.call("sendMessage", { conversation_id: chat, body: { content: `later note ${i}`, content_type: "text", client_msg_id: `f${i}` } });
    }

    // Not connected: nothing of the chat held, only REST — the search, then the jump's history pages.
    const b = client(baseUrl, bob, "bob-phone");
    expect(b.messages(chat)).toEqual([]);

    const inChat = await b.searchIn(chat, "ibex tra");
    expect(inChat.messages.map((m) => m.seq)).toEqual([needle.seq]);
    const everywhere = await b.search("ibex");
    expect(everywhere.messages.map((m) => [m.conversation_id, m.seq])).toEqual([[chat, needle.seq]]);
    expect((await b.search("expedit")).conversations.map((c) => c.conversation_id)).toEqual([chat]);

    expect(await b.jumpTo(chat, needle.seq)).toBe(true);
    expect(b.entries(chat).find((e) => e.seq === needle.seq)?.content).toBe("the ibex trail starts here");
  });
});
