import type {
  Conversation,
  ConversationType,
  DeliveryStatus,
  GroupSettings,
  Member,
  MemberRole,
  Message,
  MessageAck,
  Receipt,
  SystemEvent,
} from "../../protocol";
import { ActionType, isAction } from "../../protocol";
import { newServerMsgId, seqOfServerMsgId } from "../../lib/ids";
import { CURSOR_WRITE_DELAY_MS, WriteBehind } from "../writeBehind";
import { recordMembership } from "./memberHistory";

/**
 * The queries of one conversation (an object may hold many: CONVERSATION_SHARDS). Every row is
 * keyed by the conversation's id; every value is bound, never pasted into SQL.
 */

type ConversationRow = {
  conversation_id: string;
  type: ConversationType;
  name: string | null;
  created_at: number;
  updated_at: number;
  last_seq: number;
  fanout_seq: number;
  archived_seq: number;
  description: string;
  only_admins_send: number;
  only_admins_edit_info: number;
  disappearing_ms: number;
  photo_media_id: string | null;
};

export type MemberRow = {
  conversation_id?: string;
  user_id: string;
  role: MemberRole;
  joined_seq: number;
  joined_at: number;
  delivered_seq: number;
  delivered_at: number | null;
  read_seq: number;
  read_at: number | null;
  /** Set when the member was removed or left: the seq of that system message (which they still get). */
  removed_seq: number | null;
  /** 0: the member turned read receipts off (a copy of their setting). */
  read_receipts: number;
};

type MessageRow = {
  seq: number;
  server_msg_id: string;
  sender_id: string;
  client_msg_id: string | null;
  content: string;
  content_type: Message["content_type"];
  media: string | null;
  timestamp: number;
  target_seq: number | null;
  extra: string | null;
  expires_at: number | null;
};

const MESSAGE_COLUMNS = "seq, server_msg_id, sender_id, client_msg_id, content, content_type, media, timestamp, target_seq, extra, expires_at";

/** The parts of a row that say how it relates to other messages (stored as JSON in `extra`). */
export type MessageExtra = Pick<Message, "reply_to" | "mentions" | "forwarded" | "target">;

/** What the send path hands the store to write. */
export interface NewRow extends MessageExtra {
  content: string;
  content_type: Message["content_type"];
  media?: Message["media"] | null;
}

/** The SQL that leaves actions out of what counts as a message (unread counts, receipt notices). */
export const COUNTED = `content_type NOT IN (${ActionType.options.map((a) => `'${a}'`).join(", ")})`;
/** The SQL for rows that carry text of their own beside a target (edits, replies), unlike the other actions. */
export const COPIES_TEXT = `content_type NOT IN (${ActionType.exclude(["edit"]).options.map((a) => `'${a}'`).join(", ")})`;

/** How many of the newest messages stored here are kept in memory for fan-out to read back. */
const RECENT_MESSAGES = 512;

export class ConversationStore {
  private meta: ConversationRow | null;
  private members: Map<string, MemberRow>;
  /** Moves whenever someone joins, leaves or is forgotten: fan-out regroups members by user object then. */
  private version = 0;
  /**
   * Members' cursor moves are written behind (writeBehind.ts): the in-memory rows are current, the
   * table catches up with the next send's transaction or within a second.
   */
  private readonly movedCursors = new Set<string>();
  private pendingAdvances: { user_id: string; kind: DeliveryStatus; seq: number; at: number }[] = [];
  private readonly cursorWrites = new WriteBehind(CURSOR_WRITE_DELAY_MS, () => this.writeCursors());
  /**
   * The newest messages this instance stored, contiguous and ending at `last_seq`: fan-out reads a
   * round back right after storing it, and a query per round was a fifth of the SQL a message cost.
   */
  private recent: Message[] = [];

