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
  {
    id: 8,
    name: "users sharded: every table keyed by user, conversations shared by the shard",
    sql: `
      -- A user object now holds a shard of users (USER_SHARDS; one user when unset). Tables that
      -- held one user's rows gain the user id; what is the same for every member of a conversation
      -- (its name, members and newest message) is kept once per object, not once per member.
      CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        display_name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen INTEGER,
        last_seen_visible INTEGER NOT NULL DEFAULT 1,
        push_previews INTEGER NOT NULL DEFAULT 1,
        token_generation INTEGER NOT NULL DEFAULT 0,
        -- pushes sent in the current minute (the per-user cap), and pushes that exhausted their retries
        push_minute_start INTEGER NOT NULL DEFAULT 0,
        push_sent_this_minute INTEGER NOT NULL DEFAULT 0,
        push_dead_letters INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      INSERT INTO users
        SELECT p.user_id, p.username, p.display_name, p.created_at, p.last_seen, p.last_seen_visible, p.push_previews,
               p.token_generation, COALESCE(s.minute_start, 0), COALESCE(s.sent_this_minute, 0), COALESCE(s.dead_letters, 0)
        FROM profile p LEFT JOIN push_stats s ON s.id = 1;

      CREATE TABLE conversations (
        conversation_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        name TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        -- the newest message delivered here, and its encoded frame
        last_seq INTEGER NOT NULL DEFAULT 0,
        last_message TEXT
      ) WITHOUT ROWID;
      INSERT INTO conversations SELECT conversation_id, type, name, created_at, updated_at, last_seq, last_message FROM inbox;
      ALTER TABLE inbox_members RENAME TO conversation_members;
      ALTER TABLE inbox_member_ids RENAME TO conversation_member_ids;
      ALTER TABLE conversation_member_ids RENAME COLUMN user_id TO member_id;

      -- One row per user and conversation: that user's cursors and unread count.
      CREATE TABLE inbox_by_user (
        user_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        delivered_seq INTEGER NOT NULL DEFAULT 0,
        read_seq INTEGER NOT NULL DEFAULT 0,
        unread_count INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, conversation_id)
      ) WITHOUT ROWID;
      INSERT INTO inbox_by_user SELECT p.user_id, i.conversation_id, i.delivered_seq, i.read_seq, i.unread_count FROM inbox i, profile p;
      DROP TABLE inbox;
      ALTER TABLE inbox_by_user RENAME TO inbox;
      CREATE INDEX inbox_by_conversation ON inbox (conversation_id);

      CREATE TABLE devices_by_user (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (user_id, device_id)
      ) WITHOUT ROWID;
      INSERT INTO devices_by_user SELECT p.user_id, d.device_id, d.first_seen, d.last_seen FROM devices d, profile p;
      DROP TABLE devices;
      ALTER TABLE devices_by_user RENAME TO devices;

      CREATE TABLE cursors_by_user (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        delivered_seq INTEGER NOT NULL,
        PRIMARY KEY (user_id, device_id, conversation_id)
      ) WITHOUT ROWID;
      INSERT INTO cursors_by_user SELECT p.user_id, c.device_id, c.conversation_id, c.delivered_seq FROM delivery_cursors c, profile p;
      DROP TABLE delivery_cursors;
      ALTER TABLE cursors_by_user RENAME TO delivery_cursors;

      CREATE TABLE watchers_by_user (
        user_id TEXT NOT NULL,
        subscriber_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, subscriber_id)
      ) WITHOUT ROWID;
      INSERT INTO watchers_by_user SELECT p.user_id, w.subscriber_id, w.expires_at FROM presence_subscribers w, profile p;
      DROP TABLE presence_subscribers;
      ALTER TABLE watchers_by_user RENAME TO presence_subscribers;

      CREATE TABLE subscriptions_by_user (
        user_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        p256dh TEXT NOT NULL,
        auth TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, device_id)
      ) WITHOUT ROWID;
      INSERT INTO subscriptions_by_user SELECT p.user_id, s.device_id, s.endpoint, s.p256dh, s.auth, s.created_at FROM push_subscriptions s, profile p;
      DROP TABLE push_subscriptions;
      ALTER TABLE subscriptions_by_user RENAME TO push_subscriptions;

      CREATE TABLE windows_by_user (
        user_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        last_sent_at INTEGER NOT NULL,
        pending INTEGER NOT NULL DEFAULT 0,
        pending_sender TEXT,
        pending_preview TEXT,
        counted_seq INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id, conversation_id)
      ) WITHOUT ROWID;
      INSERT INTO windows_by_user
        SELECT p.user_id, w.conversation_id, w.last_sent_at, w.pending, w.pending_sender, w.pending_preview, w.counted_seq
        FROM push_windows w, profile p;
      DROP TABLE push_windows;
      ALTER TABLE windows_by_user RENAME TO push_windows;
      -- Only windows with something waiting are read by the alarm.
      CREATE INDEX push_windows_pending ON push_windows (pending) WHERE pending > 0;

      ALTER TABLE push_dead_letters ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
      UPDATE push_dead_letters SET user_id = (SELECT user_id FROM profile);
      CREATE INDEX push_dead_letters_by_user ON push_dead_letters (user_id, id);
      ALTER TABLE revoked_tokens ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
      UPDATE revoked_tokens SET user_id = (SELECT user_id FROM profile);

      DROP TABLE profile;
      DROP TABLE push_stats;
    `,
  },
  {
    id: 9,
    name: "push outbox",
    sql: `
      -- A push decided (its coalescing window committed) but not yet on the queue. Written in the same
      -- transaction as the window, deleted once the queue took it: a crash in between leaves the row,
      -- and the object's alarm sends it.
      CREATE TABLE push_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        count INTEGER NOT NULL,
        sender_id TEXT,
        latest TEXT,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX push_outbox_user ON push_outbox (user_id);
    `,
  },
  {
    id: 10,
    name: "consent: who may add me, contacts, join holds, invitations, archived",
    sql: `
      -- "Who can add me to groups": everyone, contacts or nobody (consent.ts).
      ALTER TABLE users ADD COLUMN groups_add TEXT NOT NULL DEFAULT 'everyone';
      -- Conversations others put the user in count toward their own limit, apart from the user's own.
      ALTER TABLE inbox ADD COLUMN added_by_other INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE inbox ADD COLUMN archived INTEGER NOT NULL DEFAULT 0;
      -- People the user started a chat with, put in a group, or wrote to in a direct chat.
      CREATE TABLE contacts (
        user_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        PRIMARY KEY (user_id, contact_id)
      ) WITHOUT ROWID;
      -- A place in a conversation, taken when an add is admitted and before the conversation commits
      -- it: concurrent adds see each other's, so the caps hold. Becomes the inbox row on join; lapses
      -- if the add never completes.
      CREATE TABLE join_holds (
        user_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        added_by_other INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, conversation_id)
      ) WITHOUT ROWID;
      CREATE TABLE invitations (
        user_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        name TEXT,
        inviter_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, conversation_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 11,
    name: "sessions: rotation, lifetime, push subscriptions owned by a session",
    sql: `
      -- One row per signed-in session (tokens.ts). Its tokens carry its id and version: a refresh moves
      -- the version on (the older token stops working); a token older than that, refreshed again, is
      -- a stolen copy, and the session ends. A missing row is an ended session.
      CREATE TABLE sessions (
        user_id TEXT NOT NULL,
        session_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        rotated_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, session_id)
      ) WITHOUT ROWID;
      CREATE INDEX sessions_expiry ON sessions (expires_at);
      -- The session that made a push subscription: ending it deletes the subscription.
      ALTER TABLE push_subscriptions ADD COLUMN session_id TEXT;
    `,
  },
  {
    id: 12,
    name: "who sees my presence",
    sql: `
      -- Presence and last seen: everyone who shares a conversation (the default), contacts, nobody.
      ALTER TABLE users ADD COLUMN presence_visible_to TEXT NOT NULL DEFAULT 'everyone';
    `,
  },
  {
    id: 13,
    name: "blocks",
    sql: `
      -- Who the user blocked: their direct messages, typing, presence watches, adds and invitations stop.
      CREATE TABLE blocks (
        user_id TEXT NOT NULL,
        blocked_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, blocked_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 14,
    name: "media uploads: quota and unfinished uploads",
    sql: `
      -- Every upload granted to the user, with its declared size: what counts toward their quota, and
      -- what the alarm deletes (bytes and record) when it was never completed (uploads.ts).
      CREATE TABLE media_uploads (
        user_id TEXT NOT NULL,
        media_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        ready INTEGER NOT NULL DEFAULT 0,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, media_id)
      ) WITHOUT ROWID;
      CREATE INDEX media_uploads_unfinished ON media_uploads (ready, expires_at);
    `,
  },
  {
    id: 15,
    name: "pushes sent once",
    sql: `
      -- Each decided push has an id its queue jobs carry. The queue may get a push twice (an outbox row
      -- whose deletion was lost in a crash after the enqueue, sent again): the consumer asks here, and
      -- a device that already got that push is not pushed again. Kept a day.
      ALTER TABLE push_outbox ADD COLUMN push_id TEXT;
      CREATE TABLE push_sent (
        user_id TEXT NOT NULL,
        push_id TEXT NOT NULL,
        device_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (user_id, push_id, device_id)
      ) WITHOUT ROWID;
      CREATE INDEX push_sent_age ON push_sent (at);
    `,
  },
  {
    id: 16,
    name: "alarm tasks",
    sql: `
      -- The object's one alarm, as named tasks with their due times (src/objects/alarms.ts): a wake-up
      -- runs only what is due, and an eviction forgets nothing. Objects from before it get the tasks
      -- their rows call for, so none waits for a booking that was only in the old alarm.
      CREATE TABLE alarm_tasks (
        task TEXT NOT NULL,
        subject TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        PRIMARY KEY (task, subject)
      ) WITHOUT ROWID;
      INSERT INTO alarm_tasks (task, subject, due_at)
        SELECT 'sessions', '', (SELECT MIN(expires_at) FROM sessions) WHERE EXISTS (SELECT 1 FROM sessions);
      INSERT INTO alarm_tasks (task, subject, due_at)
        SELECT 'uploads', '', (SELECT MIN(expires_at) FROM media_uploads WHERE ready = 0) WHERE EXISTS (SELECT 1 FROM media_uploads WHERE ready = 0);
      INSERT INTO alarm_tasks (task, subject, due_at)
        SELECT 'push', '', 0 WHERE EXISTS (SELECT 1 FROM push_windows WHERE pending > 0) OR EXISTS (SELECT 1 FROM push_outbox);
      INSERT INTO alarm_tasks (task, subject, due_at) SELECT 'liveness', '', 0 WHERE EXISTS (SELECT 1 FROM devices);
    `,
  },
  {
    id: 17,
    name: "pushes of deleted messages",
    sql: `
      -- A message deleted for everyone must not be pushed once the delete is known: a window's pending
      -- messages are those counted after \`sent_seq\` (the last one pushed), and an outbox row names the
      -- newest message it tells of (\`last_seq\`).
      ALTER TABLE push_windows ADD COLUMN sent_seq INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE push_outbox ADD COLUMN last_seq INTEGER;
    `,
  },
  {
    id: 18,
    name: "message marks: starred and hidden (delete for me)",
    sql: `
      -- A user's own marks on messages (marks.ts): starred, and hidden by "delete for me". Every change
      -- takes the user's next marks version, so a device that was away asks for what changed after the
      -- version it has; an unstar keeps its row (active = 0) so that devices learn of it too.
      ALTER TABLE users ADD COLUMN marks_version INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE message_marks (
        user_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('starred', 'hidden')),
        server_msg_id TEXT NOT NULL,
        active INTEGER NOT NULL,
        at INTEGER NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (user_id, conversation_id, seq, kind)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX message_marks_changes ON message_marks (user_id, version);
      CREATE INDEX message_marks_starred ON message_marks (user_id, at) WHERE kind = 'starred' AND active = 1;
    `,
  },
  {
    id: 19,
    name: "conversation settings: mute, pin, mark as unread, keep archived",
    sql: `
      -- A user's own settings for each conversation in their list (conversationSettings.ts): muted
      -- until a time (MUTED_FOREVER: always), pinned at a time (at most three), marked unread.
      ALTER TABLE inbox ADD COLUMN muted_until INTEGER;
      ALTER TABLE inbox ADD COLUMN pinned_at INTEGER;
      ALTER TABLE inbox ADD COLUMN marked_unread INTEGER NOT NULL DEFAULT 0;
      -- Archived chats stay archived when a new message arrives.
      ALTER TABLE users ADD COLUMN keep_archived INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 20,
    name: "profiles: about, photo, and who may see them; read receipts",
    sql: `
      -- The profile a user edits (profiles.ts), and their privacy choices for it: everyone, contacts, nobody.
      ALTER TABLE users ADD COLUMN about TEXT;
      ALTER TABLE users ADD COLUMN photo_media_id TEXT;
      ALTER TABLE users ADD COLUMN photo_visible_to TEXT NOT NULL DEFAULT 'everyone';
      ALTER TABLE users ADD COLUMN about_visible_to TEXT NOT NULL DEFAULT 'everyone';
      -- Off: the user's reads are not shown to others, nor others' reads to them (their conversations keep a copy).
      ALTER TABLE users ADD COLUMN read_receipts INTEGER NOT NULL DEFAULT 1;
      -- This object's copy of a group's photo, as of its name (inbox.ts), for the list.
      ALTER TABLE conversations ADD COLUMN photo_media_id TEXT;
    `,
  },
];
