import { membersAfter, removes, type Conversation, type ConversationSummary, type Member, type Message, type NewMessageFrame, type SystemEvent } from "../../protocol";
import type { ObjectContext } from "../context";
import type { DeliveredMessage, Recipient } from "../delivery";
import { CURSOR_WRITE_DELAY_MS, WriteBehind } from "../writeBehind";

/**
 * The inboxes (conversation lists) of the users an object holds, and their delivery cursors.
 *
 * What every member of a conversation sees alike is kept once per object (`conversations`: name,
 * type, newest message; `conversation_members`): a delivery to ten members of a group held by one
 * object writes one head, not ten. What is each user's own is keyed by user (`inbox`: cursors and
 * unread count; `delivery_cursors`: per device).
 *
 * Deliveries and acknowledgements are held in memory and written behind (writeBehind.ts). The store
 * alone decides how a read sees them: every read of the tables goes through `rows`, which writes
 * what is held first, so SQL answers with everything; the values read on every frame (heads,
 * cursors) are kept in memory in step with the held moves, and go to `rows` only when not known.
 */

/** Cursor moves and unread additions of one user in one conversation, held until written. */
type PendingCursors = {
  delivered: number;
  read: number;
  /** Set by a read (the conversation's own count); deliveries after it add to it. */
  unread_count: number | null;
  unread_added: number;
};

/** `last_message` null: the head moved past messages withheld from a user here, and the shown one stays. */
type PendingHead = { last_seq: number; last_message: string | null; updated_at: number };

type ListRow = {
  conversation_id: string;
  type: Conversation["type"];
  name: string | null;
  photo_media_id: string | null;
  members: string;
  created_at: number;
  updated_at: number;
  last_message: string | null;
  unread_count: number;
  archived: number;
  muted_until: number | null;
  pinned_at: number | null;
  marked_unread: number;
};

/** The cursor after a first page that held only pinned conversations: the rest from the newest. */
const AFTER_PINNED = "9999999999999999~_";

const key = (...parts: string[]) => parts.join("\n");

export class InboxStore {
  /**
   * Deliveries (heads, unread counts) and delivered/read acknowledgements change these rows as often
   * as messages arrive. They are held in memory and written together: with the object's next write
   * or within a second (writeBehind.ts), not one commit each. Readers see the held values.
   */
  readonly #heads = new Map<string, PendingHead>();
  readonly #cursorMoves = new Map<string, PendingCursors & { user_id: string; conversation_id: string }>();
  readonly #deviceMoves = new Map<string, { user_id: string; device_id: string; conversation_id: string; seq: number }>();
  readonly #writes = new WriteBehind(CURSOR_WRITE_DELAY_MS, () => this.write());
  /** Who here has each conversation, as read once after a wake-up; kept in step by join and leave. */
  private readonly usersHere = new Map<string, Set<string>>();
  /**
   * What acknowledgements and deliveries read on every frame, kept in memory once read and moved
   * with every held change: each conversation's head (held and written), each user's cursors, each
   * device's.
   */
  private readonly knownHeads = new Map<string, { held: number; written: number } | null>();
  private readonly userCursors = new Map<string, { delivered: number; read: number }>();
  private readonly deviceCursors = new Map<string, number>();

  constructor(private readonly object: ObjectContext) {}

  private get sql() {
    return this.object.storage.sql;
  }