  constructor(
    private readonly storage: DurableObjectStorage,
    /** Which conversation: what every query is about. */
    readonly id: string,
    schemaReady = true,
  ) {
    if (!schemaReady) {
      // Nothing was ever stored in this object: no conversation, and nothing to read.
      this.meta = null;
      this.members = new Map();
      return;
    }
    this.meta = this.sql.exec<ConversationRow>("SELECT * FROM conversations WHERE conversation_id = ?", id).toArray()[0] ?? null;
    this.members = new Map(
      this.sql.exec<MemberRow>("SELECT * FROM members WHERE conversation_id = ?", id).toArray().map((m) => [m.user_id, m] as const),
    );
  }

  private get sql() {
    return this.storage.sql;
  }

  get exists(): boolean {
    return this.meta !== null;
  }
  get conversationId(): string {
    return this.id;
  }
  get lastSeq(): number {
    return this.meta?.last_seq ?? 0;
  }
  /** Fan-out progress as last persisted; the live figures are in the fan-out ledger. */
  get fanoutSeq(): number {
    return this.meta?.fanout_seq ?? 0;
  }
  /** Every seq up to here is archived (archive.ts keeps it). */
  get archivedSeq(): number {
    return this.meta?.archived_seq ?? 0;
  }

  create(init: { conversation_id: string; type: ConversationType; name: string | null; members: Member[] }, now: number) {
    this.storage.transactionSync(() => {
      this.sql.exec(
        "INSERT INTO conversations (conversation_id, type, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        this.id,
        init.type,
        init.name,
        now,
        now,
      );
      for (const m of init.members) this.addMember(m.user_id, m.role, now);
    });
    this.meta = this.sql.exec<ConversationRow>("SELECT * FROM conversations WHERE conversation_id = ?", this.id).one();
  }

  /**
   * Adds a member (or re-adds a departed one, with fresh cursors). They see messages from the next
   * seq on, which is the system message announcing them.
   */
  addMember(userId: string, role: MemberRole, now: number) {
    const row: MemberRow = {
      user_id: userId,
      role,
      joined_seq: this.lastSeq,
      joined_at: now,
      delivered_seq: 0,
      delivered_at: null,
      read_seq: 0,
      read_at: null,
      removed_seq: null,
      // Kept on a re-add (the row's copy is): a joiner's user object tells it anyway (tellJoined).
      read_receipts: this.members.get(userId)?.read_receipts ?? 1,
    };
    this.sql.exec(
      `INSERT INTO members (conversation_id, user_id, role, joined_seq, joined_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id, user_id) DO UPDATE SET role = excluded.role, joined_seq = excluded.joined_seq,
         joined_at = excluded.joined_at, delivered_seq = 0, delivered_at = NULL, read_seq = 0,
         read_at = NULL, removed_seq = NULL`,
      this.id,
      userId,
      role,
      row.joined_seq,
      now,
    );
    this.sql.exec("DELETE FROM cursor_advances WHERE conversation_id = ? AND user_id = ?", this.id, userId);
    this.pendingAdvances = this.pendingAdvances.filter((a) => a.user_id !== userId);
    this.movedCursors.delete(userId);
    this.members.set(userId, row);
    this.version++;
  }

  /** Marks a member as gone as of `seq` (inclusive: they still get that message). */
  removeMember(userId: string, seq: number) {
    const m = this.members.get(userId);
    if (!m) return;
    m.removed_seq = seq;
    this.version++;
    this.sql.exec("UPDATE members SET removed_seq = ? WHERE conversation_id = ? AND user_id = ?", seq, this.id, userId);
  }

  setRole(userId: string, role: MemberRole) {
    const m = this.members.get(userId);
    if (!m) return;
    m.role = role;
    this.sql.exec("UPDATE members SET role = ? WHERE conversation_id = ? AND user_id = ?", role, this.id, userId);
  }

  /** The group's photo (null: none); returns the one it replaced. */
  setPhoto(mediaId: string | null, now: number): string | null {
    const replaced = this.meta!.photo_media_id;
    this.meta!.photo_media_id = mediaId;
    this.meta!.updated_at = now;
    this.sql.exec("UPDATE conversations SET photo_media_id = ?, updated_at = ? WHERE conversation_id = ?", mediaId, now, this.id);
    return replaced;
  }

