import type { Migration } from "../migrations";

/** Append-only: add a new entry for every change; never edit one that has shipped. */
export const conversationMigrations: Migration[] = [
  {
    id: 1,
    name: "conversation, members, messages",
    sql: `
      CREATE TABLE conversation (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        conversation_id TEXT NOT NULL,
        type TEXT NOT NULL,
        name TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        -- every message up to here has reached every member's user object
        fanout_seq INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE members (
        user_id TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        joined_seq INTEGER NOT NULL,
        joined_at INTEGER NOT NULL,
        delivered_seq INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        read_seq INTEGER NOT NULL DEFAULT 0,
        read_at INTEGER
      );
      CREATE TABLE messages (
        seq INTEGER PRIMARY KEY,
        server_msg_id TEXT NOT NULL UNIQUE,
        sender_id TEXT NOT NULL,
        client_msg_id TEXT,
        content TEXT NOT NULL,
        content_type TEXT NOT NULL,
        media TEXT,
        timestamp INTEGER NOT NULL
      );
      CREATE UNIQUE INDEX messages_idempotency ON messages (sender_id, client_msg_id)
        WHERE client_msg_id IS NOT NULL;
    `,
  },
  {
    id: 2,
    name: "groups: departed members, cursor advances",
    sql: `
      -- A member removed (or who left) keeps a row until fan-out has passed their removal, so
      -- messages before it still reach them and nothing after it does.
      ALTER TABLE members ADD COLUMN removed_seq INTEGER;
      -- One row per cursor advance (not per message): when a receipt's message was first covered.
      CREATE TABLE cursor_advances (
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (user_id, kind, seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 3,
    name: "history archive: segment index, per-sender facts, archived idempotency keys",
    sql: `
      -- One row per immutable R2 segment; together they hold seqs 1..MAX(last_seq), contiguous.
      CREATE TABLE archive_segments (
        first_seq INTEGER PRIMARY KEY,
        last_seq INTEGER NOT NULL UNIQUE,
        key TEXT NOT NULL,
        message_count INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        archived_at INTEGER NOT NULL
      );
      -- Per segment and sender: how many messages (unread counts), and their latest non-system
      -- one (whom a receipt names), so neither needs the segment itself unless a range cuts it.
      CREATE TABLE archive_senders (
        first_seq INTEGER NOT NULL,
        sender_id TEXT NOT NULL,
        messages INTEGER NOT NULL,
        last_seq INTEGER,
        last_server_msg_id TEXT,
        PRIMARY KEY (first_seq, sender_id)
      ) WITHOUT ROWID;
      -- (sender, client_msg_id) of archived messages, so a late retry still gets its original ack.
      -- Kept for a retention period (archive.ts), then pruned: the object stays bounded.
      CREATE TABLE archived_keys (
        sender_id TEXT NOT NULL,
        client_msg_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        server_msg_id TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (sender_id, client_msg_id)
      ) WITHOUT ROWID;
      CREATE INDEX archived_keys_age ON archived_keys (timestamp);
    `,
  },
];
