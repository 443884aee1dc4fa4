import type { User } from "../protocol/models";
import type { ClientContext } from "./context";

/** Profiles this device knows, each fetched at most once at a time. */
export class Users {
  private readonly known = new Map<string, User>();
  private readonly loading = new Set<string>();

  constructor(private readonly ctx: ClientContext) {
    this.known.set(ctx.user.user_id, ctx.user);
  }

  /**
   * A user's profile if known; otherwise undefined now, and fetched once in the background (a
   * `user` event follows), so a list can render at once and fill in names as they arrive.
   */
  byId(userId: string): User | undefined {
    const known = this.known.get(userId);
    if (known || this.loading.has(userId)) return known;
    this.loading.add(userId);
    this.ctx.rest
      .call("user", { user_id: userId })
      .then(({ user }) => {
        this.known.set(user.user_id, user);
        this.ctx.emit("user", user);
      })
      .catch(() => {
        /* unknown or unreachable: the app keeps its fallback */
      })
      .finally(() => this.loading.delete(userId));
    return undefined;
  }

  /** Records a profile the app learned another way (e.g. a username lookup). */
  remember(user: User): void {
    this.known.set(user.user_id, user);
  }
}
