import { ClientContentType, Limits, type Message } from "../../protocol";
import type { HistoryArchive } from "./archive";
import { foldState, type MessageStates } from "./state";
import type { ConversationStore } from "./store";
import type { WithheldRanges } from "./withheld";

/**
 * Full-text search of a conversation's messages: SQLite FTS5 over `search_text` (migration 11).
 *
 * Each message people wrote has one entry, its text as it is now. The send path writes nothing for
 * search: the hot rows are taken in batches (`indexHot`) — when the conversation is quiet, before
 * the archive moves them to R2, and before a search reads — with their edits folded and deletions
 * left out, one FTS5 write per batch rather than a new index segment per commit. An edit or a
 * delete for everyone of a message already taken changes its entry in its own transaction. The
 * entries outlive the hot rows, so archived history is found too; what is found is read as it is
 * now through the history machinery.
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

  /** Hot rows up to this seq have been taken (later ones are taken by the next batch). */
  get indexedSeq(): number {
    return (
      this.sql.exec<{ s: number }>("SELECT indexed_seq AS s FROM search_progress WHERE conversation_id = ?", this.conversationId).toArray()[0]?.s ?? 0
    );
  }

  /** Takes the hot rows after the last batch, as they are now (`states` folded in), into the index. */
  indexHot(store: ConversationStore, states: MessageStates): void {
    const from = this.indexedSeq;
    if (store.lastSeq <= from) return;
    for (let after = from; ; ) {
      const rows = store.messagesAfter(after, 500);
      if (rows.length === 0) break;
      for (const m of states.apply(rows)) {
        const text = m.deleted ? null : searchableText(m);
        if (text !== null) this.put(m.seq, text);
      }
      after = rows[rows.length - 1]!.seq;
    }
    this.sql.exec(
      "INSERT INTO search_progress (conversation_id, indexed_seq) VALUES (?, ?) ON CONFLICT (conversation_id) DO UPDATE SET indexed_seq = excluded.indexed_seq",
      this.conversationId,
      store.lastSeq,
    );
  }

  /** An edit: a message already taken is found by its new text (a later one is taken as it is then). */
  edited(seq: number, text: string): void {
    if (seq <= this.indexedSeq) this.put(seq, text);
  }

  /** A delete for everyone: the message is no longer found. */
  remove(seq: number): void {
    this.sql.exec("DELETE FROM search_text WHERE conversation_id = ? AND seq = ?", this.conversationId, seq);
  }

  private put(seq: number, text: string): void {
    this.sql.exec("INSERT OR REPLACE INTO search_text (conversation_id, seq, text) VALUES (?, ?, ?)", this.conversationId, seq, text);
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
 * joined at): one FTS5 query for a whole home, newest written first (rowid order), at most `limit`.
 * Each conversation's hot rows are taken first (`ConversationSearch.prepare`).
 */
export function findAcross(sql: SqlStorage, query: string, floors: Map<string, number>, limit: number): SearchHit[] {
  if (floors.size === 0) return [];
  return sql
    .exec<{ conversation_id: string; seq: number }>(
      `SELECT t.conversation_id, t.seq FROM search_index
         JOIN search_text t ON t.rowid = search_index.rowid
         JOIN json_each(?) f ON f.key = t.conversation_id
       WHERE search_index MATCH ? AND t.seq > f.value
       ORDER BY t.rowid DESC LIMIT ?`,
      JSON.stringify(Object.fromEntries(floors)),
      query,
      limit,
    )
    .toArray();
}

/** A conversation's search: what it finds, read as the reader sees it now. */
export class ConversationSearch {
  readonly index: SearchIndex;

  constructor(
    sql: SqlStorage,
    private readonly store: ConversationStore,
    private readonly archive: HistoryArchive,
    private readonly states: MessageStates,
    private readonly withheld: WithheldRanges,
  ) {
    this.index = new SearchIndex(sql, store.conversationId);
  }

  /** Before a search reads the index: archived history owed since before search, then the hot rows. */
  async prepare(): Promise<void> {
    await this.indexArchived();
    this.indexHot();
  }

  /** Takes the hot rows after the last batch: when quiet, before archiving, before a search. */
  indexHot(): void {
    this.index.indexHot(this.store, this.states);
  }

  /** Matches `userId` (a member) can see, newest first, before `before`. */
  async find(userId: string, query: string, before: number, limit: number): Promise<{ messages: Message[]; has_more: boolean }> {
    await this.prepare();
    const floor = this.store.member(userId)?.joined_seq;
    if (floor === undefined) return { messages: [], has_more: false };
    const seqs = this.index.find(query, floor, before, limit + 1);
    return { messages: await this.read(userId, seqs.slice(0, limit)), has_more: seqs.length > limit };
  }

  /**
   * Messages by seq as `userId` sees them now (actions folded in): archived ones read first (again
   * if archiving moved more meanwhile), then all with no await between. Deleted ones, and a blocked
   * sender's withheld ones, are left out.
   */
  async read(userId: string, seqs: number[]): Promise<Message[]> {
    const archived = new Map<number, Message | null>();
    const owed = () => seqs.filter((s) => s <= this.archive.archivedUpTo && !archived.has(s));
    for (let some = owed(); some.length > 0; some = owed()) {
      for (const seq of some) archived.set(seq, await this.archive.messageAt(seq));
    }
    const member = this.store.member(userId);
    if (!member) return [];
    return seqs.flatMap((seq) => {
      const row = archived.has(seq) ? archived.get(seq)! : this.store.messageAt(seq);
      if (!row || row.seq <= member.joined_seq) return [];
      // One state each: the seqs found are scattered, not a page.
      const state = this.states.get(seq);
      const m = state ? foldState(row, state) : row;
      return m.deleted || (this.withheld.any && this.withheld.withheldFrom(m) === userId) ? [] : [m];
    });
  }

  /** Archived messages from before search existed are indexed on the conversation's first search. */
  async indexArchived(): Promise<void> {
    const upTo = this.index.unindexedUpTo;
    for (let after = 0; after < upTo; ) {
      const rows = (await this.archive.messagesAfter(after, 500)).filter((m) => m.seq <= upTo);
      // Folded with no await before the write: a delete stored meanwhile is already in the state.
      const last = rows[rows.length - 1]?.seq ?? upTo;
      this.index.indexArchived(this.states.apply(rows), last >= upTo);
      after = last;
    }
  }
}
