import type { DeliveryReceipt, Recipient } from "../delivery";

/** The first retry of a failing user object comes after this long, doubling up to the cap. */
export const FANOUT_BACKOFF_MS = 1_000;
export const FANOUT_BACKOFF_CAP_MS = 60_000;

/**
 * How far fan-out has got with one user object (a *target*: the home of some of the members).
 * `sent`: every message up to here was handed to it (its devices have them live). `confirmed`: up
 * to here it has them written. A target that fails is retried on its own, with backoff; the others
 * carry on.
 */
export interface Target {
  readonly home: string;
  sent: number;
  confirmed: number;
  /** A call to it is in flight: one at a time per target keeps its deliveries in seq order. */
  busy: boolean;
  failures: number;
  /** Not before this time (after a failure); 0 when healthy. */
  retryAt: number;
}

/**
 * The fan-out ledger: per-target progress, and the one point that is persisted. The conversation
 * writes nothing per target or per round: `confirmedUpTo` (the least any target has written) goes
 * to storage as `fanout_seq` with the next send's transaction or the alarm, and after a restart
 * every target starts from it again (user objects drop by seq what they already have).
 */
export class FanoutLedger {
  private readonly targets = new Map<string, Target>();

  constructor(private readonly persisted: number) {}

  /** A target's progress; a new one starts where the persisted point says everyone was. */
  target(home: string): Target {
    let t = this.targets.get(home);
    if (!t) {
      t = { home, sent: this.persisted, confirmed: this.persisted, busy: false, failures: 0, retryAt: 0 };
      this.targets.set(home, t);
    }
    return t;
  }

  /** Targets no member lives in any more are forgotten. */
  retain(homes: ReadonlySet<string>): void {
    for (const home of this.targets.keys()) if (!homes.has(home)) this.targets.delete(home);
  }

  /** The least point every target in `homes` has written: safe to persist and to archive up to. */
  confirmedUpTo(homes: Iterable<string>, lastSeq: number): number {
    let least = lastSeq;
    for (const home of homes) least = Math.min(least, this.target(home).confirmed);
    return least;
  }

  /** Whether any target in `homes` has not been handed everything up to `lastSeq`. */
  behind(homes: Iterable<string>, lastSeq: number): boolean {
    for (const home of homes) if (this.target(home).sent < lastSeq) return true;
    return false;
  }

  unconfirmed(homes: Iterable<string>): boolean {
    for (const home of homes) {
      const t = this.target(home);
      if (t.confirmed < t.sent) return true;
    }
    return false;
  }

  /** When the next failed target may be tried again, if any is waiting. */
  nextRetryAt(): number | null {
    let next: number | null = null;
    for (const t of this.targets.values()) if (t.retryAt > 0) next = next === null ? t.retryAt : Math.min(next, t.retryAt);
    return next;
  }

  /** A range the target has no recipient in: nothing to hand over, nothing to wait for. */
  skip(t: Target, to: number): void {
    t.sent = Math.max(t.sent, to);
    t.confirmed = Math.max(t.confirmed, to);
  }

  /** The target took everything up to `to`; its receipt says how far it has written. */
  delivered(t: Target, recipients: Recipient[], to: number, receipt: DeliveryReceipt): void {
    t.sent = Math.max(t.sent, to);
    t.failures = 0;
    t.retryAt = 0;
    t.confirmed = Math.max(t.confirmed, writtenPoint(recipients, receipt, to));
  }

  /** The target failed: it alone waits, longer after each failure in a row. */
  failed(t: Target, now: number): number {
    t.failures += 1;
    t.retryAt = now + Math.min(FANOUT_BACKOFF_CAP_MS, FANOUT_BACKOFF_MS * 2 ** (t.failures - 1));
    return t.retryAt;
  }

  /**
   * The target answered a confirmation: how far its writes go ("written"), or that it still holds
   * the rest to write ("held"). If what it has falls short of what it was handed, it lost what it
   * held (it restarted) and is handed those messages again ("lost").
   */
  confirmed(t: Target, recipients: Recipient[], receipt: DeliveryReceipt): "written" | "held" | "lost" {
    t.confirmed = Math.max(t.confirmed, writtenPoint(recipients, receipt, t.sent));
    if (t.confirmed >= t.sent) return "written";
    if (writtenPoint(recipients, { written_seq: receipt.held_seq, held_seq: receipt.held_seq }, t.sent) >= t.sent) return "held";
    t.sent = t.confirmed;
    return "lost";
  }
}

/**
 * How far a target has written, up to `to`, by its receipt: every recipient there must have it,
 * except the part of the range outside what they may see (joined later, or left before).
 */
function writtenPoint(recipients: Recipient[], receipt: DeliveryReceipt, to: number): number {
  const written = receipt.written_seq;
  if (written === null) return to; // none of them has the conversation (they left): nothing to wait for
  let point = to;
  for (const r of recipients) {
    if (written >= Math.min(to, r.upTo)) continue;
    point = Math.min(point, Math.max(written, r.after));
  }
  return point;
}
