import type { Presence } from "../protocol/frames";
import { Limits } from "../protocol/limits";
import type { ClientContext } from "./context";

/** Every watch is renewed at half the subscription's life, so it never lapses while connected. */
export const PRESENCE_RENEW_MS = Limits.presenceSubscriptionMs / 2;

/** Whose presence this device watches, and what it last heard of each. */
export class PresenceWatch {
  private readonly heardOf = new Map<string, Presence>();
  private readonly watched = new Set<string>();
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly ctx: ClientContext) {}

  /** Watches users (people you share a conversation with); kept renewed while connected. */
  subscribe(userIds: string[]): void {
    const fresh = userIds.filter((id) => id !== this.ctx.user.user_id && !this.watched.has(id));
    for (const id of fresh) this.watched.add(id);
    if (fresh.length) this.send(fresh);
  }

  of(userId: string): Presence | undefined {
    return this.heardOf.get(userId);
  }

  /** A `presence` frame. */
  heard(presence: Presence): void {
    this.heardOf.set(presence.user_id, presence);
    this.ctx.emit("presence", presence);
  }

  /** Presence heard before a drop may be stale by now; it is sent afresh on resubscribe. */
  forget(): void {
    this.heardOf.clear();
  }

  /** Every watch again: after each (re)connect, and every renewal period. */
  renew(): void {
    if (this.watched.size) this.send([...this.watched]);
  }

  start(): void {
    this.timer ??= setInterval(() => this.renew(), PRESENCE_RENEW_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private send(userIds: string[]): void {
    for (let i = 0; i < userIds.length; i += Limits.presenceSubscribeMaxUsers) {
      this.ctx.socket.send([{ type: "presence_subscribe", user_ids: userIds.slice(i, i + Limits.presenceSubscribeMaxUsers) }]);
    }
  }
}
