import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { directoryMigrations } from "../../src/objects/directory/DirectoryObject";
import { migrate, MigrationHistoryError, type Migration } from "../../src/objects/migrations";
import { objectContext } from "../../src/objects/context";
import { InboxStore } from "../../src/objects/user/inbox";
import { userMigrations } from "../../src/objects/user/migrations";

// Runs inside a real object's SQLite storage: a directory object nobody else uses (a name nobody
// claimed has no schema yet), with the directory's own migrations first so the test's follow them.
const base = directoryMigrations;
const next = base.length + 1;
const m1: Migration = { id: next, name: "first", sql: "CREATE TABLE t1 (x INTEGER)" };
const m2: Migration = { id: next + 1, name: "second", sql: "CREATE TABLE t2 (y INTEGER)" };
const scratch = () => env.DIRECTORY.get(env.DIRECTORY.idFromName(`scratch-${crypto.randomUUID()}`));

describe("migrate", () => {
  it("applies new migrations once, in order", async () => {
    await runInDurableObject(scratch(), (_o, state) => {
      migrate(state.storage, [...base, m1]);
      migrate(state.storage, [...base, m1]);
      migrate(state.storage, [...base, m1, m2]);
      const applied = state.storage.sql.exec("SELECT id, name FROM _migrations WHERE id >= ? ORDER BY id", next).toArray();
      expect(applied).toEqual([
        { id: next, name: "first" },
        { id: next + 1, name: "second" },
      ]);
      state.storage.sql.exec("INSERT INTO t2 (y) VALUES (1)");
    });
  });

  it("refuses a history that was edited, reordered or cut", async () => {
    await runInDurableObject(scratch(), (_o, state) => {
      migrate(state.storage, [...base, m1, m2]);
      expect(() => migrate(state.storage, [...base, { ...m1, name: "renamed" }, m2])).toThrow(MigrationHistoryError);
      expect(() => migrate(state.storage, [...base, m2])).toThrow(MigrationHistoryError);
      expect(() => migrate(state.storage, [...base, m1, { ...m2, id: next + 2 }])).toThrow(MigrationHistoryError);
      expect(() => migrate(state.storage, [...base])).toThrow(MigrationHistoryError);
      // Same id and name, different SQL: an edit, refused; re-indenting is not one.
      expect(() => migrate(state.storage, [...base, { ...m1, sql: "CREATE TABLE t1 (x INTEGER, z TEXT)" }, m2])).toThrow(/edited/);
      expect(() => migrate(state.storage, [...base, { ...m1, sql: `CREATE TABLE t1\n      (x   INTEGER)` }, m2])).not.toThrow();
    });
  });

  it("records the SQL of migrations applied before it was recorded, then holds them to it", async () => {
    await runInDurableObject(scratch(), (_o, state) => {
      migrate(state.storage, [...base, m1]);
      // As an object made before the column existed has it.
      state.storage.sql.exec("ALTER TABLE _migrations DROP COLUMN sql");
      migrate(state.storage, [...base, m1]);
      expect(state.storage.sql.exec("SELECT sql FROM _migrations WHERE id = ?", next).one().sql).toBe("CREATE TABLE t1 (x INTEGER)");
      expect(() => migrate(state.storage, [...base, { ...m1, sql: "CREATE TABLE t1 (y TEXT)" }])).toThrow(MigrationHistoryError);
    });
  });

  it("user migrations 5-8 turn a one-user object's rows into rows keyed by that user, and the inbox reads as before", async () => {
    await runInDurableObject(scratch(), (_o, state) => {
      const sql = state.storage.sql;
      // The user schema as an object created before migration 5 has it: one user, one group in the inbox.
      for (const m of userMigrations.slice(0, 4)) sql.exec(m.sql);
      sql.exec("INSERT INTO profile (id, user_id, username, display_name, created_at, last_seen, token_generation) VALUES (1, 'u_me', 'me', 'Me', 1, 99, 3)");
      const members = Array.from({ length: 500 }, (_, i) => ({ user_id: `u_${i}`, role: i === 0 ? "admin" : "member" }));
      sql.exec(
        `INSERT INTO inbox (conversation_id, type, name, members, created_at, updated_at, last_seq, delivered_seq, read_seq, unread_count)
         VALUES ('g_1', 'group', 'team', ?, 1, 2, 7, 6, 5, 2)`,
        JSON.stringify(members),
      );
      sql.exec("INSERT INTO delivery_cursors (device_id, conversation_id, delivered_seq) VALUES ('phone', 'g_1', 4)");
      sql.exec("INSERT INTO presence_subscribers (subscriber_id, expires_at) VALUES ('u_7', 1000)");
      sql.exec("INSERT INTO push_subscriptions (device_id, endpoint, p256dh, auth, created_at) VALUES ('phone', 'https://push.example/x', 'k', 'a', 1)");
      sql.exec("INSERT INTO revoked_tokens (jti, expires_at) VALUES ('t1', 5000)");
      // 5-8, and every later one, as an object that old meets them on its next start.
      for (const m of userMigrations.slice(4)) sql.exec(m.sql);
      expect(userMigrations.slice(4, 8).map((m) => m.id)).toEqual([5, 6, 7, 8]);
      expect(sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM conversation_member_ids WHERE conversation_id = 'g_1'").one().n).toBe(500);
      expect(sql.exec("SELECT user_id, username, last_seen, token_generation FROM users").toArray()).toEqual([
        { user_id: "u_me", username: "me", last_seen: 99, token_generation: 3 },
      ]);
      for (const table of ["inbox", "delivery_cursors", "presence_subscribers", "push_subscriptions", "revoked_tokens"]) {
        expect(sql.exec(`SELECT DISTINCT user_id FROM ${table}`).toArray(), table).toEqual([{ user_id: "u_me" }]);
      }
      const inbox = new InboxStore(objectContext(state, env, userMigrations));
      const page = { limit: 100, archived: false };
      const [summary] = inbox.list("u_me", page).conversations;
      expect(summary).toMatchObject({ conversation_id: "g_1", type: "group", name: "team", member_count: 500, unread_count: 2 });
      expect(summary!.members).toEqual(members);
      expect(inbox.cursors("u_me", "g_1")).toEqual({ last_seq: 7, delivered_seq: 6, read_seq: 5 });
      expect(inbox.deviceCursor("u_me", "phone", "g_1")).toBe(4);
      expect(inbox.sharesConversationWith("u_me", "u_499")).toBe(true);
      expect(inbox.sharesConversationWith("u_me", "u_500")).toBe(false);
      expect(inbox.list("u_other", page)).toEqual({ conversations: [], next: null });
    });
  });

  it("applies nothing of a migration that fails", async () => {
    await runInDurableObject(scratch(), (_o, state) => {
      migrate(state.storage, base);
      const broken: Migration = { id: next, name: "broken", sql: "CREATE TABLE t3 (z INTEGER); CREATE TABLE account (x INTEGER)" };
      expect(() => migrate(state.storage, [...base, broken])).toThrow();
      const tables = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 't3'").toArray();
      expect(tables).toEqual([]);
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM _migrations WHERE id = ?", next).one().n).toBe(0);
    });
  });
});
