import type { Env } from "../../env";
import { log } from "../../lib/log";
import { CloseCode, Limits, type Presence } from "../../protocol";
import type { TaskKind } from "../alarms";
import type { ObjectContext } from "../context";
import { byUserHome, userHomeStub } from "../homes";
import { closeSocket } from "../sockets";
import { hiddenPresence, type Consent } from "./consent";
import type { Profiles } from "./profiles";
import type { DeviceSessions } from "./sessions";

/**
 * Watchers told of a change per invocation (PRESENCE_BROADCAST_CHUNK, default 1,000). An invocation
 * may make 10,000 subrequests on Workers Paid and 50 on Workers Free (calls to other objects
 * included), and an account with a million 1:1 chats can have hundreds of thousands of watchers: the
 * rest are told from the alarm, this many per run.
 */
export function parseBroadcastChunk(raw: string | undefined): number {
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 1 ? n : 1_000;
}

/**
 * The liveness check runs at most this often per object, however many users it holds: a user
 * object of thousands of users books one alarm for all of their sockets, not one per user.
 */
export const LIVENESS_CHECK_MIN_INTERVAL_MS = 15_000;

/** A watcher of a user's presence, and when its watch lapses. */
export type PresenceSubscriber = { subscriber_id: string; expires_at: number };

/**
 * Presence of the users an object holds. A user is online while at least one of their device
 * sockets is open and alive. Liveness costs no wake-ups per heartbeat: the runtime answers heartbeats
 * and records when (`getWebSocketAutoResponseTimestamp`); one alarm per object, booked for when its
 * quietest socket would cross the limit (and at most every 15 s), closes sockets silent for over
 * 60 s. Changes go only to subscribers, never to all contacts, one call per object holding them.
 */
export class PresenceKeeper {
  /** Last frame handled per socket (heartbeats are tracked by the runtime instead). */
  private readonly lastFrameAt = new WeakMap<WebSocket, number>();
  /** The last state announced per user; unknown after a wake-up, when open sockets mean "online". */
  private readonly announced = new Map<string, "online" | "offline">();
  /**
   * Changes still being told to watchers past the first chunk, continued by the alarm. In memory
   * only: if the object is evicted meanwhile, those watchers miss this one change and learn the
   * current state at their next renewal. A newer change of the same user replaces it.
   */
  private readonly pendingBroadcasts = new Map<string, { presence: Presence; subscribers: PresenceSubscriber[]; settingChanged: boolean }>();
  private readonly broadcastChunk: number;
  private readonly env: Env;
  /** The alarm task that closes silent sockets. */
  private readonly livenessChecks: TaskKind;
  /** The alarm task that tells the next chunk of watchers. */
  private readonly broadcasts: TaskKind;

  constructor(
    private readonly object: ObjectContext,
    private readonly profiles: Profiles,
    private readonly sessions: DeviceSessions,
    /** Whose settings let whom see their presence. */
    private readonly consent: Consent,
  ) {
    this.env = object.env;
    this.broadcastChunk = parseBroadcastChunk(object.env.PRESENCE_BROADCAST_CHUNK);
    this.livenessChecks = object.alarms.define("liveness", (now) => this.checkLiveness(now));
    this.broadcasts = object.alarms.define("presence", (now) => this.continueBroadcast(now));
  }

  private get sql() {
    return this.object.storage.sql;
  }

  isOnline(userId: string): boolean {
    return this.sessions.online(userId);
  }

  /** The user's presence as others may see it (last seen hidden if the user hides it). */
  current(userId: string): Presence {
    const online = this.isOnline(userId);
    const settings = this.profiles.presenceSettings(userId);
    return {
      user_id: userId,
      status: online ? "online" : "offline",
      last_seen: online || !settings.last_seen_visible ? null : settings.last_seen,
    };
  }

  noteFrame(ws: WebSocket, now: number) {
    this.lastFrameAt.set(ws, now);
  }

  connected(userId: string, wasOnline: boolean, now: number) {
    this.livenessChecks.book(now + Limits.deviceSilenceMs + 1_000);
    if (!wasOnline || this.announced.get(userId) === "offline") {
      this.announced.set(userId, "online");
      this.broadcast(userId);
    }
  }

  /** After a socket of the user closed (or was closed for silence): offline once none is left. */
  maybeGone(userId: string, now: number) {
    if (this.isOnline(userId) || this.announced.get(userId) === "offline") return;
    this.announced.set(userId, "offline");
    this.profiles.setLastSeen(userId, now);
    this.broadcast(userId);
  }

