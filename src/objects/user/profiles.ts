import type { ProfileVisibleTo, UpdateMeBody, User } from "../../protocol";
import type { ObjectContext } from "../context";

type ProfileRow = { user_id: string; username: string; display_name: string; about: string | null; photo_media_id: string | null };

/** What a user's profile edit changed that others must hear of. */
export interface ProfileEdit {
  /** The photo it replaced or removed: its media is deleted. */
  replacedPhoto: string | null;
  /** read_receipts, when changed: every conversation of the user keeps a copy. */
  readReceipts: boolean | null;
  /** The name, about, photo or who may see them changed: what others see may differ now. */
  seenByOthers: boolean;
}

/** Who the object's users are, and their settings: the `users` table, one row per user. */
export class Profiles {
  /** Profiles change only through this class, so they are cached (the user's own view of them). */
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
      const row = this.sql
        .exec<ProfileRow>("SELECT user_id, username, display_name, about, photo_media_id FROM users WHERE user_id = ?", userId)
        .toArray()[0];
      user = row
        ? {
            user_id: row.user_id,
            username: row.username,
            display_name: row.display_name,
            ...(row.about ? { about: row.about } : {}),
            ...(row.photo_media_id ? { photo: { media_id: row.photo_media_id } } : {}),
          }
        : null;
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

  /** Who may see the user's photo and about (everyone, contacts, nobody), and whether they send read receipts. */
  privacy(userId: string): { photo_visible_to: ProfileVisibleTo; about_visible_to: ProfileVisibleTo; read_receipts: boolean } {
    const row = this.sql
      .exec<{ photo_visible_to: ProfileVisibleTo; about_visible_to: ProfileVisibleTo; read_receipts: number }>(
        "SELECT photo_visible_to, about_visible_to, read_receipts FROM users WHERE user_id = ?",
        userId,
      )
      .toArray()[0];
    return {
      photo_visible_to: row?.photo_visible_to ?? "everyone",
      about_visible_to: row?.about_visible_to ?? "everyone",
      read_receipts: (row?.read_receipts ?? 1) === 1,
    };
  }

  /** Applies the profile and privacy parts of a PATCH /users/me (the photo already checked by the route). */
  edit(userId: string, changes: UpdateMeBody): ProfileEdit {
    const before = this.get(userId);
    const edit: ProfileEdit = {
      replacedPhoto: null,
      readReceipts: null,
      seenByOthers: [changes.display_name, changes.about, changes.photo_media_id, changes.photo_visible_to, changes.about_visible_to].some((c) => c !== undefined),
    };
    if (changes.display_name !== undefined) this.sql.exec("UPDATE users SET display_name = ? WHERE user_id = ?", changes.display_name, userId);
    if (changes.about !== undefined) this.sql.exec("UPDATE users SET about = ? WHERE user_id = ?", changes.about || null, userId);
    if (changes.photo_media_id !== undefined && changes.photo_media_id !== (before?.photo?.media_id ?? null)) {
      this.sql.exec("UPDATE users SET photo_media_id = ? WHERE user_id = ?", changes.photo_media_id, userId);
      edit.replacedPhoto = before?.photo?.media_id ?? null;
    }
    if (changes.photo_visible_to !== undefined) this.sql.exec("UPDATE users SET photo_visible_to = ? WHERE user_id = ?", changes.photo_visible_to, userId);
    if (changes.about_visible_to !== undefined) this.sql.exec("UPDATE users SET about_visible_to = ? WHERE user_id = ?", changes.about_visible_to, userId);
    if (changes.read_receipts !== undefined && changes.read_receipts !== this.privacy(userId).read_receipts) {
      this.sql.exec("UPDATE users SET read_receipts = ? WHERE user_id = ?", changes.read_receipts ? 1 : 0, userId);
      edit.readReceipts = changes.read_receipts;
    }
    this.cache.delete(userId);
    return edit;
  }

  /** Forgets a user that moved to another object (handover.ts). */
  forget(userId: string): void {
    this.cache.delete(userId);
  }
}
