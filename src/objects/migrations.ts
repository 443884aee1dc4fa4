/**
 * Append-only schema migrations for an object's SQLite storage. Each applied migration is
 * recorded by id, name and SQL; if the recorded history no longer matches the list (a migration was
 * edited, renamed or removed), the object refuses to start rather than guess. SQL is compared with
 * runs of whitespace collapsed, so re-indenting a migration is not an edit.
 */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export class MigrationHistoryError extends Error {}

/**
 * Whether this object's storage has a schema. An object that has none is one nobody ever wrote to:
 * a lookup of an id that names nothing. Objects create their schema only when they first store
 * something, so such a lookup leaves nothing behind (in per-id placement every id is its own object).
 */
export function hasSchema(storage: DurableObjectStorage): boolean {
  return storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").toArray().length > 0;
}

/**
 * An object's schema, made with its first write rather than when the object is constructed (see
 * hasSchema): `ready` says whether it is there, `ensure` makes it before a first write.
 */
export class LazySchema {
  readonly #storage: DurableObjectStorage;
  readonly #migrations: readonly Migration[];
  #ready: boolean;

  constructor(storage: DurableObjectStorage, migrations: readonly Migration[]) {
    this.#storage = storage;
    this.#migrations = migrations;
    this.#ready = hasSchema(storage);
    if (this.#ready) migrate(storage, migrations);
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Makes the schema if it is not there yet; answers whether it was made just now. */
  ensure(): boolean {
    if (this.#ready) return false;
    migrate(this.#storage, this.#migrations);
    this.#ready = true;
    return true;
  }
}

export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.id !== i + 1) throw new MigrationHistoryError(`migration ids must run 1, 2, 3…; found ${m.id} at ${i + 1}`);
  });
  const sql = storage.sql;
  storage.transactionSync(() => {
    sql.exec(`CREATE TABLE IF NOT EXISTS _migrations (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL, sql TEXT)`);
    // Objects made before the SQL was recorded have the table without the column.
    if (!sql.exec<{ name: string }>("PRAGMA table_info(_migrations)").toArray().some((c) => c.name === "sql")) {
      sql.exec("ALTER TABLE _migrations ADD COLUMN sql TEXT");
    }
    const applied = sql.exec<{ id: number; name: string; sql: string | null }>("SELECT id, name, sql FROM _migrations ORDER BY id").toArray();
    applied.forEach((row, i) => {
      const expected = migrations[i];
      if (!expected || expected.id !== row.id || expected.name !== row.name) {
        throw new MigrationHistoryError(`migration ${row.id} (${row.name}) does not match the code's history`);
      }
      if (row.sql === null) {
        // Applied before SQL was recorded: the id and name matched, so record what the code says now.
        sql.exec("UPDATE _migrations SET sql = ? WHERE id = ?", normalised(expected.sql), row.id);
      } else if (row.sql !== normalised(expected.sql)) {
        throw new MigrationHistoryError(`migration ${row.id} (${row.name}) was edited after it was applied; add a new migration instead`);
      }
    });
    for (const m of migrations.slice(applied.length)) {
      sql.exec(m.sql);
      sql.exec("INSERT INTO _migrations (id, name, applied_at, sql) VALUES (?, ?, ?, ?)", m.id, m.name, Date.now(), normalised(m.sql));
    }
  });
}

/** What is compared: the SQL with every run of whitespace made one space. */
function normalised(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
