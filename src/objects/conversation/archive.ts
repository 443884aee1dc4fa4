import { seqOfServerMsgId } from "../../lib/ids";
import { log } from "../../lib/log";
import { countsAsMessage, type Message } from "../../protocol";
import type { MessageStates } from "./state";
import { decodeSegment, encodeSegment, SegmentCache, segmentKey, type SegmentStore } from "./segments";
import { COPIES_TEXT, type ConversationStore } from "./store";

/** Messages kept hot (in the object's SQLite) unless HISTORY_HOT_WINDOW says otherwise. */
export const DEFAULT_HOT_WINDOW = 10_000;
/** An archive pass is booked this long after the hot table first overflows: never on the send path. */
export const ARCHIVE_DELAY_MS = 10_000;
/** A failed pass is retried after 5 s, 10 s, 20 s… at most this long. */
const ARCHIVE_MAX_BACKOFF_MS = 5 * 60_000;
/**
 * How long a retry of an archived message is still recognised (its (sender, client_msg_id) key
 * outlives its hot row by this much). Beyond it the key is forgotten, so the object stays bounded.
 */
export const ARCHIVED_KEY_RETENTION_MS = 30 * 24 * 60 * 60_000;

/** The window from the environment: a positive integer, else the default. */
export function parseHotWindow(raw: string | undefined): number {
  const n = raw === undefined ? NaN : Number(raw.trim());
  return Number.isSafeInteger(n) && n >= 1 ? n : DEFAULT_HOT_WINDOW;
}

type SegmentRow = { first_seq: number; last_seq: number; key: string };

/**
 * The conversation's history beyond its hot window. Messages `1..archivedUpTo` live in immutable
 * R2 segments listed in `archive_segments`; `archivedUpTo+1..last_seq` are hot rows. The two
 * ranges meet exactly, and move together: a segment's index row and the deletion of its hot
 * rows are one SQL transaction, run only after R2 has stored the segment. Reads stitch the two.
 *
 * Only messages every member's user object already has (≤ fanout_seq) are archived, so fan-out
 * reads hot rows only.
 */
