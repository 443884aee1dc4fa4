import { isAction, type Message } from "../protocol/models";
import { foldActions, quoteDeleted } from "./fold";

export type AddOutcome =
  /** New to this timeline. */
  | { kind: "added" }
  /** Already held (a replay, the second socket, an overlapping history page): dropped. */
  | { kind: "duplicate" }
  /** New, but seq jumped past a hole: ask `sync` with `after_seq` to fill it. */
  | { kind: "gap"; afterSeq: number };

/**
 * One conversation's rows on this device, ordered by seq, each held once: its messages and the
 * actions (edit, reaction, delete) on them.
 *
 * `contiguousSeq` is the delivery cursor this device may acknowledge: the highest seq below which
 * nothing is missing, counted from the first row this device learned about (older history is
 * fetched on demand and does not count). A row beyond `contiguousSeq + 1` means a gap. Action rows
 * count like messages here: they are rows of the sequence.
 *
 * `messages()` are the messages as they are now: each copy as the server gave it (already folded up
 * to its `state_seq`), with the action rows held for it that are newer folded in, whatever order
 * they arrived in. An action whose message is not held waits for it (a page of older history).
 */
export class ConversationTimeline {
  private readonly bySeq = new Map<number, Message>();
  private readonly seqById = new Map<string, number>();
  /** Action rows held, by the seq of the message they change. */
  private readonly actionsOn = new Map<number, Message[]>();
  /**
   * The messages as they are now, kept up to date row by row (never rebuilt whole: a device holding
   * thousands of messages gets each new one in constant time), and their seqs in order.
   */
  private readonly folded = new Map<number, Message>();
  private readonly order: number[] = [];
  private list: Message[] | null = null;
  private top: number | null = null;
  private oldest: number | null = null;

  get contiguousSeq(): number | null {
    return this.top;
  }

  /** Rows held, actions included. */
  get size(): number {
    return this.bySeq.size;
  }

  has(seq: number): boolean {
    return this.bySeq.has(seq);
  }

  /** The row at `seq`: a message as it is now, or an action row. */
  get(seq: number): Message | undefined {
    const row = this.bySeq.get(seq);
    if (!row || isAction(row)) return row;
    return this.folded.get(seq);
  }

  /** A message as it is now, by id. */
  find(serverMsgId: string): Message | undefined {
    const seq = this.seqById.get(serverMsgId);
    return seq === undefined ? undefined : this.get(seq);
  }

  /** Messages (not action rows) as they are now, in seq order. */
  messages(): Message[] {
    this.list ??= this.order.map((seq) => this.folded.get(seq)!);
    return this.list;
  }

  /** The oldest seq held (message or action): where the next page of older history ends. */
  oldestSeq(): number | null {
    return this.oldest;
  }

  newest(): Message | undefined {
    const all = this.messages();
    return all[all.length - 1];
  }

  /**
   * Records that every row up to `seq` is accounted for elsewhere (the newest page of history,
   * or the conversation list's last message), so a later `seq + 1` is not a gap.
   */
  anchor(seq: number): void {
    if (this.top === null || seq > this.top) {
      this.top = seq;
      this.advance();
    }
  }

  add(message: Message): AddOutcome {
    if (this.bySeq.has(message.seq)) return { kind: "duplicate" };
    this.hold(message);
    if (this.top === null) {
      this.top = message.seq;
      this.advance();
      return { kind: "added" };
    }
    if (message.seq <= this.top) return { kind: "added" };
    if (message.seq === this.top + 1) {
      this.advance();
      return { kind: "added" };
    }
    return { kind: "gap", afterSeq: this.top };
  }

  /**
   * Adds a page of history (ascending, contiguous as the server sends it); returns how many rows were
   * new. A message held already is replaced by the page's copy when that copy has more actions
   * folded in (a later `state_seq`).
   */
  addPage(page: Message[], newest: boolean): number {
    let added = 0;
    for (const m of page) {
      const held = this.bySeq.get(m.seq);
      if (!held) {
        this.hold(m);
        added++;
      } else if (!isAction(m) && (m.state_seq ?? 0) > (held.state_seq ?? 0)) {
        this.bySeq.set(m.seq, m);
        this.refold(m.seq);
      }
    }
    // The newest page holds everything up to its last row; anchor there so live rows continue it.
    const last = page[page.length - 1];
    if (newest && last) this.anchor(last.seq);
    else this.advance();
    return added;
  }

  private hold(message: Message): void {
    this.bySeq.set(message.seq, message);
    if (this.oldest === null || message.seq < this.oldest) this.oldest = message.seq;
    if (isAction(message)) {
      if (!message.target) return;
      const on = this.actionsOn.get(message.target.seq);
      if (on) on.push(message);
      else this.actionsOn.set(message.target.seq, [message]);
      if (this.folded.has(message.target.seq)) this.refold(message.target.seq);
      return;
    }
    this.seqById.set(message.server_msg_id, message.seq);
    const last = this.order[this.order.length - 1];
    if (last === undefined || message.seq > last) this.order.push(message.seq);
    else this.order.splice(this.insertionPoint(message.seq), 0, message.seq);
    this.refold(message.seq);
  }

  /** Message `seq` as it is now: its held copy with the newer actions held for it folded in. */
  private refold(seq: number): void {
    const row = this.bySeq.get(seq)!;
    const actions = this.actionsOn.get(seq);
    let m = actions ? foldActions(row, actions) : row;
    if (m.reply_to && !m.reply_to.deleted && this.folded.get(m.reply_to.seq)?.deleted) m = quoteDeleted(m);
    this.folded.set(seq, m);
    this.list = null;
    // Deleted for everyone: replies held that quote it show the quote deleted (rare: a scan is fine).
    if (m.deleted) {
      for (const [replySeq, reply] of this.folded) {
        if (reply.reply_to?.seq === seq && !reply.reply_to.deleted) this.folded.set(replySeq, quoteDeleted(reply));
      }
    }
  }

  /** Where `seq` goes in `order` (binary search). */
  private insertionPoint(seq: number): number {
    let [low, high] = [0, this.order.length];
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.order[mid]! < seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private advance(): void {
    if (this.top === null) return;
    while (this.bySeq.has(this.top + 1)) this.top++;
  }
}
