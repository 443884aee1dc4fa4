import fc from "fast-check";
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConversationStore } from "../../src/objects/conversation/store";
import { createGroup, quickUsers } from "../helpers/client";
import { conversationStub } from "../helpers/objects";

const MESSAGES = 20;

/**
 * The conversation's member cursors, on a real object: any sequence of delivered/read updates
 * (repeats, regressions, reads overtaking deliveries) leaves cursors at the running maxima, never
 * moving back, with read implying delivered; receipts say a message was delivered/read exactly
 * when a cursor reached it, at the time of the first update that did. The store is opened over the
 * object's storage as the object opens it; the object is restarted after, to read what it wrote.
 */
describe("member cursors (ConversationStore.advanceCursor, receipts)", () => {
  it("are the running maxima of any update sequence, and receipts time the first update that reached each message", async () => {
    const [owner, member] = await quickUsers(2, "cur");
    const conv = await createGroup(owner!, [member!], "cursors");
    const stub = conversationStub(conv);
    const updates = fc.array(fc.record({ status: fc.constantFrom("delivered" as const, "read" as const), offset: fc.integer({ min: 1, max: MESSAGES }) }), { maxLength: 40 });

    await runInDurableObject(stub, (_o, state) => {
      const store = new ConversationStore(state.storage, conv);
      const userId = member!.user.user_id;
      fc.assert(
        fc.property(updates, (steps) => {
          // Fresh cursors for each run: re-adding a member resets them, from the current head.
          store.addMember(userId, "member", 0);
          const base = store.lastSeq;
          store.transaction(() => {
            for (let i = 0; i < MESSAGES; i++) store.append(owner!.user.user_id, { content: `m${i}`, content_type: "text", client_msg_id: null }, 0);
            store.saveHead();
          });
          const model = { delivered: 0, read: 0 }; // a re-added member starts from nothing
          const firstDelivered = new Map<number, number>();
          const firstRead = new Map<number, number>();
          steps.forEach(({ status, offset }, t) => {
            const seq = base + offset;
            const now = 1_000 + t;
            const moved = store.advanceCursor(userId, status, seq, now);
            expect(moved).toEqual({ previous: status === "read" ? model.read : model.delivered });
            const before = { ...model };
            if (status === "read") model.read = Math.max(model.read, seq);
            model.delivered = Math.max(model.delivered, status === "read" ? model.read : seq);
            for (let s = Math.max(before.delivered, base) + 1; s <= model.delivered; s++) firstDelivered.set(s, now);
            for (let s = Math.max(before.read, base) + 1; s <= model.read; s++) firstRead.set(s, now);
            const row = store.member(userId)!;
            expect([row.delivered_seq, row.read_seq]).toEqual([model.delivered, model.read]);
            expect(row.read_seq).toBeLessThanOrEqual(row.delivered_seq);
          });
          for (let offset = 1; offset <= MESSAGES; offset++) {
            const seq = base + offset;
            const receipt = store.receipts(seq, owner!.user.user_id).find((r) => r.user_id === userId);
            expect(receipt, `receipt for seq ${seq}`).toEqual({ user_id: userId, delivered_at: firstDelivered.get(seq) ?? null, read_at: firstRead.get(seq) ?? null });
          }
        }),
        { numRuns: 60 },
      );
    });
    await evictDurableObject(stub);
  });
});
