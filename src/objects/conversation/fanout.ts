import { userStub, type Env } from "../../env";
import { settleInWindow } from "../../lib/settle";
import type { DeliveryBatch, DeliveryReceipt } from "../delivery";
import { CURSOR_WRITE_DELAY_MS } from "../writeBehind";
import { CloseCode } from "../../protocol";
import type { LiveSockets } from "./live";
import type { ConversationStore } from "./store";

/** Messages per delivery call: a burst is fanned out in a few calls, not one per message. */
const FANOUT_BATCH = 200;
/** How soon a failed or interrupted fan-out is tried again (via the object's alarm). */
export const FANOUT_RETRY_MS = 5_000;

/**
 * How many delivery calls of a round are in flight at once (FANOUT_CONCURRENCY; default: all).
 * On Cloudflare members' user objects run in parallel, so all at once is fastest. Local workerd
 * runs every object on one thread: 500 calls issued together queue every other event, including
 * the next send and its live push, behind the whole round; a window keeps that wait short.
 */
export function parseFanoutConcurrency(raw: string | undefined): number {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : Number.POSITIVE_INFINITY;
}

/**
 * Pushes stored messages to every member's user object. One round at a time, in seq order;
 * messages stored while a round is in flight go out in the next round as one batch.
 *
 * Two points: `deliveredUpTo`, up to which every member's user object has been handed the messages
 * (and pushed them to its devices), and `confirmedUpTo`, up to which every one has them written.
 * User objects hold inbox writes for up to a second (one commit per delivery was most of fan-out's
 * cost), and each reply says how far their writes go; a confirmation pass after a burst asks the
 * stragglers to write now. If a member's object lost what it held (it restarted), fan-out goes
 * again from `confirmedUpTo`; user objects drop what they already have, so repeats are harmless.
 * The conversation writes nothing per member: the next send's transaction (or the alarm) persists
 * `confirmedUpTo` as `fanout_seq`, where fan-out resumes after a crash.
 */
export class Fanout {
  private running: Promise<void> | null = null;
  private readonly origins = new Map<number, string>();
  /** Frames encoded for the live sockets, reused by the user-object round that follows. */
  private readonly encoded = new Map<number, string>();
  deliveredUpTo: number;
  confirmedUpTo: number;
  private confirmTimer: ReturnType<typeof setTimeout> | null = null;
  /** Live sockets have everything up to here. After a restart they resume from the persisted point. */
  private livePushedUpTo: number;

  constructor(
    private readonly store: ConversationStore,
    private readonly env: Env,
    private readonly live: LiveSockets,
    private readonly scheduleRetry: () => Promise<void>,
    private readonly concurrency = Number.POSITIVE_INFINITY,
  ) {
    this.deliveredUpTo = store.fanoutSeq;
    this.confirmedUpTo = store.fanoutSeq;
    this.livePushedUpTo = store.fanoutSeq;
  }

  /**
   * Sends newly stored messages to the open live sockets at once — one ws.send each, no object
   * call, not queued behind a round of user-object calls — then makes sure a round runs.
   */
  publish(): Promise<void> {
    // The common case has no live socket open: nothing to read back, encode or push here.
    if (!this.live.any()) this.livePushedUpTo = this.store.lastSeq;
    while (this.livePushedUpTo < this.store.lastSeq) {
      const messages = this.store.messagesAfter(this.livePushedUpTo, FANOUT_BATCH);
      if (messages.length === 0) break;
      const from = this.livePushedUpTo;
      const to = messages[messages.length - 1]!.seq;
      const frames = messages.map((m) => {
        const frame = JSON.stringify({ type: "new_message", ...m });
        this.encoded.set(m.seq, frame);
        return { seq: m.seq, frame, origin_device: this.origins.get(m.seq) };
      });
      const recipients = this.store.recipients(from, to);
      const ranges = new Map(recipients.map((r) => [r.user_id, r]));
      this.live.push(frames, (userId) => ranges.get(userId) ?? null);
      for (const r of recipients) {
        if (r.upTo <= to) this.live.closeUser(r.user_id, CloseCode.revoked, "you are no longer a member");
      }
      this.livePushedUpTo = to;
    }
    return this.kick();
  }

  get behind(): boolean {
    return this.deliveredUpTo < this.store.lastSeq;
  }

  /** Some member may not have written what it was handed yet. */
  get unconfirmed(): boolean {
    return this.confirmedUpTo < this.deliveredUpTo;
  }

