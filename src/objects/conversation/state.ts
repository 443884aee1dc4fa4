import type { Message } from "../../protocol";

/**
 * What actions did to a message, folded: the latest text of its edits, its deletion, its reactions,
 * who played it (voice messages).
 * Kept apart from the message's row (`message_state`), so a message is written once and history of
 * any age — hot rows or R2 segments — is shown as it is now by folding the state over it.
 *
 * Every field is a "set", never an increment: folding a state twice, or over a segment that already
 * holds part of it, gives the same message. That is what lets the archive fold states into segments
 * while actions keep arriving (archive.ts).
 */
export interface MessageState {
  /** The latest text, and when it was edited. */
  content?: string;
  edited_at?: number;
  deleted?: true;
  /** Who deleted it, when not its sender (a group admin). */
  deleted_by?: string;
  /** Per person, their emoji; "" records a reaction taken back (it also clears an archived one). */
  reactions?: Record<string, string>;
  /** A voice message: who played it, each once (adding someone already there changes nothing). */
  played_by?: string[];
}

export interface StoredState {
  state: MessageState;
  /** The newest action folded into `state`. */
  state_seq: number;
}

/** The message as its actions left it (see `Message.state_seq`). */
export function foldState(message: Message, stored: StoredState): Message {
  const { state, state_seq } = stored;
  const out: Message = { ...message, state_seq: Math.max(message.state_seq ?? 0, state_seq) };
  if (state.deleted) {
    out.content = "";
    out.deleted = true;
    if (state.deleted_by && state.deleted_by !== message.sender_id) out.deleted_by = state.deleted_by;
    delete out.media;
    delete out.reply_to;
    delete out.mentions;
    delete out.reactions;
    delete out.edited_at;
    delete out.played_by;
    return out;
  }
  if (state.played_by) out.played_by = [...new Set([...(message.played_by ?? []), ...state.played_by])];
  if (state.content !== undefined) {
    out.content = state.content;
    if (state.edited_at !== undefined) out.edited_at = state.edited_at;
  }
  if (state.reactions) {
    const byUser = new Map((message.reactions ?? []).map((r) => [r.user_id, r.emoji] as const));
    for (const [userId, emoji] of Object.entries(state.reactions)) {
      if (emoji === "") byUser.delete(userId);
      else byUser.set(userId, emoji);
    }
    if (byUser.size > 0) out.reactions = [...byUser].map(([user_id, emoji]) => ({ user_id, emoji }));
    else delete out.reactions;
  }
  return out;
}

/** The `message_state` rows of one conversation. */
export class MessageStates {
  constructor(
    private readonly sql: SqlStorage,
    private readonly conversationId: string,
  ) {}

  get(seq: number): StoredState | null {
    const row = this.sql
      .exec<{ state: string; state_seq: number }>("SELECT state, state_seq FROM message_state WHERE conversation_id = ? AND seq = ?", this.conversationId, seq)
      .toArray()[0];
    return row ? { state: JSON.parse(row.state) as MessageState, state_seq: row.state_seq } : null;
  }

  /**
   * Records an action on message `seq` (call inside the action's transaction). `change` edits the
   * folded state in place.
   */
  record(seq: number, actionSeq: number, change: (state: MessageState) => void): void {
    const state = this.get(seq)?.state ?? {};
    change(state);
    this.sql.exec(
      `INSERT INTO message_state (conversation_id, seq, state, state_seq) VALUES (?, ?, ?, ?)
       ON CONFLICT (conversation_id, seq) DO UPDATE SET state = excluded.state, state_seq = excluded.state_seq`,
      this.conversationId,
      seq,
      JSON.stringify(state),
      actionSeq,
    );
  }

  /**
   * Messages as they are now: one range read over the page's seqs finds the states to fold. Pages
   * are contiguous runs of at most a few hundred seqs, so the range is the page's own.
   */
  apply(messages: Message[]): Message[] {
    if (messages.length === 0) return messages;
    let low = Infinity;
    let high = -Infinity;
    for (const m of messages) {
      if (m.seq < low) low = m.seq;
      if (m.seq > high) high = m.seq;
    }
    const states = new Map(
      this.sql
        .exec<{ seq: number; state: string; state_seq: number }>(
          "SELECT seq, state, state_seq FROM message_state WHERE conversation_id = ? AND seq >= ? AND seq <= ?",
          this.conversationId,
          low,
          high,
        )
        .toArray()
        .map((r) => [r.seq, { state: JSON.parse(r.state) as MessageState, state_seq: r.state_seq }] as const),
    );
    if (states.size === 0) return messages;
    return messages.map((m) => {
      const s = states.get(m.seq);
      return s ? foldState(m, s) : m;
    });
  }

  /**
   * After the archive stored seqs `first..last` with their states folded in (as of `foldedThrough`):
   * those rows go, except any an action changed since (folding it again over the segment is harmless).
   */
  forgetArchived(first: number, last: number, foldedThrough: number): void {
    this.sql.exec(
      "DELETE FROM message_state WHERE conversation_id = ? AND seq >= ? AND seq <= ? AND state_seq <= ?",
      this.conversationId,
      first,
      last,
      foldedThrough,
    );
  }
}
