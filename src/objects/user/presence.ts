import { userStub, type Env } from "../../env";
import { Limits, type Presence } from "../../protocol";
import type { InboxStore, PresenceSubscriber } from "./inbox";
import type { DeviceSessions } from "./sessions";

/**
 * This user's presence. Online while at least one device socket is open and alive. Liveness costs
 * no wake-ups per heartbeat: the runtime answers heartbeats and records when
 * (`getWebSocketAutoResponseTimestamp`); an alarm, about once a minute while devices are connected,
 * closes any socket silent for over 60 s. Changes go only to subscribers, never to all contacts.
 */
/**
 * Watchers told of a change per invocation. An invocation may make 10,000 subrequests on Workers
 * Paid (calls to other objects included), and an account with a million 1:1 chats can have hundreds
 * of thousands of watchers: the rest are told from the alarm, this many per run.
 */
export const PRESENCE_BROADCAST_CHUNK = 1_000;

export class PresenceKeeper {
  /** Last frame handled per socket (heartbeats are tracked by the runtime instead). */
  private readonly lastFrameAt = new WeakMap<WebSocket, number>();
  /** The last state announced; unknown after a wake-up, when open sockets mean it was "online". */
  private announced: "online" | "offline" | null = null;
  /**
   * A change still being told to the watchers past the first chunk, continued by the alarm. In
   * memory only: if the object is evicted meanwhile, those watchers miss this one change and learn
   * the current state at their next renewal. A newer change replaces it.
   */
  private pendingBroadcast: { presence: Presence; subscribers: PresenceSubscriber[] } | null = null;
  /** Overridable so a test can see the chunks without a thousand watchers. */
  broadcastChunk = PRESENCE_BROADCAST_CHUNK;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly inbox: InboxStore,
    private readonly sessions: DeviceSessions,
    private readonly userId: () => string,
    private readonly scheduleAlarm: (at: number) => void,
  ) {}

  isOnline(): boolean {
    return this.sessions.all().length > 0;
  }

  /** This user's presence as others may see it (last seen hidden if this user hides it). */
  current(): Presence {
    const online = this.isOnline();
    const settings = this.inbox.presenceSettings();
    return {
      user_id: this.userId(),
      status: online ? "online" : "offline",
      last_seen: online || !settings.last_seen_visible ? null : settings.last_seen,
    };
  }

  noteFrame(ws: WebSocket, now: number) {
    this.lastFrameAt.set(ws, now);
  }

  connected(wasOnline: boolean, now: number) {
    this.scheduleAlarm(now + Limits.deviceSilenceMs + 1_000);
    if (!wasOnline || this.announced === "offline") {
      this.announced = "online";
      this.broadcast();
    }
  }

  /** After a socket closed (or was closed for silence): offline once none is left. */
  maybeGone(now: number) {
    if (this.isOnline() || this.announced === "offline") return;
    this.announced = "offline";
    this.inbox.setLastSeen(now);
    this.broadcast();
  }

  /**
   * Closes sockets silent for too long, and books the next check for when the quietest remaining
   * socket would cross the limit: about once a minute per connected user, however often they ping.
   */
  checkLiveness(now: number): boolean {
    let closed = false;
    let nextCheck = Infinity;
    for (const session of this.sessions.all()) {
      const ws = session.ws;
      const heartbeat = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const last = Math.max(heartbeat, this.lastFrameAt.get(ws) ?? 0, session.connectedAt);
      if (now - last > Limits.deviceSilenceMs) {
        try {
          ws.close(1001, "silent for too long");
        } catch {
          /* already closing */
        }
        closed = true;
      } else {
        nextCheck = Math.min(nextCheck, last + Limits.deviceSilenceMs + 1_000);
      }
    }
    if (closed) this.maybeGone(now);
    if (nextCheck !== Infinity) this.scheduleAlarm(nextCheck);
    return this.isOnline();
  }

  /** Tells every watcher of the current state: the first chunk now, the rest from the alarm. */
  private broadcast() {
    this.pendingBroadcast = { presence: this.current(), subscribers: this.inbox.presenceSubscribers(Date.now()) };
    this.continueBroadcast(Date.now());
  }

  /** Tells the next chunk of watchers of a pending change; books the alarm if more are left. */
  continueBroadcast(now: number): void {
    const pending = this.pendingBroadcast;
    if (!pending) return;
    const chunk = pending.subscribers.splice(0, this.broadcastChunk);
    if (pending.subscribers.length === 0) this.pendingBroadcast = null;
    else this.scheduleAlarm(now);
    this.ctx.waitUntil(this.tell(pending.presence, chunk));
  }

  /**
   * A watcher with no device connected says so and is dropped here, so a watch costs at most one
   * wasted call after its app went away, however long the subscription runs.
   */
  private async tell(presence: Presence, subscribers: PresenceSubscriber[]): Promise<void> {
    const answers = await Promise.allSettled(subscribers.map((s) => userStub(this.env, s.subscriber_id).presenceChanged(presence)));
    const gone = subscribers.filter((_, i) => {
      const a = answers[i]!;
      return a.status === "fulfilled" && a.value === false;
    });
    if (gone.length) this.inbox.dropPresenceSubscribers(gone);
  }
}
