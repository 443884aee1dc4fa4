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
  {
    id: 3,
    name: "push: subscriptions, coalescing windows, rate, dead letters",
    sql: `
      ALTER TABLE profile ADD COLUMN push_previews INTEGER NOT NULL DEFAULT 1;
      -- One Web Push subscription per device.
      CREATE TABLE push_subscriptions (
        device_id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- Per conversation: when the last push went out, and what arrived since (sent when the window ends).
      CREATE TABLE push_windows (
        conversation_id TEXT PRIMARY KEY,
        last_sent_at INTEGER NOT NULL,
        pending INTEGER NOT NULL DEFAULT 0,
        pending_sender TEXT,
        pending_preview TEXT
      );
      -- Pushes sent in the current minute, for the per-user cap; and jobs that exhausted their retries.
      CREATE TABLE push_stats (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        minute_start INTEGER NOT NULL DEFAULT 0,
        sent_this_minute INTEGER NOT NULL DEFAULT 0,
        dead_letters INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO push_stats (id) VALUES (1);
      CREATE TABLE push_dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        job TEXT NOT NULL
      );
    `,
  },
  {
    id: 4,
    name: "sessions: token generation and revoked tokens",
    sql: `
      ALTER TABLE profile ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;
      -- Logged-out tokens, kept until they would have expired anyway.
      CREATE TABLE revoked_tokens (
        jti TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    id: 5,
    name: "inbox: member lists in their own table",
    sql: `
      -- Every delivery and acknowledgement updates an inbox row, and SQLite rewrites a whole row to
      -- change one column: with a 500-member group's member list (~25 KB of overflow pages) in it,
      -- each head or cursor write rewrote the list. Lists change only with membership.
      CREATE TABLE inbox_members (
        conversation_id TEXT PRIMARY KEY,
        members TEXT NOT NULL
      );
      INSERT INTO inbox_members (conversation_id, members) SELECT conversation_id, members FROM inbox;
      ALTER TABLE inbox DROP COLUMN members;
    `,
  },
  {
    id: 6,
    name: "push windows: the highest seq counted",
    sql: `
      -- A conversation delivers again what a user object held unwritten when it was evicted; the
      -- push window counts each seq once, or "N new messages" counted some twice.
      ALTER TABLE push_windows ADD COLUMN counted_seq INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 7,
    name: "inbox: who shares a conversation with this user, indexed",
    sql: `
      -- "Do we share a conversation?" guards every presence watch and look-up. Answered from the
      -- member lists' JSON it scanned every list: 150,000 entries for someone in 300 full groups.
      CREATE TABLE inbox_member_ids (
        user_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        PRIMARY KEY (user_id, conversation_id)
      );
      INSERT OR IGNORE INTO inbox_member_ids (user_id, conversation_id)
        SELECT json_extract(m.value, '$.user_id'), i.conversation_id FROM inbox_members i, json_each(i.members) AS m;
    `,
  },
];
