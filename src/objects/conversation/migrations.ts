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
];
