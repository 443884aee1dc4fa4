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
  {
    id: 4,
    name: "conversations sharded: every table keyed by conversation",
    sql: `
      -- A conversation object now holds a shard of conversations (CONVERSATION_SHARDS; one when
      -- unset). Every table gains the conversation id; the one-row conversation table becomes a
      -- table of conversations.
      CREATE TABLE conversations (
        conversation_id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        name TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        -- every member's user object has every message up to here
        fanout_seq INTEGER NOT NULL DEFAULT 0,
        -- every message up to here is in an R2 segment and nowhere else (archive.ts)
        archived_seq INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      INSERT INTO conversations
        SELECT conversation_id, type, name, created_at, updated_at, last_seq, fanout_seq,
               COALESCE((SELECT MAX(last_seq) FROM archive_segments), 0)
        FROM conversation;
      -- What a restart must pick up: fan-outs cut short.
      CREATE INDEX conversations_unfinished ON conversations (conversation_id) WHERE fanout_seq < last_seq;

      CREATE TABLE members_by_conversation (
        conversation_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        role TEXT NOT NULL,
        joined_seq INTEGER NOT NULL,
        joined_at INTEGER NOT NULL,
        delivered_seq INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        read_seq INTEGER NOT NULL DEFAULT 0,
        read_at INTEGER,
        removed_seq INTEGER,
        PRIMARY KEY (conversation_id, user_id)
      ) WITHOUT ROWID;
      INSERT INTO members_by_conversation
        SELECT c.conversation_id, m.user_id, m.role, m.joined_seq, m.joined_at, m.delivered_seq, m.delivered_at, m.read_seq, m.read_at, m.removed_seq
        FROM members m, conversation c;
      DROP TABLE members;
      ALTER TABLE members_by_conversation RENAME TO members;

      -- Clustered by (conversation, seq): fan-out and history read runs of seqs.
      CREATE TABLE messages_by_conversation (
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        server_msg_id TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        client_msg_id TEXT,
        content TEXT NOT NULL,
        content_type TEXT NOT NULL,
        media TEXT,
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      ) WITHOUT ROWID;
      INSERT INTO messages_by_conversation
        SELECT c.conversation_id, m.seq, m.server_msg_id, m.sender_id, m.client_msg_id, m.content, m.content_type, m.media, m.timestamp
        FROM messages m, conversation c;
      DROP TABLE messages;
      ALTER TABLE messages_by_conversation RENAME TO messages;
      -- No index of server_msg_id: every lookup by id goes through the seq it carries.
      CREATE UNIQUE INDEX messages_idempotency ON messages (conversation_id, sender_id, client_msg_id) WHERE client_msg_id IS NOT NULL;

      CREATE TABLE advances_by_conversation (
        conversation_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, user_id, kind, seq)
      ) WITHOUT ROWID;
      INSERT INTO advances_by_conversation SELECT c.conversation_id, a.user_id, a.kind, a.seq, a.at FROM cursor_advances a, conversation c;
      DROP TABLE cursor_advances;
      ALTER TABLE advances_by_conversation RENAME TO cursor_advances;

      CREATE TABLE segments_by_conversation (
        conversation_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        key TEXT NOT NULL,
        message_count INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        archived_at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, first_seq)
      ) WITHOUT ROWID;
      INSERT INTO segments_by_conversation
        SELECT c.conversation_id, s.first_seq, s.last_seq, s.key, s.message_count, s.bytes, s.archived_at FROM archive_segments s, conversation c;
      DROP TABLE archive_segments;
      ALTER TABLE segments_by_conversation RENAME TO archive_segments;

      CREATE TABLE senders_by_conversation (
        conversation_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        sender_id TEXT NOT NULL,
        messages INTEGER NOT NULL,
        last_seq INTEGER,
        last_server_msg_id TEXT,
        PRIMARY KEY (conversation_id, first_seq, sender_id)
      ) WITHOUT ROWID;
      INSERT INTO senders_by_conversation
        SELECT c.conversation_id, s.first_seq, s.sender_id, s.messages, s.last_seq, s.last_server_msg_id FROM archive_senders s, conversation c;
      DROP TABLE archive_senders;
      ALTER TABLE senders_by_conversation RENAME TO archive_senders;

      CREATE TABLE keys_by_conversation (
        conversation_id TEXT NOT NULL,
        sender_id TEXT NOT NULL,
        client_msg_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        server_msg_id TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, sender_id, client_msg_id)
      ) WITHOUT ROWID;
      INSERT INTO keys_by_conversation
        SELECT c.conversation_id, k.sender_id, k.client_msg_id, k.seq, k.server_msg_id, k.timestamp FROM archived_keys k, conversation c;
      DROP TABLE archived_keys;
      ALTER TABLE keys_by_conversation RENAME TO archived_keys;
      CREATE INDEX archived_keys_age ON archived_keys (timestamp);

      DROP TABLE conversation;
    `,
  },
  {
    id: 5,
    name: "group invite links",
    sql: `
      -- A group's invite link: whoever holds the token may join until an admin revokes it (a new
      -- link has a new token). Kept apart from the conversation's head, which changes per message.
      CREATE TABLE invite_links (
        conversation_id TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 6,
    name: "blocks in direct chats",
    sql: `
      -- Messages from blocked_id that user_id does not get (a block in a direct chat): those with seq
      -- from from_seq to to_seq, which is null while the block lasts. One row per block.
      CREATE TABLE withheld (
        conversation_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        blocked_id TEXT NOT NULL,
        from_seq INTEGER NOT NULL,
        to_seq INTEGER,
        PRIMARY KEY (conversation_id, user_id, from_seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 7,
    name: "alarm tasks",
    sql: `
      -- The object's one alarm, as named tasks per conversation with their due times
      -- (src/objects/alarms.ts): a wake-up runs only what is due, and an eviction forgets nothing.
      -- Unfinished fan-outs of objects from before it are resumed when the object starts.
      CREATE TABLE alarm_tasks (
        task TEXT NOT NULL,
        subject TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        PRIMARY KEY (task, subject)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 8,
    name: "message actions",
    sql: `
      -- A reply, edit, reaction or delete names another message of the conversation: target_seq
      -- (indexed, so a delete for everyone finds the copies of its text to scrub); \`extra\` holds the
      -- JSON of reply_to, mentions, forwarded and an action's target.
      ALTER TABLE messages ADD COLUMN target_seq INTEGER;
      ALTER TABLE messages ADD COLUMN extra TEXT;
      CREATE INDEX messages_by_target ON messages (conversation_id, target_seq) WHERE target_seq IS NOT NULL;

      -- What actions did to a message, folded: latest text, deletion, reactions (state.ts). Read
      -- over every page of history; rows of archived messages fold into their segment when archived.
      CREATE TABLE message_state (
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        state TEXT NOT NULL,
        state_seq INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      ) WITHOUT ROWID;

      -- For archived rows that copy another message's text (an edit, a reply's quote): which
      -- message they copy, so a delete for everyone finds the segments to rewrite without reading all.
      CREATE TABLE archived_refs (
        conversation_id TEXT NOT NULL,
        target_seq INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, target_seq, seq)
      ) WITHOUT ROWID;

      -- Deletions for everyone whose archived copies and media are still to be erased: written in
      -- the delete's transaction, removed once R2 confirmed (erasure.ts; the alarm retries).
      CREATE TABLE erasures (
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        media_id TEXT,
        PRIMARY KEY (conversation_id, seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    id: 9,
    name: "group settings",
    sql: `
      -- What a group is about, and who may send and change its info (admins only by default for
      -- info, as renaming was before; everyone may send).
      ALTER TABLE conversations ADD COLUMN description TEXT NOT NULL DEFAULT '';
      ALTER TABLE conversations ADD COLUMN only_admins_send INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE conversations ADD COLUMN only_admins_edit_info INTEGER NOT NULL DEFAULT 1;
    `,
  },
  {
    id: 10,
    name: "disappearing messages",
    sql: `
      -- The conversation's timer for messages sent from now on (0: off), and each such message's end
      -- (indexed: the \`expire\` alarm task finds what is due). Archived messages keep their ends in
      -- archived_expiry, so their expiry needs no segment read to find.
      ALTER TABLE conversations ADD COLUMN disappearing_ms INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE messages ADD COLUMN expires_at INTEGER;
      CREATE INDEX messages_expiry ON messages (conversation_id, expires_at) WHERE expires_at IS NOT NULL;
      CREATE TABLE archived_expiry (
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      ) WITHOUT ROWID;
      CREATE INDEX archived_expiry_due ON archived_expiry (conversation_id, expires_at);
    `,
  },
  {
    id: 11,
    name: "message search",
    sql: `
      -- The searchable text of each message (a text message's text, a media caption) as it is now.
      -- Kept apart from \`messages\` because it outlives the hot rows: archived history stays
      -- searchable (search.ts). Written in batches from the hot rows, not by the send path;
      -- \`search_progress\` says up to which seq each conversation's hot rows were taken.
      CREATE TABLE search_text (
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (conversation_id, seq)
      );
      CREATE TABLE search_progress (
        conversation_id TEXT NOT NULL PRIMARY KEY,
        indexed_seq INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- Its full-text index (FTS5, external content), kept in step by the triggers with every write
      -- to search_text: an edit's new text, a delete for everyone, a handover's INSERT OR REPLACE
      -- (the row it replaces is taken out first) and its forgetting.
      CREATE VIRTUAL TABLE search_index USING fts5(text, content='search_text', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
      CREATE TRIGGER search_text_replacing BEFORE INSERT ON search_text BEGIN
        INSERT INTO search_index (search_index, rowid, text)
          SELECT 'delete', rowid, text FROM search_text WHERE conversation_id = new.conversation_id AND seq = new.seq;
      END;
      CREATE TRIGGER search_text_inserted AFTER INSERT ON search_text BEGIN
        INSERT INTO search_index (rowid, text) VALUES (new.rowid, new.text);
      END;
      CREATE TRIGGER search_text_deleted AFTER DELETE ON search_text BEGIN
        INSERT INTO search_index (search_index, rowid, text) VALUES ('delete', old.rowid, old.text);
      END;

      -- Conversations from before search: their hot rows are taken by the first batch, like any;
      -- their archived history by the conversation's first search, reading the segments once.
      CREATE TABLE search_unindexed (
        conversation_id TEXT NOT NULL PRIMARY KEY,
        up_to INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO search_unindexed (conversation_id, up_to) SELECT conversation_id, archived_seq FROM conversations WHERE archived_seq > 0;
      INSERT INTO search_progress (conversation_id, indexed_seq) SELECT conversation_id, archived_seq FROM conversations;
    `,
  },
  {
    id: 12,
    name: "membership history",
    sql: `
      -- Who joined, left or was removed, one row per person per system message (memberHistory.ts),
      -- written with the message; \`position\` orders the people of one message (a group's creator
      -- first, then its members as listed). Kept apart from \`messages\` because it outlives the hot
      -- rows: the admins' list must not read every archived segment to find a few changes.
      CREATE TABLE member_history (
        conversation_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        position INTEGER NOT NULL,
        user_id TEXT NOT NULL,
        change TEXT NOT NULL,
        actor TEXT NOT NULL,
        via TEXT,
        at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, seq, position)
      ) WITHOUT ROWID;
      -- What the hot system messages already record; those archived already are read from their
      -- segments once, on the group's first history read (member_history_owed: up to which seq).
      CREATE TABLE member_history_owed (
        conversation_id TEXT NOT NULL PRIMARY KEY,
        up_to INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO member_history_owed (conversation_id, up_to) SELECT conversation_id, archived_seq FROM conversations WHERE type = 'group' AND archived_seq > 0;
      INSERT OR IGNORE INTO member_history (conversation_id, seq, position, user_id, change, actor, via, at)
        SELECT conversation_id, seq, 0, json_extract(content, '$.actor'), 'joined', json_extract(content, '$.actor'), 'created', timestamp
        FROM messages WHERE content_type = 'system' AND json_extract(content, '$.event') = 'group_created';
      INSERT OR IGNORE INTO member_history (conversation_id, seq, position, user_id, change, actor, via, at)
        SELECT m.conversation_id, m.seq, u.key + 1, u.value, 'joined', json_extract(m.content, '$.actor'), 'created', m.timestamp
        FROM messages m, json_each(m.content, '$.user_ids') u
        WHERE m.content_type = 'system' AND json_extract(m.content, '$.event') = 'group_created';
      INSERT OR IGNORE INTO member_history (conversation_id, seq, position, user_id, change, actor, via, at)
        SELECT m.conversation_id, m.seq, u.key, u.value, 'joined', json_extract(m.content, '$.actor'), 'added', m.timestamp
        FROM messages m, json_each(m.content, '$.user_ids') u
        WHERE m.content_type = 'system' AND json_extract(m.content, '$.event') = 'members_added';
      INSERT OR IGNORE INTO member_history (conversation_id, seq, position, user_id, change, actor, via, at)
        SELECT conversation_id, seq, 0, json_extract(content, '$.user_id'),
               CASE json_extract(content, '$.event') WHEN 'member_joined' THEN 'joined' WHEN 'member_left' THEN 'left' ELSE 'removed' END,
               json_extract(content, '$.actor'), json_extract(content, '$.via'), timestamp
        FROM messages WHERE content_type = 'system' AND json_extract(content, '$.event') IN ('member_joined', 'member_left', 'member_removed');
    `,
  },
  {
    id: 13,
    name: "group photo; members' read receipts switch",
    sql: `
      -- A group's photo: a media id (its record names the group: media/records.ts claimPhoto).
      ALTER TABLE conversations ADD COLUMN photo_media_id TEXT;
      -- A copy of each member's read-receipts setting (their user object's): off, their reads are not
      -- told to others, nor others' reads to them (cursors.ts, receipts).
      ALTER TABLE members ADD COLUMN read_receipts INTEGER NOT NULL DEFAULT 1;
    `,
  },
];
