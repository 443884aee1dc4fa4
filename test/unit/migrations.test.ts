import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { directoryMigrations } from "../../src/objects/directory/DirectoryObject";
import { migrate, MigrationHistoryError, type Migration } from "../../src/objects/migrations";

// Runs inside a real object's SQLite storage: a directory object nobody else uses, whose own
// migrations are already applied, so the test's migrations follow them.
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
    });
  });

  it("applies nothing of a migration that fails", async () => {
    await runInDurableObject(scratch(), (_o, state) => {
      const broken: Migration = { id: next, name: "broken", sql: "CREATE TABLE t3 (z INTEGER); CREATE TABLE account (x INTEGER)" };
      expect(() => migrate(state.storage, [...base, broken])).toThrow();
      const tables = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 't3'").toArray();
      expect(tables).toEqual([]);
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM _migrations WHERE id = ?", next).one().n).toBe(0);
    });
  });
});
