import { userStub, type Env } from "../../env";
import type { DeliveryBatch } from "../delivery";
import type { ConversationStore } from "./store";

/** Messages per delivery call: a burst is fanned out in a few calls, not one per message. */
const FANOUT_BATCH = 200;
/** How soon a failed or interrupted fan-out is tried again (via the object's alarm). */
export const FANOUT_RETRY_MS = 5_000;

/**
 * Pushes stored messages to every member's user object. One round at a time, in seq order;
 * messages stored while a round is in flight go out in the next round as one batch.
 *
 * The conversation writes nothing per member, and nothing per round: it keeps `deliveredUpTo`, the
 * point up to which every member's user object has the messages, in memory, and the next send's
 * transaction (or the alarm) persists it as `fanout_seq`. After a crash fan-out resumes from the
 * persisted point; user objects drop anything they already have, so a repeat is harmless.
 */
export class Fanout {
  private running = false;
  private readonly origins = new Map<number, string>();
  deliveredUpTo: number;

  constructor(
    private readonly store: ConversationStore,
    private readonly env: Env,
    private readonly scheduleRetry: () => Promise<void>,
  ) {
    this.deliveredUpTo = store.fanoutSeq;
  }

  get behind(): boolean {
    return this.deliveredUpTo < this.store.lastSeq;
  }

  noteOrigin(seq: number, deviceId: string | undefined) {
    if (deviceId) this.origins.set(seq, deviceId);
  }

  /** Starts a round if none is running; never waits for delivery. */
  kick(): Promise<void> {
    if (this.running) return Promise.resolve();
    return this.run();
  }

  private async run() {
    this.running = true;
    try {
      while (this.behind) {
        const messages = this.store.messagesAfter(this.deliveredUpTo, FANOUT_BATCH);
        if (messages.length === 0) break;
        const batch: DeliveryBatch = {
          conversation_id: this.store.conversationId,
          messages: messages.map((m) => ({
            seq: m.seq,
            sender_id: m.sender_id,
            timestamp: m.timestamp,
            frame: JSON.stringify({ type: "new_message", ...m }),
            origin_device: this.origins.get(m.seq),
          })),
        };
        const recipients = this.store.memberIds();
        const results = await Promise.allSettled(recipients.map((id) => userStub(this.env, id).deliver(batch)));
        const failed = results.flatMap((r, i) => (r.status === "rejected" ? [{ user: recipients[i], error: String(r.reason) }] : []));
        if (failed.length > 0) {
          console.error(JSON.stringify({ level: "warn", msg: "fanout failed; will retry", conversation: batch.conversation_id, failed: failed.slice(0, 5) }));
          await this.scheduleRetry();
          return;
        }
        this.deliveredUpTo = messages[messages.length - 1]!.seq;
        for (const m of messages) this.origins.delete(m.seq);
      }
    } finally {
      this.running = false;
    }
  }
}
