import type { Message } from "../protocol/models";

export type AddOutcome =
  /** New to this timeline. */
  | { kind: "added" }
  /** Already held (a replay, the second socket, an overlapping history page): dropped. */
  | { kind: "duplicate" }
  /** New, but seq jumped past a hole: ask `sync` with `after_seq` to fill it. */
  | { kind: "gap"; afterSeq: number };

/**
 * One conversation's messages on this device, ordered by seq, each held once.
 *
 * `contiguousSeq` is the delivery cursor this device may acknowledge: the highest seq below which
 * nothing is missing, counted from the first message this device learned about (older history is
 * fetched on demand and does not count). A message beyond `contiguousSeq + 1` means a gap.
 */
export class ConversationTimeline {
  private readonly bySeq = new Map<number, Message>();
  private sorted: Message[] | null = [];
  private top: number | null = null;

  get contiguousSeq(): number | null {
    return this.top;
  }

  get size(): number {
    return this.bySeq.size;
  }

  has(seq: number): boolean {
    return this.bySeq.has(seq);
  }

  get(seq: number): Message | undefined {
    return this.bySeq.get(seq);
  }

  /** Messages in seq order. */
  messages(): Message[] {
    this.sorted ??= [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
    return this.sorted;
  }

  oldestSeq(): number | null {
    return this.messages()[0]?.seq ?? null;
  }

  newest(): Message | undefined {
    const all = this.messages();
    return all[all.length - 1];
  }

  /**
   * Records that every message up to `seq` is accounted for elsewhere (the newest page of history,
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
    this.bySeq.set(message.seq, message);
    this.sorted = null;
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

  /** Adds a page of history (ascending, contiguous as the server sends it); returns how many were new. */
  addPage(page: Message[], newest: boolean): number {
    let added = 0;
    for (const m of page) {
      if (!this.bySeq.has(m.seq)) {
        this.bySeq.set(m.seq, m);
        added++;
      }
    }
    if (added) this.sorted = null;
    // The newest page holds everything up to its last message; anchor there so live messages continue it.
    const last = page[page.length - 1];
    if (newest && last) this.anchor(last.seq);
    else this.advance();
    return added;
  }

  private advance(): void {
    if (this.top === null) return;
    while (this.bySeq.has(this.top + 1)) this.top++;
  }
}
