/**
 * Moving a conversation from one conversation object to another: what a change of
 * `CONVERSATION_SHARDS` (or an upgrade from one object per conversation) needs. Every table is keyed
 * by conversation, so a conversation is its rows: the hot messages, members and their cursors, the
 * archive's index (the segments themselves stay in R2 under the conversation's id) and the keys of
 * archived messages. The new object adopts them (every write an upsert), and only then does the old
 * one forget them: a move cut short leaves the conversation in both, and the next move finishes it.
 */

type Rows = Record<string, SqlStorageValue>[];

/** Every table of a conversation and its columns; names come from this list, never from the data. */
const CONVERSATION_TABLES = {
  conversations: [
    "conversation_id",
    "type",
    "name",
    "created_at",
    "updated_at",
    "last_seq",
    "fanout_seq",
    "archived_seq",
    "description",
    "only_admins_send",
    "only_admins_edit_info",
    "disappearing_ms",
    "photo_media_id",
  ],
  members: ["conversation_id", "user_id", "role", "joined_seq", "joined_at", "delivered_seq", "delivered_at", "read_seq", "read_at", "removed_seq", "read_receipts"],
  messages: ["conversation_id", "seq", "server_msg_id", "sender_id", "client_msg_id", "content", "content_type", "media", "timestamp", "target_seq", "extra", "expires_at"],
  cursor_advances: ["conversation_id", "user_id", "kind", "seq", "at"],
  archive_segments: ["conversation_id", "first_seq", "last_seq", "key", "message_count", "bytes", "archived_at"],
  archive_senders: ["conversation_id", "first_seq", "sender_id", "messages", "last_seq", "last_server_msg_id"],
  archived_keys: ["conversation_id", "sender_id", "client_msg_id", "seq", "server_msg_id", "timestamp"],
  invite_links: ["conversation_id", "token", "created_by", "created_at"],
  withheld: ["conversation_id", "user_id", "blocked_id", "from_seq", "to_seq"],
  message_state: ["conversation_id", "seq", "state", "state_seq"],
  archived_refs: ["conversation_id", "target_seq", "seq"],
  erasures: ["conversation_id", "seq", "media_id"],
  archived_expiry: ["conversation_id", "seq", "expires_at"],
  // The full-text index follows search_text by its triggers (migration 11).
  search_text: ["conversation_id", "seq", "text"],
  search_progress: ["conversation_id", "indexed_seq"],
  search_unindexed: ["conversation_id", "up_to"],
  member_history: ["conversation_id", "seq", "position", "user_id", "change", "actor", "via", "at"],
  member_history_owed: ["conversation_id", "up_to"],
} as const;

type ConversationTable = keyof typeof CONVERSATION_TABLES;

export interface ConversationBundle {
  conversation_id: string;
  tables: Record<ConversationTable, Rows>;
}

export function exportConversation(sql: SqlStorage, conversationId: string): ConversationBundle {
  const tables = {} as Record<ConversationTable, Rows>;
  for (const [table, columns] of Object.entries(CONVERSATION_TABLES) as [ConversationTable, readonly string[]][]) {
    tables[table] = sql.exec(`SELECT ${columns.join(", ")} FROM ${table} WHERE conversation_id = ?`, conversationId).toArray();
  }
  return { conversation_id: conversationId, tables };
}

export function importConversation(sql: SqlStorage, bundle: ConversationBundle): void {
  for (const [table, columns] of Object.entries(CONVERSATION_TABLES) as [ConversationTable, readonly string[]][]) {
    const insert = `INSERT OR REPLACE INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
    for (const row of bundle.tables[table] ?? []) sql.exec(insert, ...columns.map((c) => row[c] ?? null));
  }
}

export function forgetConversationRows(sql: SqlStorage, conversationId: string): void {
  for (const table of Object.keys(CONVERSATION_TABLES)) sql.exec(`DELETE FROM ${table} WHERE conversation_id = ?`, conversationId);
}

/** The conversations an object holds. */
export function heldConversations(sql: SqlStorage): string[] {
  return sql.exec<{ conversation_id: string }>("SELECT conversation_id FROM conversations").toArray().map((r) => r.conversation_id);
}
