import { afterEach, describe, expect, inject, it } from "vitest";
import { MUTED_FOREVER, ParleyApiError, ParleyClient } from "../../src/client";
import { account, client, until } from "../helpers/sdk";

const baseUrl = inject("serverUrl");
const running: ParleyClient[] = [];
function started(c: ParleyClient) {
  running.push(c);
  void c.start();
  return c;
}
afterEach(() => {
  for (const c of running.splice(0)) c.stop();
});

/** Mute, pin, mark as unread and archive through the SDK: one device sets, the other follows live and after being away. */
describe("conversation settings through the SDK against a real server", () => {
  it("reach the user's other device live and after it was away; pinned first; a fourth pin refused", async () => {
    const [alice, ...others] = await Promise.all(["alice", "bob", "cy", "dee", "eve"].map((n) => account(baseUrl, n)));
    const setup = client(baseUrl, alice!, "setup").rest;
    const chats: string[] = [];
    for (const other of others) {
      const { conversation } = await setup.call("createConversation", { body: { type: "direct", member_ids: [other.user.user_id] } });
      chats.push(conversation.conversation_id);
      await setup.call("sendMessage", { conversation_id: conversation.conversation_id, body: { content: "hi", content_type: "text", client_msg_id: crypto.randomUUID() } });
    }
    const phone = started(client(baseUrl, alice!, "alice-phone"));
    const laptop = started(client(baseUrl, alice!, "alice-laptop"));
    await Promise.all([phone.refreshConversations(), laptop.refreshConversations()]);
    await until([phone, laptop], () => phone.connectionState === "open" && laptop.connectionState === "open", "both connected");

    await phone.mute(chats[0]!, "always");
    await phone.pin(chats[0]!, true);
    await phone.markUnread(chats[1]!, true);
    await until([laptop], () => laptop.conversation(chats[0]!)?.muted_until === MUTED_FOREVER && laptop.conversation(chats[1]!)?.marked_unread === true, "the settings on the laptop, live");
    expect(laptop.conversations()[0]!.conversation_id).toBe(chats[0]);

    // The laptop is away while the phone pins two more and archives one.
    laptop.stop();
    await phone.pin(chats[2]!, true);
    await phone.pin(chats[3]!, true);
    await expect(phone.pin(chats[1]!, true)).rejects.toMatchObject({ code: "too_many_pinned" } satisfies Partial<ParleyApiError>);
    await phone.setArchived([chats[1]!], true);
    void laptop.start();
    await until([laptop], () => laptop.conversation(chats[3]!)?.pinned_at != null && laptop.conversation(chats[1]!)?.archived === true, "the laptop to catch up");
    expect(laptop.conversations().slice(0, 3).map((c) => c.conversation_id)).toEqual([chats[3], chats[2], chats[0]]);
    expect(laptop.conversations().map((c) => c.conversation_id)).toEqual(phone.conversations().map((c) => c.conversation_id));
  });
});
