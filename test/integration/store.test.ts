import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConversationStore } from "../../src/objects/conversation/store";
import { api, directConversation, quickUsers } from "../helpers/client";
import { conversationStub } from "../helpers/objects";

/**
 * What a conversation's store holds in memory (its head, the newest messages fan-out reads back)
 * must always match its rows: a send whose transaction fails leaves neither a gap in the sequence
 * nor a message that was never stored. Each test opens a store of its own over the object's storage,
 * as the object does, and restarts the object after writing through it (the object's own store
 * would not know those rows).
 */
describe("the conversation store", () => {
  it("rolls its head and its recent messages back with a failed transaction: the next message takes the next seq", async () => {
    const [ana, bo] = await quickUsers(2, "st");
    const conversationId = await directConversation(ana!, bo!);
    const send = (content: string, id: string) =>
      api("POST", `/api/v1/conversations/${conversationId}/messages`, { token: ana!.token, body: { content, content_type: "text", client_msg_id: id } });
    expect((await send("one", "m1")).body.seq).toBe(1);

    const stub = conversationStub(conversationId);
    const afterFailure = await runInDurableObject(stub, (_o, state) => {
      const store = new ConversationStore(state.storage, conversationId);
      let error = "";
      try {
        store.transaction(() => {
          store.append(ana!.user.user_id, { content: "never stored", content_type: "text", client_msg_id: null }, Date.now());
          throw new Error("the disk is full");
        });
      } catch (err) {
        error = String(err);
      }
      const failed = { error, lastSeq: store.lastSeq, after: store.messagesAfter(0, 10).map((m) => [m.seq, m.content]) };
      const two = { content: "two", content_type: "text" as const, client_msg_id: "m2" };
      const acks = store.transaction(() => {
        const acks = [store.appendOnce(ana!.user.user_id, two, Date.now()), store.appendOnce(ana!.user.user_id, two, Date.now())];
        store.saveHead();
        return acks;
      });
      return { failed, acks: acks.map((a) => [a.seq, a.fresh]), next: store.messagesAfter(0, 10).map((m) => [m.seq, m.content]) };
    });
    expect(afterFailure.failed).toEqual({ error: "Error: the disk is full", lastSeq: 1, after: [[1, "one"]] });
    // The next message takes the next seq; a repeat of it is recognised, and nothing is stored twice.
    expect(afterFailure.acks).toEqual([
      [2, true],
      [2, false],
    ]);
    expect(afterFailure.next).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
    await evictDurableObject(stub);

    // The object, started again, reads what the store wrote: a repeat over REST gets the original ack.
    expect((await send("two", "m2")).body.seq).toBe(2);
    expect((await send("three", "m3")).body.seq).toBe(3);
    const history = await api("GET", `/api/v1/conversations/${conversationId}/messages`, { token: bo!.token });
    expect(history.body.messages.map((m: { seq: number; content: string }) => [m.seq, m.content])).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
    ]);
  });

  it("reads its member list again after a failed transaction: a member added or removed in it is not", async () => {
    const [ana, bo, cy] = await quickUsers(3, "sm");
    const conversationId = await directConversation(ana!, bo!);
    const stub = conversationStub(conversationId);
    const after = await runInDurableObject(stub, (_o, state) => {
      const store = new ConversationStore(state.storage, conversationId);
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
    await evictDurableObject(stub);
    // Bo is still a member in every sense: he reads the conversation; Cy cannot.
    expect((await api("GET", `/api/v1/conversations/${conversationId}/messages`, { token: bo!.token })).status).toBe(200);
    expect((await api("GET", `/api/v1/conversations/${conversationId}/messages`, { token: cy!.token })).status).toBe(403);
  });
});