  /** Whether the member sends and sees read receipts (their setting, copied here). */
  readReceipts(userId: string): boolean {
    return (this.members.get(userId)?.read_receipts ?? 1) === 1;
  }

  setReadReceipts(userId: string, on: boolean): void {
    const m = this.members.get(userId);
    if (!m || (m.read_receipts === 1) === on) return;
    m.read_receipts = on ? 1 : 0;
    this.sql.exec("UPDATE members SET read_receipts = ? WHERE conversation_id = ? AND user_id = ?", m.read_receipts, this.id, userId);
  }

  rename(name: string, now: number) {
    this.meta!.name = name;
    this.meta!.updated_at = now;
    this.sql.exec("UPDATE conversations SET name = ?, updated_at = ? WHERE conversation_id = ?", name, now, this.id);
  }

  /** The group's invite link token, if it has one. */
  inviteToken(): string | null {
    return this.sql.exec<{ token: string }>("SELECT token FROM invite_links WHERE conversation_id = ?", this.id).toArray()[0]?.token ?? null;
  }

  setInviteToken(token: string | null, by: string, now: number) {
    if (token === null) this.sql.exec("DELETE FROM invite_links WHERE conversation_id = ?", this.id);
    else {
      this.sql.exec(
        "INSERT OR REPLACE INTO invite_links (conversation_id, token, created_by, created_at) VALUES (?, ?, ?, ?)",
        this.id,
        token,
        by,
        now,
      );
    }
  }

  /** Forgets departed members once fan-out has passed their removal. */
  pruneDeparted(fanoutSeq: number) {
    let any = false;
    for (const m of this.members.values()) {
      if (m.removed_seq !== null && m.removed_seq <= fanoutSeq) {
        this.members.delete(m.user_id);
        any = true;
      }
    }
    if (!any) return;
    this.version++;
    this.sql.exec("DELETE FROM members WHERE conversation_id = ? AND removed_seq IS NOT NULL AND removed_seq <= ?", this.id, fanoutSeq);
  }

  get membershipVersion(): number {
    return this.version;
  }

  /** A current member (not one who was removed or left). */
  member(userId: string): MemberRow | undefined {
    const m = this.members.get(userId);
    return m && m.removed_seq === null ? m : undefined;
  }
  memberIds(): string[] {
    return this.activeMembers().map((m) => m.user_id);
  }
  activeMembers(): MemberRow[] {
    return [...this.members.values()].filter((m) => m.removed_seq === null);
  }
  get type(): ConversationType {
    return this.meta!.type;
  }

  /**
   * Who gets messages with seq in (from, to], and which part of that range each may see: members
   * who joined after `from` see only what follows their joining; departed ones only up to their removal.
   */
  recipients(from: number, to: number): { user_id: string; after: number; upTo: number }[] {
    const out: { user_id: string; after: number; upTo: number }[] = [];
    for (const m of this.members.values()) {
      const upTo = m.removed_seq ?? Number.MAX_SAFE_INTEGER;
      if (m.joined_seq >= to || upTo <= from) continue;
      out.push({ user_id: m.user_id, after: m.joined_seq, upTo });
    }
    return out;
  }

  describe(): Conversation {
    const meta = this.meta!;
    const conversation: Conversation = {
      conversation_id: meta.conversation_id,
      type: meta.type,
      name: meta.name,
      members: this.activeMembers().map((m) => ({ user_id: m.user_id, role: m.role })),
      created_at: meta.created_at,
      updated_at: meta.updated_at,
    };
    if (meta.type === "group") {
      conversation.description = meta.description;
      conversation.settings = this.settings;
      if (meta.photo_media_id) conversation.photo = { media_id: meta.photo_media_id };
    }
    conversation.disappearing_ms = meta.disappearing_ms;
    return conversation;
  }

