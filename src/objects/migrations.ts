/**
 * Append-only schema migrations for an object's SQLite storage. Each applied migration is
 * recorded by id and name; if the recorded history no longer matches the list (a migration was
 * edited, renamed or removed), the object refuses to start rather than guess.
 */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export class MigrationHistoryError extends Error {}

export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.id !== i + 1) throw new MigrationHistoryError(`migration ids must run 1, 2, 3…; found ${m.id} at ${i + 1}`);
  });
  const sql = storage.sql;
  storage.transactionSync(() => {
    sql.exec(`CREATE TABLE IF NOT EXISTS _migrations (
      id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = sql.exec<{ id: number; name: string }>("SELECT id, name FROM _migrations ORDER BY id").toArray();
    applied.forEach((row, i) => {
      const expected = migrations[i];
      if (!expected || expected.id !== row.id || expected.name !== row.name) {
        throw new MigrationHistoryError(`migration ${row.id} (${row.name}) does not match the code's history`);
      }
    });
    for (const m of migrations.slice(applied.length)) {
      sql.exec(m.sql);
      sql.exec("INSERT INTO _migrations (id, name, applied_at) VALUES (?, ?, ?)", m.id, m.name, Date.now());
    }
  });
}
