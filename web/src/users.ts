import { User, type ParleyClient } from "../../src/client";

/**
 * The names this browser knows: the signed-in account, username searches (new chat, add member),
 * earlier sessions (kept in localStorage per account), and anyone else fetched by id through the
 * SDK's `userById` (GET /users/:id), which answers later with a `user` event. Until a name is
 * known it shows as a short id.
 */
export class UserDirectory {
  private readonly users = new Map<string, User>();
  private readonly listeners = new Set<() => void>();
  private readonly storageKey: string;
  private lookup: ((userId: string) => User | undefined) | null = null;

  constructor(readonly me: User) {
    this.storageKey = `parley.users.${me.user_id}`;
    try {
      const saved: unknown = JSON.parse(localStorage.getItem(this.storageKey) ?? "[]");
      for (const entry of Array.isArray(saved) ? saved : []) {
        const user = User.safeParse(entry);
        if (user.success) this.users.set(user.data.user_id, user.data);
      }
    } catch {
      /* a corrupt cache is only a cache */
    }
    this.users.set(me.user_id, me);
  }

  /** Fetch unknown users by id through the client; returns the unsubscribe. */
  attach(client: ParleyClient): () => void {
    this.lookup = (userId) => client.userById(userId);
    // Saved profiles may be old (names, photos, privacy change): the SDK fetches each again when first asked for.
    for (const user of this.users.values()) client.rememberUser(user);
    const off = client.on("user", (user) => this.put(user));
    return () => {
      off();
      this.lookup = null;
    };
  }

  get(userId: string): User | undefined {
    return this.users.get(userId);
  }

  put(user: User): void {
    const known = this.users.get(user.user_id);
    if (
      known &&
      known.display_name === user.display_name &&
      known.username === user.username &&
      known.about === user.about &&
      known.photo?.media_id === user.photo?.media_id
    ) {
      // The same profile, fetched again: kept (so `fetch` sees it as known) without telling anyone.
      this.users.set(user.user_id, user);
      return;
    }
    this.users.set(user.user_id, user);
    try {
      localStorage.setItem(this.storageKey, JSON.stringify([...this.users.values()]));
    } catch {
      /* storage full or disabled: keep it in memory */
    }
    for (const listener of this.listeners) listener();
  }

  /** A display name; "You" for the signed-in user when `you` is set. */
  name(userId: string, you = false): string {
    if (you && userId === this.me.user_id) return "You";
    const user = this.fetch(userId) ?? this.users.get(userId);
    if (user) return user.display_name || user.username;
    return `User ${userId.slice(-6)}`;
  }

  /** A user's profile photo, if they have one the signed-in user may see. */
  photo(userId: string): User["photo"] {
    return (this.fetch(userId) ?? this.users.get(userId))?.photo;
  }

  /** A user's "about", if set and shown to the signed-in user. */
  about(userId: string): string | undefined {
    return (this.fetch(userId) ?? this.users.get(userId))?.about;
  }

  /** The SDK's copy (fetched again behind it once no longer fresh; a `user` event brings the answer). */
  private fetch(userId: string): User | undefined {
    const user = this.lookup?.(userId);
    if (user && user !== this.users.get(userId)) queueMicrotask(() => this.put(user));
    return user;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