  /** Only admins may send (a group setting): read per message sent, so without building the settings. */
  get onlyAdminsSend(): boolean {
    return this.meta?.only_admins_send === 1;
  }

  get settings(): GroupSettings {
    return { only_admins_send: this.meta!.only_admins_send === 1, only_admins_edit_info: this.meta!.only_admins_edit_info === 1 };
  }

  setDescription(description: string, now: number) {
    this.meta!.description = description;
    this.meta!.updated_at = now;
    this.sql.exec("UPDATE conversations SET description = ?, updated_at = ? WHERE conversation_id = ?", description, now, this.id);
  }

  /** Disappearing messages: the timer of messages sent from now on (0: off). */
  get disappearingMs(): number {
    return this.meta?.disappearing_ms ?? 0;
  }

  setDisappearing(ms: number) {
    this.meta!.disappearing_ms = ms;
    this.sql.exec("UPDATE conversations SET disappearing_ms = ? WHERE conversation_id = ?", ms, this.id);
  }

  /**
   * Hot messages whose time is up and that still hold something, with their media. An erased one
   * keeps its row (a tombstone: its seq keeps the sequence whole) and its `expires_at`, so clients
   * reading it later know to show nothing.
   */
  expiredHot(now: number): { seq: number; media: string | null }[] {
    return this.sql
      .exec<{ seq: number; media: string | null }>(
        `SELECT seq, media FROM messages WHERE conversation_id = ? AND expires_at IS NOT NULL AND expires_at <= ?
         AND (content != '' OR media IS NOT NULL)`,
        this.id,
        now,
      )
      .toArray();
  }

  setSettings(settings: GroupSettings) {
    this.meta!.only_admins_send = settings.only_admins_send ? 1 : 0;
    this.meta!.only_admins_edit_info = settings.only_admins_edit_info ? 1 : 0;
    this.sql.exec(
      "UPDATE conversations SET only_admins_send = ?, only_admins_edit_info = ? WHERE conversation_id = ?",
      this.meta!.only_admins_send,
      this.meta!.only_admins_edit_info,
      this.id,
    );
  }

  /**
   * The original ack of a message this sender already sent with this client_msg_id: a hot row, or
   * the key its row left behind when it was archived (archive.ts).
   */
  findBySenderKey(senderId: string, clientMsgId: string): MessageAck | null {
    const row = this.sql
      .exec<Pick<MessageRow, "seq" | "server_msg_id" | "timestamp">>(
        `SELECT seq, server_msg_id, timestamp FROM messages WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?
         UNION ALL SELECT seq, server_msg_id, timestamp FROM archived_keys WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?
         LIMIT 1`,
        this.id,
        senderId,
        clientMsgId,
        this.id,
        senderId,
        clientMsgId,
      )
      .toArray()[0];
    return row ? this.ack(clientMsgId, row) : null;
  }

  /** The ack of `senderId`'s first hot action of this kind on message `targetSeq`, if any. */
  actionOn(targetSeq: number, senderId: string, kind: string): MessageAck | null {
    const row = this.sql
      .exec<Pick<MessageRow, "seq" | "server_msg_id" | "timestamp" | "client_msg_id">>(
        `SELECT seq, server_msg_id, timestamp, client_msg_id FROM messages
         WHERE conversation_id = ? AND target_seq = ? AND sender_id = ? AND content_type = ? ORDER BY seq LIMIT 1`,
        this.id,
        targetSeq,
        senderId,
        kind,
      )
      .toArray()[0];
    return row ? this.ack(row.client_msg_id ?? "", row) : null;
  }

