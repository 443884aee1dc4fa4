import { membersAfter, removes, type Conversation, type ConversationSummary, type Member, type Message, type SystemEvent, type User } from "../../protocol";
import type { DeliveredMessage } from "../delivery";
import { CURSOR_WRITE_DELAY_MS, WriteBehind } from "../writeBehind";

/** The user object's queries: profile, inbox (conversation list) and delivery cursors. */

type InboxRow = {
  conversation_id: string;
  type: Conversation["type"];
  name: string | null;
  members: string;
  created_at: number;
  updated_at: number;
  last_seq: number;
  last_message: string | null;
  delivered_seq: number;
  read_seq: number;
  unread_count: number;
};

/**
 * Inbox changes held in memory until they are written (see writeBehind.ts): cursor moves from
 * acknowledgements, and the head (last message, unread count) moved by deliveries. A read sets the
 * unread count; deliveries after it add to it.
 */
type PendingCursors = {
  delivered: number;
  read: number;
  unread_count: number | null;
  unread_added: number;
  head: { last_seq: number; last_message: string; updated_at: number } | null;
};

/** A watcher of this user's presence, and when its watch lapses. */
export type PresenceSubscriber = { subscriber_id: string; expires_at: number };

export class InboxStore {
  /**
   * Delivered/read acknowledgements move cursors here and in the device cursors: written behind,
   * together with the next inbox write or within a second, not one commit per acknowledgement.
   * Readers of those columns see the pending moves (overlaid, or written first).
   */
  private readonly pendingCursors = new Map<string, PendingCursors>();
  private readonly pendingDeviceCursors = new Map<string, { device_id: string; conversation_id: string; seq: number }>();
  private readonly cursorWrites = new WriteBehind(CURSOR_WRITE_DELAY_MS, () => this.writeCursors());

  constructor(private readonly storage: DurableObjectStorage) {}

  private get sql() {
    return this.storage.sql;
  }

  profile(): User | null {
    return (
      this.sql
        .exec<User>("SELECT user_id, username, display_name FROM profile WHERE id = 1")
        .toArray()[0] ?? null
    );
  }

  createProfile(user: User, now: number): void {
    this.sql.exec(
      "INSERT INTO profile (id, user_id, username, display_name, created_at) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
      user.user_id,
      user.username,
      user.display_name,
      now,
    );
  }

  presenceSettings(): { last_seen: number | null; last_seen_visible: boolean } {
    const row = this.sql
      .exec<{ last_seen: number | null; last_seen_visible: number }>("SELECT last_seen, last_seen_visible FROM profile WHERE id = 1")
      .toArray()[0];
    return { last_seen: row?.last_seen ?? null, last_seen_visible: (row?.last_seen_visible ?? 1) === 1 };
  }

  setLastSeen(at: number): void {
    this.sql.exec("UPDATE profile SET last_seen = ? WHERE id = 1", at);
  }

  setLastSeenVisible(visible: boolean): void {
    this.sql.exec("UPDATE profile SET last_seen_visible = ? WHERE id = 1", visible ? 1 : 0);
  }

  subscribePresence(subscriberId: string, expiresAt: number): void {
    this.sql.exec(
      `INSERT INTO presence_subscribers (subscriber_id, expires_at) VALUES (?, ?)
       ON CONFLICT (subscriber_id) DO UPDATE SET expires_at = excluded.expires_at`,
      subscriberId,
      expiresAt,
    );
  }

  /**
   * Drops watchers that answered a change with no device connected, unless they subscribed again
   * meanwhile (their expiry moved): a watcher reconnecting as the change went out keeps its watch.
   */
  dropPresenceSubscribers(subscribers: PresenceSubscriber[]): void {
    for (const s of subscribers) {
      this.sql.exec("DELETE FROM presence_subscribers WHERE subscriber_id = ? AND expires_at = ?", s.subscriber_id, s.expires_at);
    }
  }

