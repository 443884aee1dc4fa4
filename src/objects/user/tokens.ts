import { Limits } from "../../protocol";
import { randomToken } from "../../lib/ids";
import type { ObjectContext } from "../context";

/** A session's row: its tokens carry `session_id` and `version`. */
export type SessionRow = {
  session_id: string;
  version: number;
  expires_at: number;
  rotated_at: number;
};

/** Why a refresh was refused: the session is gone, past its lifetime, or a replaced token came back. */
export type RefreshRefusal = "ended" | "expired" | "reused";

/**
 * Which of a user's tokens still count.
 *
 * - Sessions: each login is a session with an id, a version and a fixed end
 *   (`Limits.sessionMaxLifetimeMs`). A token carries both; a refresh moves the version on, so the
 *   token it replaced stops working (after a short grace for two tabs refreshing at once). A token
 *   older than that, brought to refresh, is a copy someone kept: the whole session ends (reuse
 *   detection, as with rotating refresh tokens in OAuth 2.1).
 * - Generations: "log out all devices" moves the user's generation on and ends every session.
 * - Tokens from before sessions (no `sid`) count by their id (`revoked_tokens`) and generation until
 *   they expire, within a day.
 */
export class TokenLedger {
  constructor(private readonly object: ObjectContext) {}

  private get sql() {
    return this.object.storage.sql;
  }

  generation(userId: string): number {
    return this.sql.exec<{ g: number }>("SELECT token_generation AS g FROM users WHERE user_id = ?", userId).toArray()[0]?.g ?? 0;
  }

  start(userId: string, now: number): SessionRow {
    const row: SessionRow = { session_id: randomToken(16), version: 0, expires_at: now + Limits.sessionMaxLifetimeMs, rotated_at: now };
    this.sql.exec(
      "INSERT INTO sessions (user_id, session_id, version, created_at, expires_at, rotated_at) VALUES (?, ?, ?, ?, ?, ?)",
      userId,
      row.session_id,
      row.version,
      now,
      row.expires_at,
      row.rotated_at,
    );
    return row;
  }

  private session(userId: string, sessionId: string): SessionRow | null {
    return (
      this.sql
        .exec<SessionRow>("SELECT session_id, version, expires_at, rotated_at FROM sessions WHERE user_id = ? AND session_id = ?", userId, sessionId)
        .toArray()[0] ?? null
    );
  }

  /** Whether a token of this session and version may be used now. */
  private current(row: SessionRow, version: number, now: number): boolean {
    if (now >= row.expires_at) return false;
    return version === row.version || (version === row.version - 1 && now - row.rotated_at <= Limits.sessionRefreshGraceMs);
  }

  valid(userId: string, claims: { jti: string; gen: number; sid?: string; ver?: number }, now: number): boolean {
    if (claims.gen !== this.generation(userId)) return false;
    if (claims.sid === undefined) return this.sql.exec("SELECT 1 FROM revoked_tokens WHERE jti = ?", claims.jti).toArray().length === 0;
    const row = this.session(userId, claims.sid);
    return row !== null && this.current(row, claims.ver ?? -1, now);
  }

  /**
   * Moves the session on for a refresh: the new version, or why not. A refused refresh of a replaced
   * token has ended the session (the caller closes its sockets and drops its push subscriptions).
   */
  rotate(userId: string, sessionId: string, version: number, now: number): SessionRow | RefreshRefusal {
    const row = this.session(userId, sessionId);
    if (!row) return "ended";
    if (now >= row.expires_at) {
      this.end(userId, sessionId);
      return "expired";
    }
    if (version === row.version) {
      this.sql.exec("UPDATE sessions SET version = version + 1, rotated_at = ? WHERE user_id = ? AND session_id = ?", now, userId, sessionId);
      return { ...row, version: row.version + 1, rotated_at: now };
    }
    // The tab that lost the race gets the current version, not a new one.
    if (this.current(row, version, now)) return row;
    this.end(userId, sessionId);
    return "reused";
  }

  /** Ends one session; returns whether it existed. */
  end(userId: string, sessionId: string): boolean {
    return this.sql.exec("DELETE FROM sessions WHERE user_id = ? AND session_id = ? RETURNING 1", userId, sessionId).toArray().length > 0;
  }

  /** Revokes one token from before sessions. */
  revoke(userId: string, jti: string, expiresAt: number, now: number): void {
    this.sql.exec("INSERT OR IGNORE INTO revoked_tokens (jti, expires_at, user_id) VALUES (?, ?, ?)", jti, expiresAt, userId);
    // Expired tokens fail on their own; their ids need not be kept.
    this.sql.exec("DELETE FROM revoked_tokens WHERE expires_at < ?", now);
  }

  revokeAll(userId: string): number {
    this.sql.exec("UPDATE users SET token_generation = token_generation + 1 WHERE user_id = ?", userId);
    this.sql.exec("DELETE FROM revoked_tokens WHERE user_id = ?", userId);
    this.sql.exec("DELETE FROM sessions WHERE user_id = ?", userId);
    return this.generation(userId);
  }

  /** Ends the sessions past their lifetime; answers them, and when the next one ends (for the alarm). */
  endExpired(now: number): { ended: { user_id: string; session_id: string }[]; next: number | null } {
    const ended = this.sql
      .exec<{ user_id: string; session_id: string }>("DELETE FROM sessions WHERE expires_at <= ? RETURNING user_id, session_id", now)
      .toArray();
    const next = this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM sessions").one().at;
    return { ended, next };
  }
}
