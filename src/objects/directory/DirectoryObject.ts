import { DurableObject } from "cloudflare:workers";
import type { PasswordRecord } from "../../auth/password";
import type { Env } from "../../env";
import { LazySchema, type Migration } from "../migrations";

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
  {
    id: 2,
    name: "login failures per client",
    sql: `CREATE TABLE login_failures (
      client TEXT PRIMARY KEY,
      failures INTEGER NOT NULL,
      next_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL)`,
  },
];

/** Failed logins from one client (to one account) that cost nothing; after them each waits longer. */
export const FREE_LOGIN_FAILURES = 5;
const MAX_LOGIN_DELAY_MS = 15 * 60_000;
/** A client's failures are forgotten a day after its last one. */
const LOGIN_FAILURE_MEMORY_MS = 24 * 60 * 60_000;

/** The wait before the next attempt after `failures` in a row: none, then 1 s doubling to 15 min. */
export function loginDelayMs(failures: number): number {
  return failures < FREE_LOGIN_FAILURES ? 0 : Math.min(MAX_LOGIN_DELAY_MS, 1_000 * 2 ** (failures - FREE_LOGIN_FAILURES));
}

export interface AccountRecord {
  username: string;
  user_id: string;
  password: PasswordRecord;
}

export class DirectoryObject extends DurableObject<Env> {
  /**
   * Whether this name's object has storage at all. Looking up a name nobody registered (a login, a
   * search) must not create anything: the schema is made by the first claim, not by the constructor.
   */
  readonly #schema: LazySchema;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#schema = new LazySchema(ctx.storage, directoryMigrations);
  }

  /** Claims the name for a new account; false if it is already taken. */
  claim(record: AccountRecord): boolean {
    this.#schema.ensure();
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

  /**
   * A login attempt from `client` (its address): the account, or how long that client must wait
   * first. Failures count per client, so someone guessing a password slows only themselves, never
   * the account's owner elsewhere (a flat per-account limit would let anyone lock anyone out).
   */
  loginAttempt(client: string, now = Date.now()): { account: AccountRecord | null; waitMs: number; failures: number } {
    const account = this.lookup();
    if (!account) return { account: null, waitMs: 0, failures: 0 };
    const row = this.ctx.storage.sql
      .exec<{ failures: number; next_at: number }>("SELECT failures, next_at FROM login_failures WHERE client = ?", client)
      .toArray()[0];
    if (row && row.next_at > now) return { account: null, waitMs: row.next_at - now, failures: row.failures };
    return { account, waitMs: 0, failures: row?.failures ?? 0 };
  }

  /** A wrong password from `client`: one more failure, and the wait it brings. */
  loginFailed(client: string, now = Date.now()): void {
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM login_failures WHERE updated_at < ?", now - LOGIN_FAILURE_MEMORY_MS);
    const failures = (sql.exec<{ failures: number }>("SELECT failures FROM login_failures WHERE client = ?", client).toArray()[0]?.failures ?? 0) + 1;
    sql.exec(
      `INSERT INTO login_failures (client, failures, next_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (client) DO UPDATE SET failures = excluded.failures, next_at = excluded.next_at, updated_at = excluded.updated_at`,
      client,
      failures,
      now + loginDelayMs(failures),
      now,
    );
  }

  /** The right password: that client starts afresh. */
  loginSucceeded(client: string): void {
    this.ctx.storage.sql.exec("DELETE FROM login_failures WHERE client = ?", client);
  }

  /** Replaces the password record (an upgrade to today's hashing cost, at login). */
  setPassword(password: PasswordRecord): void {
    if (!this.#schema.ready) return;
    this.ctx.storage.sql.exec("UPDATE account SET password = ?", JSON.stringify(password));
  }

  lookup(): AccountRecord | null {
    if (!this.#schema.ready) return null;
    const row = this.ctx.storage.sql
      .exec<{ username: string; user_id: string; password: string }>("SELECT username, user_id, password FROM account")
      .toArray()[0];
    if (!row) return null;
    return { username: row.username, user_id: row.user_id, password: JSON.parse(row.password) as PasswordRecord };
  }
}