  /** Current subscribers; lapsed ones are forgotten on the way. */
  presenceSubscribers(now: number): PresenceSubscriber[] {
    this.sql.exec("DELETE FROM presence_subscribers WHERE expires_at <= ?", now);
    return this.sql.exec<PresenceSubscriber>("SELECT subscriber_id, expires_at FROM presence_subscribers").toArray();
  }

  /** Whether `userId` is a member of any conversation in this inbox. */
  sharesConversationWith(userId: string): boolean {
    return (
      this.sql
        .exec(
          "SELECT 1 FROM inbox_member_ids WHERE user_id = ? LIMIT 1",
          userId,
        )
        .toArray().length > 0
    );
  }

  /** Adds the conversation to the list, or refreshes its details; keeps its cursors. */
  join(c: Conversation, joinedSeq = 0): void {
    this.cursorWrites.flush();
    this.sql.exec(
      `INSERT INTO inbox (conversation_id, type, name, created_at, updated_at, last_seq) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET type = excluded.type, name = excluded.name,
         updated_at = MAX(inbox.updated_at, excluded.updated_at)`,
      c.conversation_id,
      c.type,
      c.name,
      c.created_at,
      c.updated_at,
      joinedSeq,
    );
    this.setMembers(c.conversation_id, c.members);
  }

  lastSeq(conversationId: string): number | null {
    const written = this.writtenLastSeq(conversationId);
    if (written === null) return null;
    return Math.max(written, this.pendingCursors.get(conversationId)?.head?.last_seq ?? 0);
  }

  /**
   * The head as written to SQLite. A reply that reports it leaves only once that write is durable
   * (the output gate holds it), so the conversation may count on it: see Fanout's confirmation.
   */
  writtenLastSeq(conversationId: string): number | null {
    const row = this.sql
      .exec<{ last_seq: number }>("SELECT last_seq FROM inbox WHERE conversation_id = ?", conversationId)
      .toArray()[0];
    return row ? row.last_seq : null;
  }

  /** Writes whatever is held in memory now; returns the head as written. */
  flushHead(conversationId: string): number | null {
    this.cursorWrites.flush();
    return this.writtenLastSeq(conversationId);
  }

  cursors(conversationId: string): { last_seq: number; delivered_seq: number; read_seq: number } | null {
    const row =
      this.sql
        .exec<{ last_seq: number; delivered_seq: number; read_seq: number }>(
          "SELECT last_seq, delivered_seq, read_seq FROM inbox WHERE conversation_id = ?",
          conversationId,
        )
        .toArray()[0] ?? null;
    const pending = this.pendingCursors.get(conversationId);
    if (!row || !pending) return row;
    return {
      last_seq: Math.max(row.last_seq, pending.head?.last_seq ?? 0),
      delivered_seq: Math.max(row.delivered_seq, pending.delivered),
      read_seq: Math.max(row.read_seq, pending.read),
    };
  }

  /** Records newly delivered messages (already in seq order, all past last_seq). */
  applyDelivered(conversationId: string, selfId: string, messages: DeliveredMessage[]): void {
    // Held, not written: one commit per delivery was the largest cost of fan-out (an fsync each,
    // on local workerd's one thread). The conversation keeps re-delivering until a reply reports the
    // head written (Fanout, confirmation), so a crash before the write loses nothing.
    const last = messages[messages.length - 1]!;
    const pending = this.pendingFor(conversationId);
    pending.head = { last_seq: last.seq, last_message: last.frame, updated_at: Math.max(pending.head?.updated_at ?? 0, last.timestamp) };
    pending.unread_added += messages.filter((m) => m.sender_id !== selfId).length;
    this.cursorWrites.schedule();
  }

  /** What a push notification about this conversation needs to say. */
  notificationContext(conversationId: string): { type: "direct" | "group"; name: string | null; unread_count: number } | null {
    this.cursorWrites.flush();
    return (
      this.sql
        .exec<{ type: "direct" | "group"; name: string | null; unread_count: number }>(
          "SELECT type, name, unread_count FROM inbox WHERE conversation_id = ?",
          conversationId,
        )
        .toArray()[0] ?? null
    );
  }