  /**
   * Asks every member handed messages past `confirmedUpTo` to write them now, and moves
   * `confirmedUpTo` as far as every answer allows. A member that answers short lost what it held:
   * fan-out goes again from there. Run a moment after a burst, and by the alarm.
   */
  async confirm(): Promise<void> {
    if (this.confirmTimer !== null) {
      clearTimeout(this.confirmTimer);
      this.confirmTimer = null;
    }
    await this.running;
    const from = this.confirmedUpTo;
    const to = this.deliveredUpTo;
    if (from >= to) return;
    const recipients = this.store.recipients(from, to);
    const results = await settleInWindow(recipients, this.concurrency, (r) =>
      userStub(this.env, r.user_id).confirmDelivered(this.store.conversationId),
    );
    const confirmed = this.confirmedBy(recipients, results, from, to);
    this.confirmedUpTo = Math.max(this.confirmedUpTo, confirmed);
    if (this.confirmedUpTo < to) {
      console.error(JSON.stringify({ level: "warn", msg: "fanout: a member lost held writes; delivering again", conversation: this.store.conversationId, from: this.confirmedUpTo, to }));
      this.deliveredUpTo = Math.min(this.deliveredUpTo, this.confirmedUpTo);
      await this.kick();
    }
  }

  /** How far every member in `recipients` has (from, to] written, by their answers. */
  private confirmedBy(
    recipients: { user_id: string; after: number; upTo: number }[],
    results: PromiseSettledResult<DeliveryReceipt>[],
    from: number,
    to: number,
  ): number {
    let confirmed = to;
    results.forEach((r, i) => {
      const member = recipients[i]!;
      if (r.status === "rejected") {
        confirmed = Math.min(confirmed, from);
        return;
      }
      const written = r.value.written_seq;
      if (written === null) return; // not in their inbox (left, or never a member): nothing to wait for
      if (written >= Math.min(to, member.upTo)) return;
      confirmed = Math.min(confirmed, Math.max(written, member.after));
    });
    return confirmed;
  }

  private scheduleConfirm() {
    // After the members' held writes are due, so the pass finds them written and costs one call each.
    this.confirmTimer ??= setTimeout(() => {
      this.confirmTimer = null;
      this.confirm().catch((err: unknown) => console.error(JSON.stringify({ level: "error", msg: "fanout confirm failed", error: String(err) })));
    }, CURSOR_WRITE_DELAY_MS + 250);
  }

  noteOrigin(seq: number, deviceId: string | undefined) {
    if (deviceId) this.origins.set(seq, deviceId);
  }

  /**
   * Starts fan-out if none is running. The promise settles when fan-out has caught up (or failed
   * and scheduled a retry); senders never wait on it, the alarm does.
   */
  kick(): Promise<void> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run() {
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
            frame: this.encoded.get(m.seq) ?? JSON.stringify({ type: "new_message", ...m }),
            origin_device: this.origins.get(m.seq),
            system: m.content_type === "system" ? m.content : undefined,
          })),
        };
        const from = this.deliveredUpTo;
        const to = messages[messages.length - 1]!.seq;
        const recipients = this.store.recipients(from, to);
        // Everyone gets the same batch object, except members who joined or left inside it.
        const deliveries = recipients.flatMap((r) => {
          const whole = r.after <= from && r.upTo >= to;
          const part = whole ? batch : { ...batch, messages: batch.messages.filter((m) => m.seq > r.after && m.seq <= r.upTo) };
          return part.messages.length > 0 ? [{ user: r.user_id, part }] : [];
        });
        const results = await settleInWindow(deliveries, this.concurrency, (d) => userStub(this.env, d.user).deliver(d.part));
        const failed = results.flatMap((r, i) => (r.status === "rejected" ? [{ user: deliveries[i]!.user, error: String(r.reason) }] : []));
        if (failed.length > 0) {
          console.error(JSON.stringify({ level: "warn", msg: "fanout failed; will retry", conversation: batch.conversation_id, failed: failed.slice(0, 5) }));
          await this.scheduleRetry();
          return;
        }
        this.deliveredUpTo = to;
        // Replies also tell how far each member has written: usually up to the previous round.
        const handed = new Set(deliveries.map((d) => d.user));
        const answered = recipients.filter((r) => handed.has(r.user_id));
        const byUser = new Map(deliveries.map((d, i) => [d.user, results[i]!] as const));
        const confirmed = this.confirmedBy(answered, answered.map((r) => byUser.get(r.user_id)!), from, to);
        this.confirmedUpTo = Math.max(this.confirmedUpTo, confirmed);
        for (const m of messages) {
          this.origins.delete(m.seq);
          this.encoded.delete(m.seq);
        }
        this.store.pruneDeparted(this.confirmedUpTo);
      }
      if (this.unconfirmed) this.scheduleConfirm();
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "fanout round failed", error: String(err) }));
      await this.scheduleRetry();
    }
  }
}