  /**
   * Stores a message unless this sender already sent one with this client_msg_id, in which case
   * the original is returned (`fresh: false`) and nothing is stored. Callers run it inside one
   * transaction per batch, so a batch is durable as a whole before any of its acks leave the object.
   *
   * One statement in the common case: the insert itself finds a repeat among the hot rows (the
   * unique index on sender and client_msg_id). Keys of archived messages are looked up only in a
   * conversation that has archived any (archive.ts keeps them for 30 days).
   */
  appendOnce(senderId: string, m: NewRow & { client_msg_id: string }, now: number): { seq: number; server_msg_id: string; timestamp: number; fresh: boolean } {
    if (this.archivedSeq > 0) {
      const archived = this.sql
        .exec<{ seq: number; server_msg_id: string; timestamp: number }>(
          "SELECT seq, server_msg_id, timestamp FROM archived_keys WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?",
          this.id,
          senderId,
          m.client_msg_id,
        )
        .toArray()[0];
      if (archived) return { ...archived, fresh: false };
    }
    const inserted = this.insert(senderId, m, now, "ON CONFLICT DO NOTHING");
    if (inserted) return { ...inserted, fresh: true };
    const original = this.sql
      .exec<{ seq: number; server_msg_id: string; timestamp: number }>(
        "SELECT seq, server_msg_id, timestamp FROM messages WHERE conversation_id = ? AND sender_id = ? AND client_msg_id = ?",
        this.id,
        senderId,
        m.client_msg_id,
      )
      .one();
    return { ...original, fresh: false };
  }

  /** Assigns the next seq and stores a message the server writes itself (no client_msg_id). */
  append(senderId: string, m: NewRow & { client_msg_id: null }, now: number) {
    return this.insert(senderId, m, now, "")!;
  }

  /** The insert behind both; null when `onConflict` skipped it. */
  private insert(senderId: string, m: NewRow & { client_msg_id: string | null }, now: number, onConflict: string): { seq: number; server_msg_id: string; timestamp: number } | null {
    const meta = this.meta!;
    const seq = meta.last_seq + 1;
    const serverMsgId = newServerMsgId(seq);
    const media = m.media ? JSON.stringify(m.media) : null;
    const extra = encodeExtra(m);
    // An action's target, or the message a reply quotes: what a delete for everyone looks up.
    const targetSeq = m.target?.seq ?? m.reply_to?.seq ?? null;
    // Disappearing messages: what people send while the timer is on (not system rows, not actions).
    const expiresAt = meta.disappearing_ms > 0 && m.content_type !== "system" && !isAction(m) ? now + meta.disappearing_ms : null;
    const cursor = this.sql.exec(
      `INSERT INTO messages (conversation_id, ${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ${onConflict}`,
      this.id,
      seq,
      serverMsgId,
      senderId,
      m.client_msg_id,
      m.content,
      m.content_type,
      media,
      now,
      targetSeq,
      extra,
      expiresAt,
    );
    // A repeated (sender, client_msg_id) is skipped by ON CONFLICT: nothing written.
    if (onConflict && cursor.rowsWritten === 0) return null;
    meta.last_seq = seq;
    meta.updated_at = now;
    this.remember(
      this.toMessage({
        seq,
        server_msg_id: serverMsgId,
        sender_id: senderId,
        client_msg_id: m.client_msg_id,
        content: m.content,
        content_type: m.content_type,
        media,
        timestamp: now,
        target_seq: targetSeq,
        extra,
        expires_at: expiresAt,
      }),
    );
    return { seq, server_msg_id: serverMsgId, timestamp: now };
  }

  /** Appends a server-written `system` message recording who did what (and any membership change it records); returns its seq. */
  appendSystem(event: SystemEvent, now: number): number {
    const { seq } = this.append(event.actor, { content: JSON.stringify(event), content_type: "system", client_msg_id: null }, now);
    recordMembership(this.sql, this.id, seq, event, now);
    return seq;
  }

  /**
   * Persists the head `append` advanced in memory, and how far fan-out has got; called once per
   * batch, inside the batch's transaction, so recording fan-out progress costs no commit of its own.
   */
  saveHead(fanoutSeq = 0) {
    const meta = this.meta!;
    meta.fanout_seq = Math.max(meta.fanout_seq, fanoutSeq);
    this.sql.exec(
      "UPDATE conversations SET last_seq = ?, updated_at = ?, fanout_seq = ? WHERE conversation_id = ?",
      meta.last_seq,
      meta.updated_at,
      meta.fanout_seq,
      this.id,
    );
  }