export class HistoryArchive {
  /** Every seq up to here is in a segment and nowhere else. */
  archivedUpTo: number;
  private readonly cache = new SegmentCache();
  private running = false;
  private failures = 0;
  /** After a failure, passes wait until here even if an alarm for something else comes sooner. */
  private retryAt = 0;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly store: ConversationStore,
    private readonly segments: SegmentStore,
    readonly hotWindow: number,
    /** Actions' effects: folded into each message as it is archived. */
    private readonly states: MessageStates,
  ) {
    this.archivedUpTo = store.archivedSeq;
  }

  private get sql() {
    return this.storage.sql;
  }

  /** Hot rows past this many above the window are worth a pass (one segment's worth, at most 1,000). */
  private get slack(): number {
    return Math.min(1_000, Math.ceil(this.hotWindow / 10));
  }

  /** When to run a pass after an append, or null if the hot table is within bounds. */
  due(now: number): number | null {
    return this.store.lastSeq - this.archivedUpTo > this.hotWindow + this.slack ? now + ARCHIVE_DELAY_MS : null;
  }

  // ---- the pass (from the alarm) -------------------------------------------

  /**
   * Moves everything older than the window (and already fanned out) to R2, one segment at a time.
   * Returns when to try again if a write failed, else null. Never throws.
   */
  async run(now: number): Promise<number | null> {
    if (this.running || !this.store.exists) return null;
    if (now < this.retryAt) return this.retryAt;
    const target = Math.min(this.store.fanoutSeq, this.store.lastSeq - this.hotWindow);
    if (target - this.archivedUpTo <= 0 || this.store.lastSeq - this.archivedUpTo <= this.hotWindow + this.slack) {
      return null;
    }
    this.running = true;
    try {
      while (this.archivedUpTo < target) {
        const from = this.archivedUpTo;
        // Segments hold each message as it is now; an action arriving during the put is folded
        // again over the segment when read (state.ts: folding is idempotent).
        const foldedThrough = this.store.lastSeq;
        const candidates = this.states.apply(this.store.messagesAfter(from, Math.min(target - from, 1_000)));
        if (candidates[0]?.seq !== from + 1) throw new Error(`hot history does not start at ${from + 1}`);
        const { body, messages } = encodeSegment(this.store.conversationId, candidates);
        const key = segmentKey(this.store.conversationId, from + 1);
        // The hot rows stay until this resolves: a failed or torn write loses nothing.
        await this.segments.put(key, body);
        this.commit(key, messages, body.length, now, foldedThrough);
      }
      this.failures = 0;
      this.retryAt = 0;
      this.sql.exec("DELETE FROM archived_keys WHERE conversation_id = ? AND timestamp < ?", this.store.id, now - ARCHIVED_KEY_RETENTION_MS);
      return null;
    } catch (err) {
      this.failures += 1;
      const retryIn = Math.min(5_000 * 2 ** (this.failures - 1), ARCHIVE_MAX_BACKOFF_MS);
      log.warn("archive write failed; hot rows kept", { conversation_id: this.store.conversationId, failures: this.failures, retry_in_ms: retryIn, error: err });
      this.retryAt = now + retryIn;
      return this.retryAt;
    } finally {
      this.running = false;
    }
  }

  /** Index row, per-sender facts and idempotency keys in; hot rows out: one transaction. */
  private commit(key: string, messages: Message[], bytes: number, now: number, foldedThrough: number) {
    const first = messages[0]!.seq;
    const last = messages[messages.length - 1]!.seq;
    const senders = new Map<string, { count: number; last_seq: number | null; last_id: string | null }>();
    for (const m of messages) {
      const s = senders.get(m.sender_id) ?? { count: 0, last_seq: null, last_id: null };
      // Actions are rows of the sequence but not messages: nobody has them unread, no receipt names them.
      if (!countsAsMessage(m)) {
        senders.set(m.sender_id, s);
        continue;
      }
      s.count += 1;
      if (m.content_type !== "system") {
        s.last_seq = m.seq;
        s.last_id = m.server_msg_id;
      }
      senders.set(m.sender_id, s);
    }
    this.storage.transactionSync(() => {
      const id = this.store.id;
      this.sql.exec(
        "INSERT INTO archive_segments (conversation_id, first_seq, last_seq, key, message_count, bytes, archived_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        id,
        first,
        last,
        key,
        messages.length,
        bytes,
        now,
      );
      for (const [sender, s] of senders) {
        this.sql.exec(
          "INSERT INTO archive_senders (conversation_id, first_seq, sender_id, messages, last_seq, last_server_msg_id) VALUES (?, ?, ?, ?, ?, ?)",
          id,
          first,
          sender,
          s.count,
          s.last_seq,
          s.last_id,
        );
      }
      this.sql.exec(
        `INSERT OR IGNORE INTO archived_keys (conversation_id, sender_id, client_msg_id, seq, server_msg_id, timestamp)
         SELECT conversation_id, sender_id, client_msg_id, seq, server_msg_id, timestamp FROM messages
         WHERE conversation_id = ? AND seq >= ? AND seq <= ? AND client_msg_id IS NOT NULL`,
        id,
        first,
        last,
      );
      // Rows that copy another message's text (edits, replies' quotes), for a later delete for everyone to find.
      this.sql.exec(
        `INSERT OR IGNORE INTO archived_refs (conversation_id, target_seq, seq)
         SELECT conversation_id, target_seq, seq FROM messages
         WHERE conversation_id = ? AND seq >= ? AND seq <= ? AND target_seq IS NOT NULL AND ${COPIES_TEXT}`,
        id,
        first,
        last,
      );
      // Disappearing messages keep their ends, so they disappear from the archive on time too.
      this.sql.exec(
        `INSERT OR REPLACE INTO archived_expiry (conversation_id, seq, expires_at)
         SELECT conversation_id, seq, expires_at FROM messages WHERE conversation_id = ? AND seq >= ? AND seq <= ? AND expires_at IS NOT NULL
         AND (content != '' OR media IS NOT NULL)`,
        id,
        first,
        last,
      );
      this.sql.exec("DELETE FROM messages WHERE conversation_id = ? AND seq >= ? AND seq <= ?", id, first, last);
      this.states.forgetArchived(first, last, foldedThrough);
      // The cursor log (when each member first reached each seq, for message info) would otherwise
      // grow with every acknowledgement forever: a busy 500-member group fills its object's 10 GB in
      // days. Older than the segments already archived, message info says "by" the next advance kept.
      this.sql.exec("DELETE FROM cursor_advances WHERE conversation_id = ? AND seq < ?", id, first);
      this.store.saveArchivedSeq(last);
    });
    this.archivedUpTo = last;
  }

  // ---- reads ---------------------------------------------------------------

  private segmentFor(seq: number): SegmentRow {
    const row = this.sql
      .exec<SegmentRow>(
        "SELECT first_seq, last_seq, key FROM archive_segments WHERE conversation_id = ? AND first_seq <= ? ORDER BY first_seq DESC LIMIT 1",
        this.store.id,
        seq,
      )
      .toArray()[0];
    if (!row || row.last_seq < seq) throw new Error(`archive index has no segment for seq ${seq}`);
    return row;
  }

  private load(segment: SegmentRow): Promise<Message[]> {
    return this.cache.load(segment.key, async () => {
      const text = await this.segments.get(segment.key);
      if (text === null) throw new Error(`archive segment ${segment.key} is missing`);
      return decodeSegment(text, segment.first_seq, segment.last_seq);
    });
  }

  /** An archived message by seq, as its segment holds it (null past the archive). */
  async messageAt(seq: number): Promise<Message | null> {
    if (seq < 1 || seq > this.archivedUpTo) return null;
    return (await this.load(this.segmentFor(seq))).find((m) => m.seq === seq) ?? null;
  }

  /**
   * Rewrites the segments holding any of `seqs`, each message of them through `edit` (a delete for
   * everyone erasing archived copies: erasure.ts). The same key is overwritten, so the index and
   * every reader stay as they were; the cached copy is dropped before the write lands.
   */
  async rewrite(seqs: Iterable<number>, edit: (m: Message) => Message): Promise<number> {
    const segments = new Map<string, SegmentRow>();
    for (const seq of seqs) {
      if (seq > this.archivedUpTo) continue;
      const segment = this.segmentFor(seq);
      segments.set(segment.key, segment);
    }
    for (const segment of segments.values()) {
      const text = await this.segments.get(segment.key);
      if (text === null) throw new Error(`archive segment ${segment.key} is missing`);
      const messages = decodeSegment(text, segment.first_seq, segment.last_seq).map(edit);
      const { body } = encodeSegment(this.store.conversationId, messages);
      this.cache.forget(segment.key);
      await this.segments.put(segment.key, body);
      this.cache.forget(segment.key);
      this.sql.exec("UPDATE archive_segments SET bytes = ? WHERE conversation_id = ? AND first_seq = ?", body.length, this.store.id, segment.first_seq);
    }
    return segments.size;
  }

  /** Archived rows that copy message `seq`'s text (its edits, replies quoting it). */
  archivedRefs(seq: number): number[] {
    return this.sql
      .exec<{ seq: number }>("SELECT seq FROM archived_refs WHERE conversation_id = ? AND target_seq = ?", this.store.id, seq)
      .toArray()
      .map((r) => r.seq);
  }

  /** Segments fetched from R2 so far by this instance (cache misses). */
  get segmentFetches(): number {
    return this.cache.fetches;
  }

  /**
   * Messages with seq > after, ascending, at most `limit`, from the archive and then the hot
   * table. The hot read follows its boundary check with no await between, so a pass that lands
   * while a segment loads cannot open a gap.
   */
  async messagesAfter(after: number, limit: number): Promise<Message[]> {
    const out: Message[] = [];
    let cursor = after;
    while (out.length < limit) {
      if (cursor >= this.archivedUpTo) {
        out.push(...this.store.messagesAfter(cursor, limit - out.length));
        break;
      }
      const segment = this.segmentFor(cursor + 1);
      for (const m of await this.load(segment)) {
        if (m.seq <= cursor) continue;
        if (out.length >= limit) break;
        out.push(m);
        cursor = m.seq;
      }
    }
    return out;
  }

  /** Messages with seq in (floor, before), the newest `limit` of them, descending. */
  async messagesBefore(before: number, floor: number, limit: number): Promise<Message[]> {
    const out: Message[] = [];
    let cursor = before;
    while (out.length < limit && cursor - 1 > floor) {
      const boundary = Math.max(this.archivedUpTo, floor);
      if (cursor - 1 > boundary) {
        out.push(...this.store.messagesBefore(cursor, boundary, limit - out.length));
        cursor = boundary + 1;
        continue;
      }
      const segment = this.segmentFor(cursor - 1);
      const messages = await this.load(segment);
      for (let i = messages.length - 1; i >= 0 && out.length < limit; i--) {
        const m = messages[i]!;
        if (m.seq >= cursor) continue;
        if (m.seq <= floor) break;
        out.push(m);
      }
      cursor = segment.first_seq;
    }
    return out;
  }

  /** Archived messages with seq in (from, to], ascending (for the edges of a range the index cannot answer). */
  private async range(from: number, to: number): Promise<Message[]> {
    const out: Message[] = [];
    let cursor = from;
    while (cursor < Math.min(to, this.archivedUpTo)) {
      const segment = this.segmentFor(cursor + 1);
      for (const m of await this.load(segment)) if (m.seq > cursor && m.seq <= to) out.push(m);
      cursor = Math.min(segment.last_seq, to);
    }
    return out;
  }

  /** seq and sender of a message by id, hot or archived; null if it is not this conversation's. */
  async messageMeta(serverMsgId: string): Promise<{ seq: number; sender_id: string } | null> {
    const hot = this.store.messageMeta(serverMsgId);
    if (hot) return hot;
    const seq = seqOfServerMsgId(serverMsgId);
    if (seq === null || seq > this.archivedUpTo) return null;
    const segment = this.segmentFor(seq);
    const m = (await this.load(segment))[seq - segment.first_seq];
    return m && m.server_msg_id === serverMsgId ? { seq: m.seq, sender_id: m.sender_id } : null;
  }

  /**
   * Other people's messages after the member's read cursor: hot rows counted in SQL, whole
   * segments from their per-sender counts, and only the one segment the cursor falls inside read.
   */
  async unreadCount(userId: string): Promise<number> {
    const m = this.store.member(userId);
    if (!m) return 0;
    const floor = Math.max(m.read_seq, m.joined_seq);
    let n = this.store.unreadCount(userId);
    if (floor >= this.archivedUpTo) return n;
    n += this.sql
      .exec<{ n: number | null }>(
        "SELECT SUM(messages) AS n FROM archive_senders WHERE conversation_id = ? AND first_seq > ? AND sender_id != ?",
        this.store.id,
        floor,
        userId,
      )
      .one().n ?? 0;
    const edge = this.segmentFor(floor + 1);
    if (edge.first_seq <= floor) {
      n += (await this.range(floor, edge.last_seq)).filter((x) => x.sender_id !== userId && countsAsMessage(x)).length;
    }
    return n;
  }

  /**
   * For each other sender in (from, to], their latest non-system message (whom a receipt is
   * about): hot rows in SQL, whole segments from the index, the partial edge segments read.
   */
  async latestBySenderBetween(from: number, to: number, excludeUserId: string) {
    const latest = new Map<string, { sender_id: string; seq: number; server_msg_id: string }>();
    const note = (r: { sender_id: string; seq: number; server_msg_id: string }) => {
      if ((latest.get(r.sender_id)?.seq ?? 0) < r.seq) latest.set(r.sender_id, r);
    };
    // Hot rows and the boundary are read together, before any await: a pass landing meanwhile
    // only moves rows into segments this read already covers.
    this.store.latestBySenderBetween(from, to, excludeUserId).forEach(note);
    const archivedTo = Math.min(to, this.archivedUpTo);
    if (from >= archivedTo) return [...latest.values()];
    this.sql
      .exec<{ sender_id: string; seq: number; server_msg_id: string }>(
        `SELECT s.sender_id, s.last_seq AS seq, s.last_server_msg_id AS server_msg_id
         FROM archive_senders s JOIN archive_segments g ON g.conversation_id = s.conversation_id AND g.first_seq = s.first_seq
         WHERE g.conversation_id = ? AND g.first_seq > ? AND g.last_seq <= ? AND s.sender_id != ? AND s.last_seq IS NOT NULL`,
        this.store.id,
        from,
        archivedTo,
        excludeUserId,
      )
      .toArray()
      .forEach(note);
    const edges = new Map<number, SegmentRow>();
    for (const s of [this.segmentFor(from + 1), this.segmentFor(archivedTo)]) {
      if (s.first_seq <= from || s.last_seq > archivedTo) edges.set(s.first_seq, s);
    }
    for (const e of edges.values()) {
      for (const m of await this.range(Math.max(from, e.first_seq - 1), Math.min(archivedTo, e.last_seq))) {
        if (m.sender_id !== excludeUserId && m.content_type !== "system" && countsAsMessage(m)) note(m);
      }
    }
    return [...latest.values()];
  }
}