  /**
   * Closes sockets silent for too long; answers when to check next: when the quietest remaining
   * socket would cross the limit, about once a minute per object, however many users and pings.
   */
  private checkLiveness(now: number): number | null {
    const gone = new Set<string>();
    let nextCheck = Infinity;
    for (const session of this.sessions.all()) {
      const ws = session.ws;
      const heartbeat = this.object.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const last = Math.max(heartbeat, this.lastFrameAt.get(ws) ?? 0, session.connectedAt);
      if (now - last > Limits.deviceSilenceMs) {
        closeSocket(ws, CloseCode.goingAway, "silent for too long");
        this.sessions.drop(ws);
        gone.add(session.userId);
      } else {
        nextCheck = Math.min(nextCheck, last + Limits.deviceSilenceMs + 1_000);
      }
    }
    for (const userId of gone) this.maybeGone(userId, now);
    return nextCheck === Infinity ? null : Math.max(nextCheck, now + LIVENESS_CHECK_MIN_INTERVAL_MS);
  }

  // ---- watchers ------------------------------------------------------------

  /** `subscriberId` watches `userId`: renewed by subscribing again. */
  subscribe(userId: string, subscriberId: string, expiresAt: number): void {
    this.sql.exec(
      `INSERT INTO presence_subscribers (user_id, subscriber_id, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (user_id, subscriber_id) DO UPDATE SET expires_at = excluded.expires_at`,
      userId,
      subscriberId,
      expiresAt,
    );
  }

  /** `subscriberId` stops watching `userId` (the user blocked them). */
  unsubscribe(userId: string, subscriberId: string): void {
    this.sql.exec("DELETE FROM presence_subscribers WHERE user_id = ? AND subscriber_id = ?", userId, subscriberId);
  }

  /** Current watchers of the user; lapsed ones are forgotten on the way. */
  subscribers(userId: string, now: number): PresenceSubscriber[] {
    this.sql.exec("DELETE FROM presence_subscribers WHERE user_id = ? AND expires_at <= ?", userId, now);
    return this.sql.exec<PresenceSubscriber>("SELECT subscriber_id, expires_at FROM presence_subscribers WHERE user_id = ?", userId).toArray();
  }

  /**
   * Drops watchers that answered a change with no device connected, unless they subscribed again
   * meanwhile (their expiry moved): a watcher reconnecting as the change went out keeps its watch.
   */
  private dropSubscribers(userId: string, subscribers: PresenceSubscriber[]): void {
    for (const s of subscribers) {
      this.sql.exec("DELETE FROM presence_subscribers WHERE user_id = ? AND subscriber_id = ? AND expires_at = ?", userId, s.subscriber_id, s.expires_at);
    }
  }

  /**
   * Tells every watcher the user's setting allows of the user's current state: the first chunk now,
   * the rest from the alarm. Watchers it does not allow hear nothing of a change, or, when the
   * setting itself changed (`settingChanged`), that the user is offline with no last seen.
   */
  broadcast(userId: string, settingChanged = false) {
    const now = Date.now();
    this.pendingBroadcasts.set(userId, { presence: this.current(userId), subscribers: this.subscribers(userId, now), settingChanged });
    this.continueBroadcast(now, userId);
  }

  /** Tells the next chunk of watchers of pending changes (one user's, or all); books the alarm if more are left. */
  private continueBroadcast(now: number, onlyUser?: string): null {
    const users = onlyUser !== undefined ? [onlyUser] : [...this.pendingBroadcasts.keys()];
    for (const userId of users) {
      const pending = this.pendingBroadcasts.get(userId);
      if (!pending) continue;
      const chunk = pending.subscribers.splice(0, this.broadcastChunk);
      if (pending.subscribers.length === 0) this.pendingBroadcasts.delete(userId);
      else this.broadcasts.book(now);
      const allowed = chunk.filter((s) => this.consent.showsPresenceTo(userId, s.subscriber_id));
      const refused = chunk.filter((s) => !allowed.includes(s));
      this.object.waitUntil(this.tell(userId, pending.presence, allowed));
      if (pending.settingChanged && refused.length > 0) this.object.waitUntil(this.tell(userId, hiddenPresence(userId), refused));
    }
    return null;
  }

  /**
   * One call per object holding watchers. A watcher with no device connected says so and is dropped
   * here, so a watch costs at most one wasted call after its app went away, however long it runs.
   */
  private async tell(userId: string, presence: Presence, subscribers: PresenceSubscriber[]): Promise<void> {
    const homes = [...byUserHome(this.env, subscribers, (s) => s.subscriber_id)];
    const answers = await Promise.allSettled(
      homes.map(([home, group]) => userHomeStub(this.env, home).presenceChanged(presence, group.map((s) => s.subscriber_id))),
    );
    const gone: PresenceSubscriber[] = [];
    answers.forEach((a, i) => {
      if (a.status === "rejected") {
        // Those watchers miss this change; the next one (or their renewal) tells them again.
        log.warn("presence change not told", { user_id: userId, home: homes[i]![0], watchers: homes[i]![1].length, error: a.reason });
        return;
      }
      const away = new Set(a.value);
      for (const s of homes[i]![1]) if (away.has(s.subscriber_id)) gone.push(s);
    });
    if (gone.length) this.dropSubscribers(userId, gone);
  }
}
