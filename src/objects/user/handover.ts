/**
 * Moving a user from one user object to another: what a change of `USER_SHARDS` (or an upgrade
 * from one object per user) needs. Every table is keyed by user, so a user's state is their rows;
 * what their conversations share with other users of the object travels with them and is merged
 * into what the new object already has.
 *
 * The order makes a move safe to repeat: the new object adopts (every write an upsert), and only
 * then does the old one forget. A move cut short leaves the user in both; the next move finishes it.
 */

/** A table's rows, by column. Column names come from the lists below, never from the data. */
type Rows = Record<string, SqlStorageValue>[];

/** Tables with one or more rows per user, and the columns a move carries. */
const USER_TABLES = {
  users: [
    "user_id",
    "username",
    "display_name",
    "created_at",
    "last_seen",
    "last_seen_visible",
    "push_previews",
    "token_generation",
    "push_minute_start",
    "push_sent_this_minute",
    "push_dead_letters",
    "groups_add",
    "presence_visible_to",
    "marks_version",
    "keep_archived",
    "about",
    "photo_media_id",
    "photo_visible_to",
    "about_visible_to",
    "read_receipts",
  ],
  inbox: ["user_id", "conversation_id", "delivered_seq", "read_seq", "unread_count", "added_by_other", "archived", "muted_until", "pinned_at", "marked_unread"],
  devices: ["user_id", "device_id", "first_seen", "last_seen"],
  delivery_cursors: ["user_id", "device_id", "conversation_id", "delivered_seq"],
  presence_subscribers: ["user_id", "subscriber_id", "expires_at"],
  push_subscriptions: ["user_id", "device_id", "endpoint", "p256dh", "auth", "created_at", "session_id"],
  push_windows: ["user_id", "conversation_id", "last_sent_at", "pending", "pending_sender", "pending_preview", "counted_seq", "sent_seq"],
  // Dead letters and outbox rows get new ids where they land.
  push_dead_letters: ["user_id", "at", "job"],
  push_outbox: ["user_id", "conversation_id", "count", "sender_id", "latest", "created_at", "attempts", "push_id", "last_seq"],
  push_sent: ["user_id", "push_id", "device_id", "at"],
  revoked_tokens: ["jti", "expires_at", "user_id"],
  contacts: ["user_id", "contact_id"],
  blocks: ["user_id", "blocked_id", "created_at"],
  media_uploads: ["user_id", "media_id", "size", "ready", "expires_at"],
  sessions: ["user_id", "session_id", "version", "created_at", "expires_at", "rotated_at"],
  join_holds: ["user_id", "conversation_id", "added_by_other", "expires_at"],
  invitations: ["user_id", "conversation_id", "name", "inviter_id", "created_at", "expires_at"],
  message_marks: ["user_id", "conversation_id", "seq", "kind", "server_msg_id", "active", "at", "version"],
} as const;

type UserTable = keyof typeof USER_TABLES;

export interface UserBundle {
  user_id: string;
  tables: Record<UserTable, Rows>;
  /** The user's conversations as this object knows them (shared with its other members here). */
  conversations: Rows;
  members: Rows;
}

export function exportUser(sql: SqlStorage, userId: string): UserBundle {
  const tables = {} as Record<UserTable, Rows>;
  for (const [table, columns] of Object.entries(USER_TABLES) as [UserTable, readonly string[]][]) {
    tables[table] = sql.exec(`SELECT ${columns.join(", ")} FROM ${table} WHERE user_id = ?`, userId).toArray();
  }
  const conversations = sql
    .exec(
      `SELECT c.conversation_id, c.type, c.name, c.photo_media_id, c.created_at, c.updated_at, c.last_seq, c.last_message
       FROM conversations c JOIN inbox i USING (conversation_id) WHERE i.user_id = ?`,
      userId,
    )
    .toArray();
  const members = sql
    .exec("SELECT m.conversation_id, m.members FROM conversation_members m JOIN inbox i USING (conversation_id) WHERE i.user_id = ?", userId)
    .toArray();
  return { user_id: userId, tables, conversations, members };
}

/** Writes a moved user's rows; conversations this object already knows keep the newer head. */
export function importUser(sql: SqlStorage, bundle: UserBundle): void {
  for (const [table, columns] of Object.entries(USER_TABLES) as [UserTable, readonly string[]][]) {
    const insert = `INSERT OR REPLACE INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
    for (const row of bundle.tables[table] ?? []) sql.exec(insert, ...columns.map((c) => row[c] ?? null));
  }
  for (const c of bundle.conversations) {
    sql.exec(
      `INSERT INTO conversations (conversation_id, type, name, photo_media_id, created_at, updated_at, last_seq, last_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET
         last_message = CASE WHEN excluded.last_seq > conversations.last_seq THEN excluded.last_message ELSE conversations.last_message END,
         last_seq = MAX(conversations.last_seq, excluded.last_seq), updated_at = MAX(conversations.updated_at, excluded.updated_at)`,
      c.conversation_id,
      c.type,
      c.name,
      c.photo_media_id ?? null,
      c.created_at,
      c.updated_at,
      c.last_seq,
      c.last_message,
    );
  }
  for (const m of bundle.members) {
    sql.exec("INSERT INTO conversation_members (conversation_id, members) VALUES (?, ?) ON CONFLICT DO NOTHING", m.conversation_id, m.members);
    for (const member of JSON.parse(String(m.members)) as { user_id: string }[]) {
      sql.exec("INSERT OR IGNORE INTO conversation_member_ids (member_id, conversation_id) VALUES (?, ?)", member.user_id, m.conversation_id);
    }
  }
}

/** Deletes the user's own rows (their conversations' shared rows go with the inbox: InboxStore.leave). */
export function forgetUserRows(sql: SqlStorage, userId: string): void {
  for (const table of Object.keys(USER_TABLES)) sql.exec(`DELETE FROM ${table} WHERE user_id = ?`, userId);
}
