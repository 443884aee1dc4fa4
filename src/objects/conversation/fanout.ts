import { newMessageFrame } from "../sockets";
import type { Env } from "../../env";
import { log } from "../../lib/log";
import { CloseCode } from "../../protocol";
import type { ConversationHost } from "./conversation";
import { deliveredOf, type DeliveredMessage, type DeliveryReceipt, type Recipient } from "../delivery";
import { userHomeName, userHomeStub } from "../homes";
import { CURSOR_WRITE_DELAY_MS } from "../writeBehind";
import { FanoutLedger, type Target } from "./ledger";
import type { LiveSockets } from "./live";
import type { ConversationStore } from "./store";
import { placeholder, type WithheldRanges } from "./withheld";

/** Messages per delivery call: a burst is fanned out in a few calls, not one per message. */
const FANOUT_BATCH = 200;
/** How soon an interrupted fan-out is looked at again (via the object's alarm). */
export const FANOUT_RETRY_MS = 5_000;

/**
 * How many user objects are called at once (FANOUT_CONCURRENCY; default: all). On Cloudflare user
 * objects run in parallel, so all at once is fastest. With one object per user on one local thread,
 * 500 calls issued together would queue every other event behind the whole round.
 */
export function parseFanoutConcurrency(raw: string | undefined): number {
  const n = Number(raw);
  return Number.isInteger(n) && n > 0 ? n : Number.POSITIVE_INFINITY;
}

/**
 * Pushes stored messages to the members: first to the live sockets open on this conversation (one
 * `ws.send` each, no object call), then to the user objects that hold the members — one call per
 * user object (`USER_SHARDS`), naming which of its users get which messages. Each user object is a
 * target in the fan-out ledger with its own progress: one that is slow or failing is retried alone,
 * with backoff, and never holds the others back. Messages stored while a call is in flight go to
 * that target in its next call, as one batch.
 *
 * User objects hold their inbox writes for up to a second (one commit per delivery was most of
 * fan-out's cost), and each reply says how far their writes go; a confirmation pass after a burst
 * asks the stragglers to write now, and hands again what one of them lost in a restart.
 */
export class Fanout {
  readonly ledger: FanoutLedger;
  private readonly origins = new Map<number, string>();
  /** Recent batches, by the seq they follow: targets at the same point share one encoding. */
  private readonly batches = new Map<number, DeliveredMessage[]>();
  private readonly pumps = new Set<Promise<void>>();
  private active = 0;
  private grouped: { version: number; homes: Map<string, Recipient[]> } | null = null;
  private confirmTimer: ReturnType<typeof setTimeout> | null = null;
  /** Live sockets have everything up to here. After a restart they resume from the persisted point. */
  private livePushedUpTo: number;
  private readonly env: Env;
  private readonly concurrency: number;

  constructor(
    /** The object's parts: its fan-out alarm task (retries, the safety net) and the post to user objects. */
    private readonly host: ConversationHost,
    private readonly store: ConversationStore,
    private readonly live: LiveSockets,
    /** Blocks in a direct chat: who gets a message's placeholder instead of it. */
    private readonly withheld: WithheldRanges,
  ) {
    this.env = host.env;
    this.concurrency = host.fanoutConcurrency;
    this.ledger = new FanoutLedger(store.fanoutSeq);
    this.livePushedUpTo = store.fanoutSeq;
  }

  /** Books this conversation's fan-out task for `at` (the earliest booking wins). */
  bookAlarm(at: number): void {
    this.host.tasks.fanout.book(at, this.store.conversationId);
  }

  /** Whether this conversation's fan-out task is booked. */
  get alarmBooked(): boolean {
    return this.host.tasks.fanout.booked(this.store.conversationId);
  }

  /** Each member's user object, with the member's visible range; departed members until pruned. */
  private homes(): Map<string, Recipient[]> {
    const version = this.store.membershipVersion;
    if (this.grouped?.version === version) return this.grouped.homes;
    const homes = new Map<string, Recipient[]>();
    for (const r of this.store.recipients(0, Number.MAX_SAFE_INTEGER)) {
      const home = userHomeName(this.env, r.user_id);
      const group = homes.get(home);
      if (group) group.push(r);
      else homes.set(home, [r]);
    }
    this.grouped = { version, homes };
    return homes;
  }

  get behind(): boolean {
    return this.ledger.behind(this.homes().keys(), this.store.lastSeq);
  }

  /** Some user object may not have written what it was handed yet. */
  get unconfirmed(): boolean {
    return this.ledger.unconfirmed(this.homes().keys());
  }

  /** Where every user object has written up to: persisted as `fanout_seq`, the archive's bound. */
  get confirmedUpTo(): number {
    return this.ledger.confirmedUpTo(this.homes().keys(), this.store.lastSeq);
  }

  noteOrigin(seq: number, deviceId: string | undefined) {
    if (deviceId) this.origins.set(seq, deviceId);
  }

  /**
   * Sends newly stored messages to the open live sockets at once, then starts a call to every user
   * object that is behind and not waiting out a failure. The promise settles when those calls have
   * caught up (or failed); senders never wait on it, the alarm does.
   */
  publish(now = Date.now()): Promise<void> {
    this.pushLive();
    const homes = this.homes();
    this.ledger.retain(new Set(homes.keys()));
    for (const home of homes.keys()) {
      if (this.active >= this.concurrency) break;
      const t = this.ledger.target(home);
      if (t.busy || t.sent >= this.store.lastSeq || t.retryAt > now) continue;
      this.startPump(t);
    }
    return Promise.all([...this.pumps]).then(() => {});
  }