  /** Records how far history is archived (inside the archive pass's transaction). */
  saveArchivedSeq(seq: number) {
    this.meta!.archived_seq = seq;
    this.sql.exec("UPDATE conversations SET archived_seq = ? WHERE conversation_id = ?", seq, this.id);
  }

  /** Records fan-out progress on its own (from the alarm, when no send is coming to carry it). */
  saveFanoutSeq(seq: number) {
    if (seq <= this.meta!.fanout_seq) return;
    // Written first: if the write fails, memory must not run ahead and skip the next save of this seq.
    this.sql.exec("UPDATE conversations SET fanout_seq = ? WHERE conversation_id = ?", seq, this.id);
    this.meta!.fanout_seq = seq;
  }

  /**
   * Runs `fn` in one transaction. If it throws, the rows roll back, and what this store holds in
   * memory of them is read again from storage: the head (or the next seq would leave a gap), the
   * member list (a member added or removed in the failed write is not), and the recent messages.
   */
  transaction<T>(fn: () => T): T {
    try {
      return this.storage.transactionSync(fn);
    } catch (err) {
      this.reload();
      throw err;
    }
  }

  /** Reads the conversation's row and members from storage again, dropping what memory had ahead of it. */
  private reload() {
    this.meta = this.sql.exec<ConversationRow>("SELECT * FROM conversations WHERE conversation_id = ?", this.id).toArray()[0] ?? null;
    this.members = new Map(
      this.sql.exec<MemberRow>("SELECT * FROM members WHERE conversation_id = ?", this.id).toArray().map((m) => [m.user_id, m] as const),
    );
    this.recent = [];
    this.version++;
  }

  ack(clientMsgId: string, row: { seq: number; server_msg_id: string; timestamp: number }): MessageAck {
    return {
      client_msg_id: clientMsgId,
      server_msg_id: row.server_msg_id,
      conversation_id: this.conversationId,
      seq: row.seq,
      status: "sent",
      timestamp: row.timestamp,
    };
  }

