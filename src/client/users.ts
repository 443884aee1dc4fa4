import type { User } from "../protocol/models";
import type { ClientContext } from "./context";

/**
 * How long a fetched profile is taken as current. Names, photos and "about" change, and what the
 * user may see of them follows the owner's privacy settings, so an older one is shown at once and
 * fetched again behind it.
 */
const PROFILE_FRESH_MS = 5 * 60_000;

/** Profiles this device knows, each fetched at most once at a time. */
export class Users {
  private readonly known = new Map<string, { user: User; fetchedAt: number }>();
  private readonly loading = new Set<string>();

  constructor(private readonly ctx: ClientContext) {
    this.known.set(ctx.user.user_id, { user: ctx.user, fetchedAt: Date.now() });
  }

  /**
   * A user's profile if known; when unknown or no longer fresh, it is fetched once in the
   * background (a `user` event follows), so a list can render at once and fill in as answers arrive.
   */
  byId(userId: string): User | undefined {
    const known = this.known.get(userId);
    if ((!known || Date.now() - known.fetchedAt > PROFILE_FRESH_MS) && !this.loading.has(userId)) this.fetch(userId);
    return known?.user;
  }

  private fetch(userId: string): void {
    this.loading.add(userId);
    this.ctx.rest
      .call("user", { user_id: userId })
      .then(({ user }) => this.learned(user))
      .catch(() => {
        /* unknown or unreachable: the app keeps its fallback */
      })
      .finally(() => this.loading.delete(userId));
  }

  /** Records a profile the app learned another way (a username lookup, an earlier session): fetched again when next asked for. */
  remember(user: User): void {
    if (!this.known.has(user.user_id)) this.known.set(user.user_id, { user, fetchedAt: 0 });
  }

  /** A profile just fetched or saved: current, and told to the app. */
  learned(user: User): void {
    this.known.set(user.user_id, { user, fetchedAt: Date.now() });
    this.ctx.emit("user", user);
  }

  /** After being away (a reconnect), every profile is fetched again when next asked for. */
  stale(): void {
    for (const entry of this.known.values()) entry.fetchedAt = 0;
  }
}
