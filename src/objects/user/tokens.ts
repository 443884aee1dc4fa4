/**
 * Which of a user's session tokens still count. A token names its id (jti) and the user's token
 * generation when it was issued: logging out revokes one id; "log out all devices" moves the
 * generation on, voiding every older token at once without listing them.
 */
export class TokenLedger {
  constructor(private readonly storage: DurableObjectStorage) {}

  private get sql() {
    return this.storage.sql;
  }

  generation(userId: string): number {
    return this.sql.exec<{ g: number }>("SELECT token_generation AS g FROM users WHERE user_id = ?", userId).toArray()[0]?.g ?? 0;
  }

  valid(userId: string, jti: string, generation: number): boolean {
    if (generation !== this.generation(userId)) return false;
    return this.sql.exec("SELECT 1 FROM revoked_tokens WHERE jti = ?", jti).toArray().length === 0;
  }

  revoke(userId: string, jti: string, expiresAt: number, now: number): void {
    this.sql.exec("INSERT OR IGNORE INTO revoked_tokens (jti, expires_at, user_id) VALUES (?, ?, ?)", jti, expiresAt, userId);
    // Expired tokens fail on their own; their ids need not be kept.
    this.sql.exec("DELETE FROM revoked_tokens WHERE expires_at < ?", now);
  }

  revokeAll(userId: string): number {
    this.sql.exec("UPDATE users SET token_generation = token_generation + 1 WHERE user_id = ?", userId);
    this.sql.exec("DELETE FROM revoked_tokens WHERE user_id = ?", userId);
    return this.generation(userId);
  }
}
