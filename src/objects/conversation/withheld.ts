import type { Message, SystemEvent } from "../../protocol";

/** One block in a direct chat: `user_id` does not get `blocked_id`'s messages with seq in [from_seq, to_seq]. */
type Range = { user_id: string; blocked_id: string; from_seq: number; to_seq: number | null };

/**
 * Blocks in a direct chat, as the conversation applies them: a blocked member's messages are stored
 * and acked as usual (to them nothing changes: their messages stay at "sent"), but the member who
 * blocked them gets, in their place, a `withheld` system message with nothing of the original: its
 * seq keeps that member's sequence without holes, so their devices acknowledge later messages as
 * usual. Unblocking ends the range; messages sent while blocked stay withheld.
 */
export class WithheldRanges {
  private ranges: Range[] | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly conversationId: string,
  ) {}

  private get sql() {
    return this.storage.sql;
  }

  private all(): Range[] {
    this.ranges ??= this.sql
      .exec<Range>("SELECT user_id, blocked_id, from_seq, to_seq FROM withheld WHERE conversation_id = ?", this.conversationId)
      .toArray();
    return this.ranges;
  }

  get any(): boolean {
    return this.all().length > 0;
  }

  /** Who does not get this message (the member who blocked its sender when it was sent), if anyone. */
  withheldFrom(m: { seq: number; sender_id: string }): string | null {
    for (const r of this.all()) {
      if (r.blocked_id === m.sender_id && m.seq >= r.from_seq && (r.to_seq === null || m.seq <= r.to_seq)) return r.user_id;
    }
    return null;
  }

  /** Whether `userId` blocks `otherId` now. */
  blocking(userId: string, otherId: string): boolean {
    return this.all().some((r) => r.user_id === userId && r.blocked_id === otherId && r.to_seq === null);
  }

  /** Starts (from the next seq) or ends (at the current one) `userId`'s block of `otherId`. */
  set(userId: string, otherId: string, blocked: boolean, lastSeq: number): void {
    if (blocked === this.blocking(userId, otherId)) return;
    if (blocked) {
      this.sql.exec(
        "INSERT OR REPLACE INTO withheld (conversation_id, user_id, blocked_id, from_seq, to_seq) VALUES (?, ?, ?, ?, NULL)",
        this.conversationId,
        userId,
        otherId,
        lastSeq + 1,
      );
    } else {
      this.sql.exec(
        "UPDATE withheld SET to_seq = ? WHERE conversation_id = ? AND user_id = ? AND blocked_id = ? AND to_seq IS NULL",
        lastSeq,
        this.conversationId,
        userId,
        otherId,
      );
    }
    this.ranges = null;
  }

  /** The message as `readerId` may see it: itself, or its withheld placeholder. */
  view(m: Message, readerId: string): Message {
    return this.withheldFrom(m) === readerId ? placeholder(m) : m;
  }
}

/** What the member who blocked the sender gets in a message's place. */
export function placeholder(m: Message): Message {
  const event: SystemEvent = { event: "withheld", actor: m.sender_id };
  return {
    conversation_id: m.conversation_id,
    server_msg_id: m.server_msg_id,
    seq: m.seq,
    sender_id: m.sender_id,
    content: JSON.stringify(event),
    content_type: "system",
    timestamp: m.timestamp,
  };
}