  setDelivered(conversationId: string, seq: number): void {
    const pending = this.pendingFor(conversationId);
    pending.delivered = Math.max(pending.delivered, seq);
    this.cursorWrites.schedule();
  }

  setRead(conversationId: string, seq: number, unreadCount: number): void {
    const pending = this.pendingFor(conversationId);
    pending.read = Math.max(pending.read, seq);
    pending.delivered = Math.max(pending.delivered, seq);
    pending.unread_count = unreadCount;
    pending.unread_added = 0; // the conversation's count covers what was delivered so far
    this.cursorWrites.schedule();
  }

  private pendingFor(conversationId: string): PendingCursors {
    let pending = this.pendingCursors.get(conversationId);
    if (!pending) {
      pending = { delivered: 0, read: 0, unread_count: null, unread_added: 0, head: null };
      this.pendingCursors.set(conversationId, pending);
    }
    return pending;
  }

  /** Writes the cursor moves held in memory (see the fields above). */
  private writeCursors(): void {
    for (const [conversationId, p] of this.pendingCursors) {
      if (p.head) {
        this.sql.exec(
          `UPDATE inbox SET last_seq = ?, last_message = ?, updated_at = MAX(updated_at, ?) WHERE conversation_id = ? AND last_seq < ?`,
          p.head.last_seq,
          p.head.last_message,
          p.head.updated_at,
          conversationId,
          p.head.last_seq,
        );
      }
      this.sql.exec(
        `UPDATE inbox SET read_seq = MAX(read_seq, ?), delivered_seq = MAX(delivered_seq, ?),
           unread_count = COALESCE(?, unread_count) + ? WHERE conversation_id = ?`,
        p.read,
        p.delivered,
        p.unread_count,
        p.unread_added,
        conversationId,
      );
    }
    this.pendingCursors.clear();
    for (const d of this.pendingDeviceCursors.values()) {
      this.sql.exec(
        `INSERT INTO delivery_cursors (device_id, conversation_id, delivered_seq) VALUES (?, ?, ?)
         ON CONFLICT (device_id, conversation_id) DO UPDATE SET delivered_seq = MAX(delivered_seq, excluded.delivered_seq)`,
        d.device_id,
        d.conversation_id,
        d.seq,
      );
    }
    this.pendingDeviceCursors.clear();
  }

  count(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM inbox").one().n;
  }

  has(conversationId: string): boolean {
    return this.sql.exec("SELECT 1 FROM inbox WHERE conversation_id = ?", conversationId).toArray().length > 0;
  }

  list(): ConversationSummary[] {
    this.cursorWrites.flush();
    return this.sql
      .exec<InboxRow>("SELECT i.*, m.members FROM inbox i JOIN inbox_members m USING (conversation_id) ORDER BY i.updated_at DESC")
      .toArray()
      .map((r) => {
        const members = JSON.parse(r.members) as Member[];
        return {
          conversation_id: r.conversation_id,
          type: r.type,
          name: r.name,
          members,
          member_count: members.length,
          created_at: r.created_at,
          updated_at: r.updated_at,
          last_message: r.last_message ? messageOfFrame(r.last_message) : null,
          unread_count: r.unread_count,
        };
      });
  }

  /**
   * Keeps this inbox's copy of a group's name and members current from its system messages, so a
   * membership change costs no extra call to every member. Returns false if it removed this user,
   * whose inbox then forgets the conversation.
   */
  applySystemEvent(conversationId: string, selfId: string, event: SystemEvent): boolean {
    this.cursorWrites.flush();
    const row = this.sql
      .exec<{ members: string }>("SELECT members FROM inbox_members WHERE conversation_id = ?", conversationId)
      .toArray()[0];
    if (!row) return true;
    if (removes(event, selfId)) {
      this.leave(conversationId);
      return false;
    }
    if (event.event === "renamed") this.sql.exec("UPDATE inbox SET name = ? WHERE conversation_id = ?", event.name, conversationId);
    const before = JSON.parse(row.members) as Member[];
    const members = membersAfter(before, event);
    if (members === before) return true;
    this.setMembers(conversationId, members);
    return true;
  }