  /** Messages with seq in (afterSeq, …], ascending, at most `limit`. */
  messagesAfter(afterSeq: number, limit: number): Message[] {
    // From memory when every message asked for is there (and hot: the archive may have taken older ones).
    const first = this.recent[0]?.seq;
    if (first !== undefined && afterSeq + 1 >= first && afterSeq >= this.archivedSeq) {
      const from = afterSeq + 1 - first;
      return this.recent.slice(from, from + limit);
    }
    return this.sql
      .exec<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?`, this.id, afterSeq, limit)
      .toArray()
      .map((r) => this.toMessage(r));
  }

  /** Messages with seq in (floor, beforeSeq), the newest `limit` of them, descending. */
  messagesBefore(beforeSeq: number, floor: number, limit: number): Message[] {
    return this.sql
      .exec<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq < ? AND seq > ? ORDER BY seq DESC LIMIT ?`,
        this.id,
        beforeSeq,
        floor,
        limit,
      )
      .toArray()
      .map((r) => this.toMessage(r));
  }

  /** Moves a member's cursor forward (never back); returns the previous position. */
  advanceCursor(userId: string, status: DeliveryStatus, seq: number, now: number): { previous: number } | null {
    const m = this.member(userId);
    if (!m) return null;
    if (status === "read" && seq > m.read_seq) this.pendingAdvances.push({ user_id: userId, kind: "read", seq, at: now });
    if (seq > m.delivered_seq) this.pendingAdvances.push({ user_id: userId, kind: "delivered", seq, at: now });
    const previous = status === "read" ? m.read_seq : m.delivered_seq;
    if (seq <= previous) return { previous };
    if (status === "read") {
      m.read_seq = seq;
      m.read_at = now;
    }
    if (m.delivered_seq < seq) {
      m.delivered_seq = seq;
      m.delivered_at = now;
    }
    this.movedCursors.add(userId);
    this.cursorWrites.schedule();
    return { previous };
  }

  /** Writes the cursor moves held in memory; call inside a transaction that is being made anyway. */
  flushCursors(): void {
    this.cursorWrites.flush();
  }

  /**
   * One statement per table, the rows as a JSON array: in a 500-member group every member moves a
   * cursor every second, and a statement per row was hundreds of calls into SQLite per flush.
   */
  private writeCursors() {
    const moved = [...this.movedCursors].flatMap((userId) => {
      const m = this.members.get(userId); // pruned meanwhile: nothing left to update
      return m ? [[userId, m.role, m.joined_seq, m.joined_at, m.read_seq, m.read_at, m.delivered_seq, m.delivered_at]] : [];
    });
    this.movedCursors.clear();
    if (moved.length > 0) {
      // An upsert, driven by the moved rows: one key lookup each. (UPDATE … FROM json_each made
      // SQLite scan the moved rows once per member: quadratic in a large group.)
      // The rows exist; the other columns are only there to satisfy the insert half.
      this.sql.exec(
        `INSERT INTO members (conversation_id, user_id, role, joined_seq, joined_at, read_seq, read_at, delivered_seq, delivered_at)
         SELECT ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7 FROM json_each(?) WHERE true
         ON CONFLICT (conversation_id, user_id) DO UPDATE SET
           read_seq = excluded.read_seq, read_at = excluded.read_at, delivered_seq = excluded.delivered_seq, delivered_at = excluded.delivered_at`,
        this.id,
        JSON.stringify(moved),
      );
    }
    const advances = this.pendingAdvances.filter((a) => this.members.has(a.user_id)).map((a) => [a.user_id, a.kind, a.seq, a.at]);
    this.pendingAdvances = [];
    if (advances.length > 0) {
      this.sql.exec(
        `INSERT INTO cursor_advances (conversation_id, user_id, kind, seq, at)
         SELECT ?, value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true ON CONFLICT DO NOTHING`,
        this.id,
        JSON.stringify(advances),
      );
    }
  }

  /**
   * When each other current member first had the message delivered and read: the first cursor
   * advance that reached its seq. Cursors, not per-message rows: one read of the latest message
   * answers for everything before it.
   */
  receipts(seq: number, senderId: string): Receipt[] {
    this.flushCursors(); // the log is read below
    const firstAt = (userId: string, kind: DeliveryStatus) =>
      this.sql
        .exec<{ at: number }>(
          "SELECT at FROM cursor_advances WHERE conversation_id = ? AND user_id = ? AND kind = ? AND seq >= ? ORDER BY seq LIMIT 1",
          this.id,
          userId,
          kind,
          seq,
        )
        .toArray()[0]?.at ?? null;
    return this.activeMembers()
      .filter((m) => m.user_id !== senderId && m.joined_seq < seq)
      .map((m) => ({
        user_id: m.user_id,
        delivered_at: m.delivered_seq >= seq ? firstAt(m.user_id, "delivered") : null,
        read_at: m.read_seq >= seq ? firstAt(m.user_id, "read") : null,
      }));
  }

  /** A hot message's seq and sender by its id: found by the seq the id carries, then checked whole. */
  messageMeta(serverMsgId: string): { seq: number; sender_id: string } | null {
    const seq = seqOfServerMsgId(serverMsgId);
    if (seq === null) return null;
    const row = this.sql
      .exec<{ seq: number; sender_id: string; server_msg_id: string }>(
        "SELECT seq, sender_id, server_msg_id FROM messages WHERE conversation_id = ? AND seq = ?",
        this.id,
        seq,
      )
      .toArray()[0];
    return row && row.server_msg_id === serverMsgId ? { seq: row.seq, sender_id: row.sender_id } : null;
  }

  /** For each other sender in (from, to], their latest message: whose devices hear of a receipt. */
  latestBySenderBetween(from: number, to: number, excludeUserId: string) {
    return this.sql
      .exec<{ sender_id: string; seq: number; server_msg_id: string }>(
        `SELECT sender_id, MAX(seq) AS seq, server_msg_id FROM messages
         WHERE conversation_id = ? AND seq > ? AND seq <= ? AND sender_id != ? AND content_type != 'system' AND ${COUNTED}
         GROUP BY sender_id`,
        this.id,
        from,
        to,
        excludeUserId,
      )
      .toArray();
  }

  unreadCount(userId: string): number {
    const m = this.member(userId);
    if (!m) return 0;
    return this.sql
      .exec<{ n: number }>(
        // Messages withheld from the user (they blocked the sender: withheld.ts) are not theirs to read.
        `SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ? AND seq > ? AND sender_id != ? AND ${COUNTED}
         AND NOT EXISTS (SELECT 1 FROM withheld w WHERE w.conversation_id = messages.conversation_id AND w.user_id = ?
           AND w.blocked_id = messages.sender_id AND messages.seq >= w.from_seq AND (w.to_seq IS NULL OR messages.seq <= w.to_seq))`,
        this.id,
        Math.max(m.read_seq, m.joined_seq),
        userId,
        userId,
      )
      .one().n;
  }

  private remember(message: Message): void {
    const last = this.recent[this.recent.length - 1];
    if (last && last.seq !== message.seq - 1) this.recent = [];
    this.recent.push(message);
    if (this.recent.length > 2 * RECENT_MESSAGES) this.recent = this.recent.slice(-RECENT_MESSAGES);
  }

  private toMessage(r: MessageRow): Message {
    const message: Message = {
      conversation_id: this.conversationId,
      server_msg_id: r.server_msg_id,
      seq: r.seq,
      sender_id: r.sender_id,
      content: r.content,
      content_type: r.content_type,
      timestamp: r.timestamp,
    };
    if (r.media) message.media = JSON.parse(r.media) as Message["media"];
    if (r.extra) Object.assign(message, JSON.parse(r.extra) as MessageExtra);
    if (r.expires_at !== null) message.expires_at = r.expires_at;
    return message;
  }

  /** A hot message by seq, as stored (actions not folded in: state.ts does that). */
  messageAt(seq: number): Message | null {
    const row = this.sql.exec<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND seq = ?`, this.id, seq).toArray()[0];
    return row ? this.toMessage(row) : null;
  }

  /**
   * A delete for everyone, in the hot rows: the message loses its text, media, quote and mentions,
   * edits of it lose their text, and replies quoting it lose the quote's snippet. (Archived copies
   * are erasure.ts's.) The recent messages kept for fan-out are read again from storage.
   */
  scrub(seq: number): void {
    this.sql.exec(
      `UPDATE messages SET content = '', media = NULL, extra = json_remove(extra, '$.reply_to', '$.mentions')
       WHERE conversation_id = ? AND seq = ?`,
      this.id,
      seq,
    );
    this.sql.exec("UPDATE messages SET content = '' WHERE conversation_id = ? AND target_seq = ? AND content_type = 'edit'", this.id, seq);
    this.sql.exec(
      `UPDATE messages SET extra = json_set(extra, '$.reply_to.snippet', '', '$.reply_to.deleted', json('true'))
       WHERE conversation_id = ? AND target_seq = ? AND ${COUNTED} AND json_extract(extra, '$.reply_to.seq') = ?`,
      this.id,
      seq,
      seq,
    );
    this.recent = [];
  }
}

/** The `extra` column: only the relations a row has, or null. */
function encodeExtra(m: MessageExtra): string | null {
  const extra: MessageExtra = {};
  if (m.reply_to) extra.reply_to = m.reply_to;
  if (m.mentions && m.mentions.length > 0) extra.mentions = m.mentions;
  if (m.forwarded) extra.forwarded = m.forwarded;
  if (m.target) extra.target = m.target;
  return Object.keys(extra).length > 0 ? JSON.stringify(extra) : null;
}
