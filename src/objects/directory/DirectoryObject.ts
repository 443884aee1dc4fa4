import { DurableObject } from "cloudflare:workers";
import type { PasswordRecord } from "../../auth/password";
import type { Env } from "../../env";
import { migrate, type Migration } from "../migrations";

/**
 * One object per username: the user directory sharded as finely as it goes, so registration
 * and login never meet a global bottleneck and nothing here is on the message path.
 * It maps the name to the account's user_id and password record.
 */
export const directoryMigrations: Migration[] = [
  {
    id: 1,
    name: "account",
    sql: `CREATE TABLE account (
      username TEXT PRIMARY KEY,
      user_id TEXT NOT NULL,
      password TEXT NOT NULL,
      created_at INTEGER NOT NULL)`,
  },
];

export interface AccountRecord {
  username: string;
  user_id: string;
  password: PasswordRecord;
}

export class DirectoryObject extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, directoryMigrations);
  }

  /** Claims the name for a new account; false if it is already taken. */
  claim(record: AccountRecord): boolean {
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM account LIMIT 1").toArray().length > 0) return false;
    sql.exec(
      "INSERT INTO account (username, user_id, password, created_at) VALUES (?, ?, ?, ?)",
      record.username,
      record.user_id,
      JSON.stringify(record.password),
      Date.now(),
    );
    return true;
  }

  lookup(): AccountRecord | null {
    const row = this.ctx.storage.sql
      .exec<{ username: string; user_id: string; password: string }>("SELECT username, user_id, password FROM account")
      .toArray()[0];
    if (!row) return null;
    return { username: row.username, user_id: row.user_id, password: JSON.parse(row.password) as PasswordRecord };
  }
}