  /** Every read of the tables: what is held is written first (in this turn: one commit with it). */
  private rows<T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): T[] {
    this.#writes.flush();
    return this.sql.exec<T>(query, ...bindings).toArray();
  }

  /** Adds the conversation to the user's list, or refreshes its details; keeps cursors and head. */
  join(userId: string, c: Conversation, joinedSeq = 0): void {
    this.#writes.flush();
    this.sql.exec(
      `INSERT INTO conversations (conversation_id, type, name, photo_media_id, created_at, updated_at, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET type = excluded.type, name = excluded.name, photo_media_id = excluded.photo_media_id,
         updated_at = MAX(conversations.updated_at, excluded.updated_at)`,
      c.conversation_id,
      c.type,
      c.name,
      c.photo?.media_id ?? null,
      c.created_at,
      c.updated_at,
      joinedSeq,
    );
    this.sql.exec("INSERT INTO inbox (user_id, conversation_id) VALUES (?, ?) ON CONFLICT DO NOTHING", userId, c.conversation_id);
    this.usersHere.get(c.conversation_id)?.add(userId);
    this.knownHeads.delete(c.conversation_id);
    this.setMembers(c.conversation_id, c.members);
  }

  /** Whether the conversation is in the user's list. */
  has(userId: string, conversationId: string): boolean {
    return this.usersIn(conversationId).has(userId);
  }

  /** Whether any user here has the conversation. */
  knows(conversationId: string): boolean {
    return this.head(conversationId) !== null;
  }

  /** The newest seq delivered here (held or written), or null if no user here has the conversation. */
  lastSeq(conversationId: string): number | null {
    return this.head(conversationId)?.held ?? null;
  }

  /**
   * How far the conversation is written here, and how far held (null: no user here has it); with
   * `writeNow`, what is held is written first. A reply that reports `written` leaves only once that
   * write is durable (the output gate holds it), so the conversation may count on it: see its
   * fan-out ledger.
   */
  progress(conversationId: string, writeNow = false): { written: number | null; held: number | null } {
    if (writeNow) this.#writes.flush();
    const head = this.head(conversationId);
    return { written: head?.written ?? null, held: head?.held ?? null };
  }

  private head(conversationId: string): { held: number; written: number } | null {
    let head = this.knownHeads.get(conversationId);
    if (head === undefined) {
      const row = this.rows<{ last_seq: number }>("SELECT last_seq FROM conversations WHERE conversation_id = ?", conversationId)[0];
      head = row ? { held: row.last_seq, written: row.last_seq } : null;
      this.remember(this.knownHeads, conversationId, head);
    }
    return head;
  }

  /** Caches are bounded: past this many entries one starts again from storage. */
  private remember<V>(cache: Map<string, V>, k: string, v: V): void {
    if (cache.size >= 100_000) cache.clear();
    cache.set(k, v);
  }

  /** The user's cursors in the conversation (held moves included), or null if it is not in their list. */
  cursors(userId: string, conversationId: string): { last_seq: number; delivered_seq: number; read_seq: number } | null {
    if (!this.has(userId, conversationId)) return null;
    const k = key(userId, conversationId);
    let cursor = this.userCursors.get(k);
    if (!cursor) {
      const row = this.rows<{ delivered_seq: number; read_seq: number }>(
        "SELECT delivered_seq, read_seq FROM inbox WHERE user_id = ? AND conversation_id = ?",
        userId,
        conversationId,
      )[0];
      cursor = { delivered: row?.delivered_seq ?? 0, read: row?.read_seq ?? 0 };
      this.remember(this.userCursors, k, cursor);
    }
    return { last_seq: this.lastSeq(conversationId) ?? 0, delivered_seq: cursor.delivered, read_seq: cursor.read };
  }

  /**
   * Records newly delivered messages (in seq order, all past the head): the new head, and for each
   * recipient the messages from others in the part of the batch they may see.
   */
  applyDelivered(conversationId: string, messages: DeliveredMessage[], recipients: Recipient[]): void {
    // Held, not written: the conversation keeps delivering until a reply reports the head written
    // (its fan-out ledger), so a crash before the write loses nothing.
    const last = messages[messages.length - 1]!;
    const head = this.#heads.get(conversationId);
    // The list shows the newest message nobody here had withheld (a withheld one is not shown to the
    // user who blocked its sender, and this row is shared by everyone here) — a message, not an
    // action: an edit or delete of the message shown changes what it shows instead.
    let shown: DeliveredMessage | undefined = last;
    if (last.withheld_from !== undefined || last.action !== undefined) {
      shown = undefined;
      for (let i = messages.length - 1; i >= 0 && !shown; i--) {
        const m = messages[i]!;
        if (m.action === undefined && (m.withheld_from === undefined || !this.has(m.withheld_from, conversationId))) shown = m;
      }
    }
    let lastMessage = shown?.frame ?? head?.last_message ?? null;
    for (const m of messages) if (m.action && m.seq > (shown?.seq ?? 0) && lastMessage !== null) lastMessage = previewAfter(lastMessage, m.action);
    this.#heads.set(conversationId, {
      last_seq: last.seq,
      last_message: lastMessage,
      updated_at: Math.max(head?.updated_at ?? 0, shown?.timestamp ?? 0),
    });
    const known = this.knownHeads.get(conversationId);
    if (known) known.held = Math.max(known.held, last.seq);
    for (const r of recipients) {
      let added = 0;
      for (const m of messages) {
        if (m.seq > r.after && m.seq <= r.upTo && m.sender_id !== r.user_id && m.withheld_from !== r.user_id && m.action === undefined) added++;
      }
      if (added > 0) this.pendingFor(r.user_id, conversationId).unread_added += added;
    }
    this.#writes.schedule();
  }

  /** What a push notification about this conversation needs to say. */
  notificationContext(
    userId: string,
    conversationId: string,
  ): { type: "direct" | "group"; name: string | null; photo_media_id: string | null; unread_count: number } | null {
    return (
      this.rows<{ type: "direct" | "group"; name: string | null; photo_media_id: string | null; unread_count: number }>(
        `SELECT c.type, c.name, c.photo_media_id, i.unread_count FROM inbox i JOIN conversations c USING (conversation_id)
         WHERE i.user_id = ? AND i.conversation_id = ?`,
        userId,
        conversationId,
      )[0] ?? null
    );
  }

  setDelivered(userId: string, conversationId: string, seq: number): void {
    const pending = this.pendingFor(userId, conversationId);
    pending.delivered = Math.max(pending.delivered, seq);
    const cursor = this.userCursors.get(key(userId, conversationId));
    if (cursor) cursor.delivered = Math.max(cursor.delivered, seq);
    this.#writes.schedule();
  }

  setRead(userId: string, conversationId: string, seq: number, unreadCount: number): void {
    const pending = this.pendingFor(userId, conversationId);
    pending.read = Math.max(pending.read, seq);
    pending.delivered = Math.max(pending.delivered, seq);
    pending.unread_count = unreadCount;
    pending.unread_added = 0; // the conversation's count covers what was delivered so far
    const cursor = this.userCursors.get(key(userId, conversationId));
    if (cursor) {
      cursor.read = Math.max(cursor.read, seq);
      cursor.delivered = Math.max(cursor.delivered, seq);
    }
    this.#writes.schedule();
  }

  private pendingFor(userId: string, conversationId: string): PendingCursors {
    const k = key(userId, conversationId);
    let pending = this.#cursorMoves.get(k);
    if (!pending) {
      pending = { user_id: userId, conversation_id: conversationId, delivered: 0, read: 0, unread_count: null, unread_added: 0 };
      this.#cursorMoves.set(k, pending);
    }
    return pending;
  }

  /** Writes everything held in memory (see the fields above). */
  private write(): void {
    for (const [conversationId, h] of this.#heads) {
      const known = this.knownHeads.get(conversationId);
      if (known) known.written = Math.max(known.written, h.last_seq);
      this.sql.exec(
        "UPDATE conversations SET last_seq = ?, last_message = COALESCE(?, last_message), updated_at = MAX(updated_at, ?) WHERE conversation_id = ? AND last_seq < ?",
        h.last_seq,
        h.last_message,
        h.updated_at,
        conversationId,
        h.last_seq,
      );
    }
    this.#heads.clear();
    // One statement per table, the rows as a JSON array: a delivery to a group moves the unread
    // count of every member here, and a statement per row was hundreds of calls into SQLite.
    if (this.#cursorMoves.size > 0) {
      const rows = [...this.#cursorMoves.values()].map((p) => [p.user_id, p.conversation_id, p.read, p.delivered, p.unread_count, p.unread_added]);
      this.sql.exec(
        `UPDATE inbox SET read_seq = MAX(read_seq, j.value ->> 2), delivered_seq = MAX(delivered_seq, j.value ->> 3),
           unread_count = COALESCE(j.value ->> 4, unread_count) + (j.value ->> 5)
         FROM json_each(?) AS j WHERE inbox.user_id = j.value ->> 0 AND inbox.conversation_id = j.value ->> 1`,
        JSON.stringify(rows),
      );
      this.#cursorMoves.clear();
    }
    if (this.#deviceMoves.size > 0) {
      const rows = [...this.#deviceMoves.values()].map((d) => [d.user_id, d.device_id, d.conversation_id, d.seq]);
      this.sql.exec(
        `INSERT INTO delivery_cursors (user_id, device_id, conversation_id, delivered_seq)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true
         ON CONFLICT (user_id, device_id, conversation_id) DO UPDATE SET delivered_seq = MAX(delivered_seq, excluded.delivered_seq)`,
        JSON.stringify(rows),
      );
      this.#deviceMoves.clear();
    }
  }

  /** Forgets what was read into memory: rows were written behind this store's back (handover.ts). */
  dropCaches(): void {
    this.#writes.flush();
    for (const cache of [this.usersHere, this.knownHeads, this.userCursors, this.deviceCursors]) cache.clear();
  }

  /** The conversations in the user's list. */
  conversationIds(userId: string): string[] {
    return this.rows<{ conversation_id: string }>("SELECT conversation_id FROM inbox WHERE user_id = ?", userId).map((r) => r.conversation_id);
  }

  /** Writes what is held now: before the rows are read outside this store (a handover). */
  flush(): void {
    this.#writes.flush();
  }

  /**
   * A page of the user's list, newest activity first: archived or not. The first page of the main
   * list starts with the pinned conversations (most recently pinned first), then the others fill it
   * up to `limit`. The cursor is the last row's `updated_at~conversation_id`; a conversation whose
   * activity moves while paging may show twice or move to a page already read, as in any list
   * ordered by activity.
   */
  list(userId: string, page: { limit: number; cursor?: string; archived: boolean }): { conversations: ConversationSummary[]; next: string | null } {
    const [at, id] = page.cursor ? [Number(page.cursor.slice(0, page.cursor.indexOf("~"))), page.cursor.slice(page.cursor.indexOf("~") + 1)] : [null, null];
    const columns = `SELECT c.conversation_id, c.type, c.name, c.photo_media_id, m.members, c.created_at, c.updated_at, c.last_message, i.unread_count, i.archived,
         i.muted_until, i.pinned_at, i.marked_unread
       FROM inbox i JOIN conversations c USING (conversation_id) JOIN conversation_members m USING (conversation_id)`;
    const pinned =
      page.cursor || page.archived
        ? []
        : this.rows<ListRow>(`${columns} WHERE i.user_id = ? AND i.archived = 0 AND i.pinned_at IS NOT NULL ORDER BY i.pinned_at DESC`, userId);
    const limit = Math.max(0, page.limit - pinned.length);
    const rows = this.rows<ListRow>(
      `${columns}
       WHERE i.user_id = ? AND i.archived = ? AND (i.pinned_at IS NULL OR i.archived = 1)
         AND (? IS NULL OR c.updated_at < ? OR (c.updated_at = ? AND c.conversation_id < ?))
       ORDER BY c.updated_at DESC, c.conversation_id DESC LIMIT ?`,
      userId,
      page.archived ? 1 : 0,
      at,
      at,
      at,
      id,
      limit + 1,
    );
    const more = rows.length > limit;
    const shown = rows.slice(0, limit);
    const last = shown[shown.length - 1];
    return {
      conversations: [...pinned, ...shown].map((r) => {
        const members = JSON.parse(r.members) as Member[];
        return {
          conversation_id: r.conversation_id,
          type: r.type,
          name: r.name,
          ...(r.photo_media_id ? { photo: { media_id: r.photo_media_id } } : {}),
          members,
          member_count: members.length,
          created_at: r.created_at,
          updated_at: r.updated_at,
          last_message: r.last_message ? messageOfFrame(r.last_message) : null,
          unread_count: r.unread_count,
          muted_until: r.muted_until,
          pinned_at: r.pinned_at,
          marked_unread: r.marked_unread === 1,
          archived: r.archived === 1,
        };
      }),
      next: !more ? null : last ? `${last.updated_at}~${last.conversation_id}` : AFTER_PINNED,
    };
  }

  /** The users here who have the conversation in their list. */
  usersIn(conversationId: string): ReadonlySet<string> {
    let users = this.usersHere.get(conversationId);
    if (!users) {
      if (this.usersHere.size > 10_000) this.usersHere.clear();
      const rows = this.rows<{ user_id: string }>("SELECT user_id FROM inbox WHERE conversation_id = ?", conversationId);
      this.usersHere.set(conversationId, (users = new Set(rows.map((r) => r.user_id))));
    }
    return users;
  }

  /**
   * Keeps this object's copy of a group's name and members current from its system messages, so a
   * membership change costs no extra call to every member. Returns the users here whom it removed:
   * their lists forget the conversation.
   */
  applySystemEvent(conversationId: string, event: SystemEvent): string[] {
    const row = this.rows<{ members: string }>("SELECT members FROM conversation_members WHERE conversation_id = ?", conversationId)[0];
    if (!row) return [];
    const removed = [...this.usersIn(conversationId)].filter((id) => removes(event, id));
    for (const id of removed) this.leave(id, conversationId);
    if (!this.knows(conversationId)) return removed;
    if (event.event === "renamed") this.sql.exec("UPDATE conversations SET name = ? WHERE conversation_id = ?", event.name, conversationId);
    if (event.event === "photo_changed") this.sql.exec("UPDATE conversations SET photo_media_id = ? WHERE conversation_id = ?", event.photo?.media_id ?? null, conversationId);
    const before = JSON.parse(row.members) as Member[];
    const members = membersAfter(before, event);
    if (members !== before) this.setMembers(conversationId, members);
    return removed;
  }

  /** A conversation's member list, and the index of who is in it (membership changes are rare). */
  private setMembers(conversationId: string, members: Member[]): void {
    this.sql.exec(
      "INSERT INTO conversation_members (conversation_id, members) VALUES (?, ?) ON CONFLICT (conversation_id) DO UPDATE SET members = excluded.members",
      conversationId,
      JSON.stringify(members),
    );
    this.sql.exec("DELETE FROM conversation_member_ids WHERE conversation_id = ?", conversationId);
    for (const m of members) {
      this.sql.exec("INSERT OR IGNORE INTO conversation_member_ids (member_id, conversation_id) VALUES (?, ?)", m.user_id, conversationId);
    }
  }

  /** Whether `otherId` is a member of any conversation in the user's list. */
  sharesConversationWith(userId: string, otherId: string): boolean {
    return (
      this.rows(
        `SELECT 1 FROM conversation_member_ids m JOIN inbox i ON i.conversation_id = m.conversation_id AND i.user_id = ?
         WHERE m.member_id = ? LIMIT 1`,
        userId,
        otherId,
      ).length > 0
    );
  }

  /** The user leaves the conversation; once nobody here has it, its shared rows go too. */
  leave(userId: string, conversationId: string): void {
    this.#writes.flush();
    this.sql.exec("DELETE FROM inbox WHERE user_id = ? AND conversation_id = ?", userId, conversationId);
    this.sql.exec("DELETE FROM delivery_cursors WHERE user_id = ? AND conversation_id = ?", userId, conversationId);
    this.usersHere.get(conversationId)?.delete(userId);
    this.userCursors.delete(key(userId, conversationId));
    this.deviceCursors.clear();
    if (this.rows("SELECT 1 FROM inbox WHERE conversation_id = ? LIMIT 1", conversationId).length > 0) return;
    this.sql.exec("DELETE FROM conversations WHERE conversation_id = ?", conversationId);
    this.knownHeads.delete(conversationId);
    this.sql.exec("DELETE FROM conversation_members WHERE conversation_id = ?", conversationId);
    this.sql.exec("DELETE FROM conversation_member_ids WHERE conversation_id = ?", conversationId);
  }

  /** Conversations where this device is behind: what a (re)connecting device must be sent. */
  behind(userId: string, deviceId: string): { conversation_id: string; from_seq: number }[] {
    return this.rows<{ conversation_id: string; from_seq: number }>(
      `SELECT i.conversation_id AS conversation_id, COALESCE(d.delivered_seq, 0) AS from_seq
       FROM inbox i JOIN conversations c USING (conversation_id)
       LEFT JOIN delivery_cursors d ON d.user_id = i.user_id AND d.device_id = ? AND d.conversation_id = i.conversation_id
       WHERE i.user_id = ? AND c.last_seq > COALESCE(d.delivered_seq, 0)`,
      deviceId,
      userId,
    );
  }

  deviceCursor(userId: string, deviceId: string, conversationId: string): number {
    const k = key(userId, deviceId, conversationId);
    let seq = this.deviceCursors.get(k);
    if (seq === undefined) {
      const row = this.rows<{ delivered_seq: number }>(
        "SELECT delivered_seq FROM delivery_cursors WHERE user_id = ? AND device_id = ? AND conversation_id = ?",
        userId,
        deviceId,
        conversationId,
      )[0];
      seq = row?.delivered_seq ?? 0;
      this.remember(this.deviceCursors, k, seq);
    }
    return seq;
  }

  /** Moves a device's delivery cursor forward; returns whether it moved. */
  advanceDeviceCursor(userId: string, deviceId: string, conversationId: string, seq: number): boolean {
    if (seq <= this.deviceCursor(userId, deviceId, conversationId)) return false;
    const k = key(userId, deviceId, conversationId);
    this.#deviceMoves.set(k, { user_id: userId, device_id: deviceId, conversation_id: conversationId, seq });
    this.deviceCursors.set(k, seq);
    this.#writes.schedule();
    return true;
  }
}

/** The inbox keeps the last message as its encoded `new_message` frame; the list shows the message. */
function messageOfFrame(frame: string): Message {
  const { type: _type, ...message } = JSON.parse(frame) as Message & { type: string };
  return message;
}

/**
 * The conversation's preview frame after an action on the message it shows: an edit shows the new
 * text, a delete shows the message as deleted. Anything else, or another message, leaves it as it is.
 */
function previewAfter(frame: string, action: NonNullable<DeliveredMessage["action"]>): string {
  if (action.kind === "reaction" || action.kind === "played") return frame;
  const shown = JSON.parse(frame) as NewMessageFrame;
  if (shown.seq !== action.target_seq) return frame;
  if (action.kind === "edit") return JSON.stringify({ ...shown, content: action.content, edited_at: Date.now() });
  const { media: _m, reply_to: _r, mentions: _n, reactions: _x, edited_at: _e, ...rest } = shown;
  return JSON.stringify({ ...rest, content: "", deleted: true });
}
