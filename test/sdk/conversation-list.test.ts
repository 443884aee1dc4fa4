import { describe, expect, inject, it } from "vitest";
import { client, directPair, startedClients, until } from "../helpers/sdk";

const baseUrl = inject("serverUrl");
const started = startedClients();

describe("the conversation list through the SDK against a real server", () => {
  it("counts a message that arrives while the list is being fetched, though the server read the list before it", async () => {
    const { alice, bob, rest, conversationId } = await directPair(baseUrl);
    await rest.call("sendMessage", { conversation_id: conversationId, body: { content: "first", content_type: "text", client_msg_id: crypto.randomUUID() } });
    // Bob's list request is answered by the server at once, but the answer reaches the SDK only
    // once a newer message has come over the socket: the list it applies is older than that message.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let answered!: () => void;
    const serverAnswered = new Promise<void>((r) => (answered = r));
    const slowList: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (new URL(String(input instanceof Request ? input.url : input)).pathname === "/api/v1/conversations") {
        answered();
        await gate;
      }
      return response;
    };
    const bobPhone = started(client(baseUrl, bob, "bob-phone", { fetch: slowList }));
    await until([bobPhone], () => bobPhone.connectionState === "open", "Bob connected");
    const listed = bobPhone.refreshConversations();
    // The server has answered (its list holds only "first"); then the second is sent.
    await serverAnswered;
    await rest.call("sendMessage", { conversation_id: conversationId, body: { content: "second", content_type: "text", client_msg_id: crypto.randomUUID() } });
    await until([bobPhone], () => bobPhone.messages(conversationId).some((m) => m.content === "second"), "the second message on Bob's phone");
    release();
    await listed;
    const summary = bobPhone.conversation(conversationId)!;
    expect(summary.last_message?.content).toBe("second");
    expect(summary.unread_count).toBe(2);
    void alice;
  });
});
