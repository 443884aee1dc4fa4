import type { Env } from "../../env";
import { count } from "../../lib/metrics";
import { ok, type Result } from "../../lib/result";
import { checkOutgoing, type MediaRef, type MessageAck, type Outgoing, type ProtocolError } from "../../protocol";
import type { Fanout } from "./fanout";
import { grant } from "../../media/records";
import { isMediaRef, resolveMedia } from "./media";
import { memberRefusal } from "./membership";
import type { ConversationStore } from "./store";

export type SendOutcome = { ok: true; ack: MessageAck } | { ok: false; client_msg_id: string; error: ProtocolError };

/** Told after messages were stored: fan-out starts, the alarm tasks are booked. */
export interface Appended {
  appended(): void;
}

/**
 * The send path of a conversation: each batch of one sender's messages is stored in one
 * transaction, in order, with an outcome per message. A repeated (sender, client_msg_id) gets its
 * original ack and stores nothing. The acks leave only once the batch is durable (the output gate
 * holds them); fan-out starts afterwards and is never awaited here.
 */
export class SendPath {
  /** Per sender, the media send in flight: later batches of that sender wait behind it. */
  private readonly mediaSends = new Map<string, Promise<void>>();

  constructor(
    private readonly env: Env,
    private readonly store: ConversationStore,
    private readonly fanout: Fanout,
    private readonly conversation: Appended,
  ) {}

  send(senderId: string, messages: Outgoing[], originDevice?: string): Result<SendOutcome[]> | Promise<Result<SendOutcome[]>> {
    const denied = memberRefusal(this.store, senderId);
    if (denied) return denied;
    // Text is stored at once. Media sends read their upload records first (R2), so a sender's later
    // batches queue behind them: one sender's messages keep their send order.
    const ahead = this.mediaSends.get(senderId);
    if (!ahead && !messages.some((m) => m.media_id !== undefined)) return ok(this.storeBatch(senderId, messages, originDevice));
    const run = (ahead ?? Promise.resolve()).then(async (): Promise<Result<SendOutcome[]>> => {
      const media = await resolveMedia(this.env, senderId, this.store.conversationId, this.store.lastSeq, messages);
      const denied = memberRefusal(this.store, senderId);
      if (denied) return denied;
      const outcomes = this.storeBatch(senderId, messages, originDevice, media);
      // Each media's grant now names its message's own seq: a member who joined after it never gets it.
      await Promise.all(
        outcomes.map((o) => {
          const attached = o.ok ? media.get(o.ack.client_msg_id) : undefined;
          return o.ok && isMediaRef(attached) ? grant(this.env, attached.media_id, this.store.conversationId, o.ack.seq) : null;
        }),
      );
      return ok(outcomes);
    });
    const settled = run.then(
      () => {},
      () => {},
    );
    this.mediaSends.set(senderId, settled);
    void settled.then(() => {
      if (this.mediaSends.get(senderId) === settled) this.mediaSends.delete(senderId);
    });
    return run;
  }

  private storeBatch(
    senderId: string,
    messages: Outgoing[],
    originDevice: string | undefined,
    media = new Map<string, MediaRef | ProtocolError>(),
  ): SendOutcome[] {
    const now = Date.now();
    const before = this.store.lastSeq;
    const outcomes = this.store.transaction(() => {
      const results = messages.map((m): SendOutcome => {
        const refused = checkOutgoing(m);
        if (refused) return { ok: false, client_msg_id: m.client_msg_id, error: refused };
        const attached = media.get(m.client_msg_id);
        if (attached && !isMediaRef(attached)) {
          // A repeat of a message stored before still gets its ack, whatever its media says now.
          const existing = this.store.findBySenderKey(senderId, m.client_msg_id);
          return existing ? { ok: true, ack: existing } : { ok: false, client_msg_id: m.client_msg_id, error: attached };
        }
        const stored = this.store.appendOnce(senderId, { ...m, media: attached ?? null }, now);
        if (stored.fresh) this.fanout.noteOrigin(stored.seq, originDevice);
        return { ok: true, ack: this.store.ack(m.client_msg_id, stored) };
      });
      this.store.saveHead(this.fanout.confirmedUpTo);
      this.store.flushCursors(); // cursor moves written behind ride along in this commit

      return results;
    });
    count(this.env, "messages_stored", this.store.lastSeq - before);
    this.conversation.appended();
    return outcomes;
  }
}
