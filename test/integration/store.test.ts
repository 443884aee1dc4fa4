import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { api, directConversation, quickUsers } from "../helpers/client";
import { conversationIn, conversationStub } from "../helpers/objects";

/**
 * What a conversation's store holds in memory (its head, the newest messages fan-out reads back)
 * must always match its rows: a send whose transaction fails leaves neither a gap in the sequence
 * nor a message that was never stored.
 */
describe("the conversation store", () => {
  it("rolls its head and its recent messages back with a failed transaction: the next message takes the next seq", async () => {
    const [ana, bo] = await quickUsers(2, "st");
    const conversationId = await directConversation(ana!, bo!);
    const send = (content: string, id: string) =>
      api("POST", `/api/v1/conversations/${conversationId}/messages`, { token: ana!.token, body: { content, content_type: "text", client_msg_id: id } });
    expect((await send("one", "m1")).body.seq).toBe(1);

    const failed = await runInDurableObject(conversationStub(conversationId), (o: ConversationObject) => {
      const store = conversationIn(o, conversationId).store;
      try {
        store.transaction(() => {
          store.append(ana!.user.user_id, { content: "never stored", content_type: "text", client_msg_id: null }, Date.now());
          throw new Error("the disk is full");
        });
      } catch (err) {
        return { error: String(err), lastSeq: store.lastSeq, after: store.messagesAfter(0, 10).map((m) => m.content) };
      }
      return null;
    });
    expect(failed).toEqual({ error: "Error: the disk is full", lastSeq: 1, after: ["one"] });

    expect((await send("two", "m2")).body.seq).toBe(2);
    // A repeat is recognised without a row to return: the original ack, nothing stored.
    expect((await send("two", "m2")).body.seq).toBe(2);
    const history = await api("GET", `/api/v1/conversations/${conversationId}/messages`, { token: bo!.token });
    expect(history.body.messages.map((m: { seq: number; content: string }) => [m.seq, m.content])).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
    const fromMemory = await runInDurableObject(conversationStub(conversationId), (o: ConversationObject) =>
      conversationIn(o, conversationId).store.messagesAfter(0, 10).map((m) => [m.seq, m.content]),
    );
    expect(fromMemory).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
  });

  it("reads its member list again after a failed transaction: a member added or removed in it is not", async () => {
    const [ana, bo, cy] = await quickUsers(3, "sm");
    const conversationId = await directConversation(ana!, bo!);
    const after = await runInDurableObject(conversationStub(conversationId), (o: ConversationObject) => {
      const store = conversationIn(o, conversationId).store;
      try {
        store.transaction(() => {
          store.addMember(cy!.user.user_id, "member", Date.now());
          store.removeMember(bo!.user.user_id, store.lastSeq);
          throw new Error("the disk is full");
        });
      } catch {
        /* the write failed: memory must follow the rows */
      }
      return { cyIsMember: store.member(cy!.user.user_id) !== undefined, boIsMember: store.member(bo!.user.user_id) !== undefined };
    });
    expect(after).toEqual({ cyIsMember: false, boIsMember: true });
    // Bo is still a member in every sense: he reads the conversation; Cy cannot.
    expect((await api("GET", `/api/v1/conversations/${conversationId}/messages`, { token: bo!.token })).status).toBe(200);
    expect((await api("GET", `/api/v1/conversations/${conversationId}/messages`, { token: cy!.token })).status).toBe(403);
  });
});
