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
  private view: { messages: Message[]; bySeq: Map<number, Message> } | null = null;
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
    return this.current().bySeq.get(seq);
  }

  /** A message as it is now, by id. */
  find(serverMsgId: string): Message | undefined {
    const seq = this.seqById.get(serverMsgId);
    return seq === undefined ? undefined : this.get(seq);
  }

  /** Messages (not action rows) as they are now, in seq order. */
  messages(): Message[] {
    return this.current().messages;
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
        this.view = null;
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
      if (message.target) {
        const on = this.actionsOn.get(message.target.seq);
        if (on) on.push(message);
        else this.actionsOn.set(message.target.seq, [message]);
      }
    } else {
      this.seqById.set(message.server_msg_id, message.seq);
    }
    this.view = null;
  }

  /** The messages as they are now, folded once per change. */
  private current(): { messages: Message[]; bySeq: Map<number, Message> } {
    if (this.view) return this.view;
    const bySeq = new Map<number, Message>();
    const messages: Message[] = [];
    for (const row of [...this.bySeq.values()].sort((a, b) => a.seq - b.seq)) {
      if (isAction(row)) continue;
      const actions = this.actionsOn.get(row.seq);
      let m = actions ? foldActions(row, actions) : row;
      // Seq order: a quoted message (older) is folded before the reply that quotes it.
      if (m.reply_to && !m.reply_to.deleted && bySeq.get(m.reply_to.seq)?.deleted) m = quoteDeleted(m);
      bySeq.set(m.seq, m);
      messages.push(m);
    }
    this.view = { messages, bySeq };
    return this.view;
  }

  private advance(): void {
    if (this.top === null) return;
    while (this.bySeq.has(this.top + 1)) this.top++;
  }
}
