import { userStub, type Env } from "../../env";
import { Limits, type Presence } from "../../protocol";
import type { InboxStore } from "./inbox";
import type { DeviceSessions } from "./sessions";

/**
 * This user's presence. Online while at least one device socket is open and alive. Liveness costs
 * no wake-ups per heartbeat: the runtime answers heartbeats and records when
 * (`getWebSocketAutoResponseTimestamp`); an alarm, about once a minute while devices are connected,
 * closes any socket silent for over 60 s. Changes go only to subscribers, never to all contacts.
 */
export class PresenceKeeper {
  /** Last frame handled per socket (heartbeats are tracked by the runtime instead). */
  private readonly lastFrameAt = new WeakMap<WebSocket, number>();
  /** The last state announced; unknown after a wake-up, when open sockets mean it was "online". */
  private announced: "online" | "offline" | null = null;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly inbox: InboxStore,
    private readonly sessions: DeviceSessions,
    private readonly userId: () => string,
    private readonly scheduleCheck: (at: number) => void,
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
    this.scheduleCheck(now + Limits.deviceSilenceMs + 1_000);
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
    if (nextCheck !== Infinity) this.scheduleCheck(nextCheck);
    return this.isOnline();
  }

  /**
   * Tells every watcher. A watcher with no device connected says so and is dropped here, so a watch
   * costs at most one wasted call after its app went away, however long the subscription runs.
   */
  private broadcast() {
    const presence = this.current();
    const subscribers = this.inbox.presenceSubscribers(Date.now());
    this.ctx.waitUntil(
      Promise.allSettled(subscribers.map((s) => userStub(this.env, s.subscriber_id).presenceChanged(presence))).then((answers) => {
        const gone = subscribers.filter((_, i) => {
          const a = answers[i]!;
          return a.status === "fulfilled" && a.value === false;
        });
        if (gone.length) this.inbox.dropPresenceSubscribers(gone);
      }),
    );
  }
}
