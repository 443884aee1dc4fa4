import type { User } from "../../protocol";
import type { ObjectContext } from "../context";

/** Who the object's users are, and their settings: the `users` table, one row per user. */
export class Profiles {
  /** Profiles never change once created except through this class, so they are cached. */
  private readonly cache = new Map<string, User | null>();

  constructor(private readonly object: ObjectContext) {}

  private get sql() {
    return this.object.storage.sql;
  }

  get(userId: string): User | null {
    let user = this.cache.get(userId);
    if (user === undefined) {
      // An object with no schema holds nobody (migrations.ts): nothing to read.
      if (!this.object.schema.ready) return null;
      user = this.sql.exec<User>("SELECT user_id, username, display_name FROM users WHERE user_id = ?", userId).toArray()[0] ?? null;
      // Only hits are kept: a miss may be a user being created or handed over right now.
      if (user) this.cache.set(userId, user);
    }
    return user;
  }

  has(userId: string): boolean {
    return this.get(userId) !== null;
  }

  create(user: User, now: number): void {
    this.sql.exec(
      "INSERT INTO users (user_id, username, display_name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING",
      user.user_id,
      user.username,
      user.display_name,
      now,
    );
  }

  /** Every user this object holds. */
  ids(): string[] {
    return this.sql.exec<{ user_id: string }>("SELECT user_id FROM users").toArray().map((r) => r.user_id);
  }

  presenceSettings(userId: string): { last_seen: number | null; last_seen_visible: boolean } {
    const row = this.sql
      .exec<{ last_seen: number | null; last_seen_visible: number }>("SELECT last_seen, last_seen_visible FROM users WHERE user_id = ?", userId)
      .toArray()[0];
    return { last_seen: row?.last_seen ?? null, last_seen_visible: (row?.last_seen_visible ?? 1) === 1 };
  }

  setLastSeen(userId: string, at: number): void {
    this.sql.exec("UPDATE users SET last_seen = ? WHERE user_id = ?", at, userId);
  }

  setLastSeenVisible(userId: string, visible: boolean): void {
    this.sql.exec("UPDATE users SET last_seen_visible = ? WHERE user_id = ?", visible ? 1 : 0, userId);
  }

  pushPreviews(userId: string): boolean {
    return this.sql.exec<{ p: number }>("SELECT push_previews AS p FROM users WHERE user_id = ?", userId).toArray()[0]?.p !== 0;
  }

  setPushPreviews(userId: string, allowed: boolean): void {
    this.sql.exec("UPDATE users SET push_previews = ? WHERE user_id = ?", allowed ? 1 : 0, userId);
  }

  /** Forgets a user that moved to another object (handover.ts). */
  forget(userId: string): void {
    this.cache.delete(userId);
  }
}
