import type { Migration } from "../migrations";

/** Append-only: add a new entry for every change; never edit one that has shipped. */
export const userMigrations: Migration[] = [
  {
    id: 1,
    name: "profile, inbox, devices, device cursors",
    sql: `
      CREATE TABLE profile (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        user_id TEXT NOT NULL,
        username TEXT NOT NULL,
        display_name TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- The user's inbox: one row per conversation, with what the conversation list shows.
      CREATE TABLE inbox (
        conversation_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        name TEXT,
        members TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_message TEXT,
        delivered_seq INTEGER NOT NULL DEFAULT 0,
        read_seq INTEGER NOT NULL DEFAULT 0,
        unread_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX inbox_recent ON inbox (updated_at DESC);
      CREATE TABLE devices (
        device_id TEXT PRIMARY KEY,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
      );
      -- The highest seq each device has acknowledged as delivered, per conversation.
      CREATE TABLE delivery_cursors (
        device_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        delivered_seq INTEGER NOT NULL,
        PRIMARY KEY (device_id, conversation_id)
      );
    `,
  },
  {
    id: 2,
    name: "presence: last seen, privacy, subscribers",
    sql: `
      ALTER TABLE profile ADD COLUMN last_seen INTEGER;
      ALTER TABLE profile ADD COLUMN last_seen_visible INTEGER NOT NULL DEFAULT 1;
      -- Users watching this user's presence; a subscription lapses unless renewed.
      CREATE TABLE presence_subscribers (
        subscriber_id TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
    `,
  },
];