  /** A conversation's member list, and the index of who is in it (membership changes are rare). */
  private setMembers(conversationId: string, members: Member[]): void {
    this.sql.exec(
      "INSERT INTO inbox_members (conversation_id, members) VALUES (?, ?) ON CONFLICT (conversation_id) DO UPDATE SET members = excluded.members",
      conversationId,
      JSON.stringify(members),
    );
    this.sql.exec("DELETE FROM inbox_member_ids WHERE conversation_id = ?", conversationId);
    for (const m of members) {
      this.sql.exec("INSERT OR IGNORE INTO inbox_member_ids (user_id, conversation_id) VALUES (?, ?)", m.user_id, conversationId);
    }
  }

  leave(conversationId: string): void {
    this.cursorWrites.flush();
    this.sql.exec("DELETE FROM inbox WHERE conversation_id = ?", conversationId);
    this.sql.exec("DELETE FROM inbox_members WHERE conversation_id = ?", conversationId);
    this.sql.exec("DELETE FROM inbox_member_ids WHERE conversation_id = ?", conversationId);
    this.sql.exec("DELETE FROM delivery_cursors WHERE conversation_id = ?", conversationId);
  }

  /** Conversations where this device is behind: what a (re)connecting device must be sent. */
  behind(deviceId: string): { conversation_id: string; from_seq: number }[] {
    this.cursorWrites.flush();
    return this.sql
      .exec<{ conversation_id: string; from_seq: number }>(
        `SELECT i.conversation_id AS conversation_id, COALESCE(c.delivered_seq, 0) AS from_seq
         FROM inbox i LEFT JOIN delivery_cursors c ON c.conversation_id = i.conversation_id AND c.device_id = ?
         WHERE i.last_seq > COALESCE(c.delivered_seq, 0)`,
        deviceId,
      )
      .toArray();
  }

  deviceCursor(deviceId: string, conversationId: string): number {
    const pending = this.pendingDeviceCursors.get(`${deviceId}\n${conversationId}`)?.seq ?? 0;
    const row = this.sql
      .exec<{ delivered_seq: number }>(
        "SELECT delivered_seq FROM delivery_cursors WHERE device_id = ? AND conversation_id = ?",
        deviceId,
        conversationId,
      )
      .toArray()[0];
    return Math.max(row?.delivered_seq ?? 0, pending);
  }

  /** Moves a device's delivery cursor forward; returns whether it moved. */
  advanceDeviceCursor(deviceId: string, conversationId: string, seq: number): boolean {
    if (seq <= this.deviceCursor(deviceId, conversationId)) return false;
    this.pendingDeviceCursors.set(`${deviceId}\n${conversationId}`, { device_id: deviceId, conversation_id: conversationId, seq });
    this.cursorWrites.schedule();
    return true;
  }

  /**
   * Whether a device may connect: a known one always may; a new one while fewer than `limit` devices
   * were seen in the last 30 days (a device unused that long no longer counts).
   */
  deviceAllowed(deviceId: string, limit: number, now: number): boolean {
    if (this.sql.exec("SELECT 1 FROM devices WHERE device_id = ?", deviceId).toArray().length > 0) return true;
    const active = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM devices WHERE last_seen > ?", now - 30 * 86_400_000).one().n;
    return active < limit;
  }

  touchDevice(deviceId: string, now: number): void {
    this.sql.exec(
      `INSERT INTO devices (device_id, first_seen, last_seen) VALUES (?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET last_seen = excluded.last_seen`,
      deviceId,
      now,
      now,
    );
  }
}

/** The inbox keeps the last message as its encoded `new_message` frame; the list shows the message. */
function messageOfFrame(frame: string): Message {
  const { type: _type, ...message } = JSON.parse(frame) as Message & { type: string };
  return message;
}