  private startPump(t: Target) {
    t.busy = true;
    this.active++;
    const pump = this.pump(t).finally(() => {
      t.busy = false;
      this.active--;
      this.pumps.delete(pump);
      // A slot came free, or messages arrived meanwhile for a target that was busy.
      if (this.ledger.behind(this.homes().keys(), this.store.lastSeq)) void this.publish();
      else if (this.ledger.unconfirmed(this.homes().keys())) this.scheduleConfirm();
    });
    this.pumps.add(pump);
  }

  /** Hands one target everything it is missing, a batch per call, in seq order. */
  private async pump(t: Target): Promise<void> {
    while (t.sent < this.store.lastSeq) {
      const from = t.sent;
      const messages = this.batchAfter(from);
      if (messages.length === 0) return;
      const to = messages[messages.length - 1]!.seq;
      const theirs = (this.homes().get(t.home) ?? []).filter((r) => r.after < to && r.upTo > from);
      if (theirs.length === 0) {
        this.ledger.skip(t, to);
        continue;
      }
      try {
        const receipt: DeliveryReceipt = await this.host.post.deliver(t.home, { conversation_id: this.store.conversationId, messages, recipients: theirs });
        this.ledger.delivered(t, theirs, to, receipt);
      } catch (err) {
        const retryAt = this.ledger.failed(t, Date.now());
        log.warn("fanout: delivery failed; retrying that user object alone", { conversation_id: this.store.conversationId, home: t.home, failures: t.failures, error: err });
        this.bookAlarm(retryAt);
        return;
      }
      this.forget(this.ledger.confirmedUpTo(this.homes().keys(), this.store.lastSeq));
    }
  }

  /** A message was deleted for everyone: batches encoded before hold its text, and are encoded again. */
  forgetEncoded(): void {
    this.batches.clear();
  }

  /** The messages after `from` (up to a batch), encoded once for every target at that point. */
  private batchAfter(from: number): DeliveredMessage[] {
    const cached = this.batches.get(from);
    if (cached && cached[cached.length - 1]!.seq >= Math.min(this.store.lastSeq, from + FANOUT_BATCH)) return cached;
    const blocks = this.withheld.any ? this.withheld : null;
    const messages = this.store.messagesAfter(from, FANOUT_BATCH).map((m): DeliveredMessage => {
      const delivered = deliveredOf(m, this.origins.get(m.seq));
      const blocker = blocks?.withheldFrom(m);
      if (blocker) {
        delivered.withheld_from = blocker;
        delivered.withheld_frame = newMessageFrame(placeholder(m));
      }
      return delivered;
    });
    if (messages.length > 0) {
      if (this.batches.size >= 8) this.batches.delete(this.batches.keys().next().value!);
      this.batches.set(from, messages);
    }
    return messages;
  }

  /** Drops what every target has written: encodings, origins, and departed members' rows. */
  private forget(confirmed: number) {
    for (const from of this.batches.keys()) if (from < confirmed) this.batches.delete(from);
    for (const seq of this.origins.keys()) if (seq <= confirmed) this.origins.delete(seq);
    this.store.pruneDeparted(confirmed);
  }

  /** Live sockets get new messages at once, each member only the part they may see. */
  private pushLive() {
    // The common case has no live socket open: nothing to read back, encode or push here.
    if (!this.live.any()) this.livePushedUpTo = this.store.lastSeq;
    while (this.livePushedUpTo < this.store.lastSeq) {
      const from = this.livePushedUpTo;
      const messages = this.batchAfter(from);
      if (messages.length === 0) break;
      const to = messages[messages.length - 1]!.seq;
      const recipients = this.store.recipients(from, to);
      const ranges = new Map(recipients.map((r) => [r.user_id, r]));
      this.live.push(messages, (userId) => ranges.get(userId) ?? null);
      for (const r of recipients) {
        if (r.upTo <= to) this.live.closeUser(r.user_id, CloseCode.revoked, "you are no longer a member");
      }
      this.livePushedUpTo = to;
    }
  }

  /**
   * Asks every user object handed messages past what it has confirmed how far it has written them
   * (the alarm: to write them now). One that has less than it was handed lost what it held: it is
   * handed those messages again. Run a moment after a burst, and by the alarm.
   */
  async confirm(writeNow = false): Promise<void> {
    if (this.confirmTimer !== null) {
      clearTimeout(this.confirmTimer);
      this.confirmTimer = null;
    }
    await Promise.all([...this.pumps]);
    const waiting = [...this.homes()].filter(([home]) => {
      const t = this.ledger.target(home);
      return !t.busy && t.confirmed < t.sent;
    });
    let lost = false;
    let held = false;
    await Promise.all(
      waiting.map(async ([home, recipients]) => {
        const t = this.ledger.target(home);
        const theirs = recipients.filter((r) => r.after < t.sent && r.upTo > t.confirmed);
        try {
          const answer = this.ledger.confirmed(t, theirs, await userHomeStub(this.env, home).confirmDelivered(this.store.conversationId, writeNow));
          if (answer === "lost") lost = true;
          if (answer === "held") held = true;
        } catch (err) {
          log.warn("fanout: confirmation failed", { conversation_id: this.store.conversationId, home, error: err });
        }
      }),
    );
    if (lost) {
      log.warn("fanout: a user object lost held writes; delivering again", { conversation_id: this.store.conversationId });
      await this.publish();
    }
    // Written within the second: asked again then.
    if (held) this.scheduleConfirm();
    this.forget(this.confirmedUpTo);
  }

  private scheduleConfirm() {
    // After the members' held writes are due, so the pass finds them written and costs one call each.
    this.confirmTimer ??= setTimeout(() => {
      this.confirmTimer = null;
      this.confirm().catch((error: unknown) => log.error("fanout confirm failed", { conversation_id: this.store.conversationId, error }));
    }, CURSOR_WRITE_DELAY_MS + 250);
  }
}
