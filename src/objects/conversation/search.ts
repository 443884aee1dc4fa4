import { ClientContentType, Limits, type Message } from "../../protocol";

/**
 * Full-text search of a conversation's messages: SQLite FTS5 over `search_text` (migration 9).
 *
 * Each message people wrote has one entry, its text as it is now: written in the transaction that
 * stores the message, replaced in the one that stores an edit, removed in the one that stores a
 * delete for everyone. The entries outlive the hot rows, so archived history is found too; the
 * messages found are then read as they are now through the history machinery (conversation.ts).
 */

/** The text a message is found by, or null: a text message's text, a media caption. */
export function searchableText(m: Pick<Message, "content_type" | "content">): string | null {
  return ClientContentType.safeParse(m.content_type).success && m.content !== "" ? m.content : null;
}

/**
 * The FTS5 query for what a person typed: its words, each a quoted prefix term, all required. The
 * user's input never reaches FTS5 as query syntax (no operators, columns or NEAR): only letters and
 * digits survive, inside quotes. Null when nothing searchable is left.
 */
export function ftsQuery(typed: string): string | null {
  const words = typed.normalize("NFKC").match(/[\p{L}\p{N}]+/gu) ?? [];
  const terms = words.slice(0, Limits.searchTermsMax).map((w) => `"${w.replaceAll('"', '""')}"*`);
  return terms.length > 0 ? terms.join(" ") : null;
}

/** A match: a message of a conversation held by this object. */
export interface SearchHit {
  conversation_id: string;
  seq: number;
}

/** The search entries of one conversation. */
export class SearchIndex {
  constructor(
    private readonly sql: SqlStorage,
    private readonly conversationId: string,
  ) {}

  /** The message's text as it is now (a new message, or an edit's new text). */
  put(seq: number, text: string): void {
    this.sql.exec("INSERT OR REPLACE INTO search_text (conversation_id, seq, text) VALUES (?, ?, ?)", this.conversationId, seq, text);
  }

  /** A delete for everyone: the message is no longer found. */
  remove(seq: number): void {
    this.sql.exec("DELETE FROM search_text WHERE conversation_id = ? AND seq = ?", this.conversationId, seq);
  }

  /** Archived messages from before search existed, not yet indexed: up to this seq (0: none). */
  get unindexedUpTo(): number {
    return this.sql.exec<{ up_to: number }>("SELECT up_to FROM search_unindexed WHERE conversation_id = ?", this.conversationId).toArray()[0]?.up_to ?? 0;
  }

  /** Indexes archived messages (as they are now) owed since before search existed, and says so. */
  indexArchived(messages: Message[], done: boolean): void {
    for (const m of messages) {
      const text = m.deleted ? null : searchableText(m);
      if (text !== null) this.put(m.seq, text);
    }
    if (done) this.sql.exec("DELETE FROM search_unindexed WHERE conversation_id = ?", this.conversationId);
  }

  /** Seqs of matches after `floor` and before `before`, newest first. */
  find(query: string, floor: number, before: number, limit: number): number[] {
    return this.sql
      .exec<{ seq: number }>(
        `SELECT t.seq FROM search_index JOIN search_text t ON t.rowid = search_index.rowid
         WHERE search_index MATCH ? AND t.conversation_id = ? AND t.seq > ? AND t.seq < ?
         ORDER BY t.seq DESC LIMIT ?`,
        query,
        this.conversationId,
        floor,
        before,
        limit,
      )
      .toArray()
      .map((r) => r.seq);
  }
}

/**
 * Matches in many conversations of this object at once, each after its reader's floor (the seq they
 * joined at): one FTS5 query for a whole home. Newest stored first (rowid order), at most `limit`.
 */
export function findAcross(sql: SqlStorage, query: string, floors: Map<string, number>, limit: number): SearchHit[] {
  if (floors.size === 0) return [];
  return sql
    .exec<{ conversation_id: string; seq: number }>(
      `SELECT t.conversation_id, t.seq FROM search_index
         JOIN search_text t ON t.rowid = search_index.rowid
         JOIN json_each(?) f ON f.key = t.conversation_id
       WHERE search_index MATCH ? AND t.seq > f.value
       ORDER BY search_index.rowid DESC LIMIT ?`,
      JSON.stringify(Object.fromEntries(floors)),
      query,
      limit,
    )
    .toArray();
}
