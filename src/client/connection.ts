import { CloseCode } from "../protocol/errors";
import { HEARTBEAT_REQUEST, ServerFrame, Subprotocol, type ClientFrame } from "../protocol/frames";
import { Limits } from "../protocol/limits";

export type ConnectionState =
  /** Opening a socket (the first time or again after a drop). */
  | "connecting"
  /** Connected: sends go straight out. */
  | "open"
  /** Not connected; a reconnect is booked (see `retryAt`). Sends wait in the outbox. */
  | "waiting"
  /** The device reports no network; reconnects when it comes back. Sends wait in the outbox. */
  | "offline"
  /** Another socket with this device id took over (close code 4001); no reconnect. */
  | "replaced"
  /** The server ended the session (close code 4003: token revoked, or removed from the conversation). */
  | "revoked"
  /** Stopped by the app. */
  | "closed";

/** The minimum a WebSocket must offer: the browser's, Node 22's and workerd's all do. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void): void;
}
export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export interface BackoffOptions {
  /** First retry after about this long… */
  baseMs: number;
  /** …doubling per failed attempt up to this. */
  maxMs: number;
}

export const defaultBackoff: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Exponential backoff with jitter: attempt n waits between half and all of min(max, base·2ⁿ), so a
 * fleet of clients cut off together does not come back in one thundering herd.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The `ws:`/`wss:` URL of a socket path on the server at `baseUrl`. */
export function socketUrl(baseUrl: string, path: string, params: Record<string, string> = {}): string {
  const url = new URL(path, baseUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/** How long a socket may take to open before the attempt is abandoned and retried. */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface ConnectionOptions {
  url: string;
  token: () => string;
  createSocket: SocketFactory;
  backoff: BackoffOptions;
  /**
   * A heartbeat goes out this often; a socket that answers nothing within `Limits.heartbeatAnswerMs`
   * of one (or within the period, if shorter) is dropped and reopened.
   */
  heartbeatMs: number;
  onOpen(): void;
  onFrame(frame: ServerFrame): void;
  onState(state: ConnectionState): void;
  onProtocolError(raw: string): void;
}

/**
 * One device socket that keeps itself connected: reconnects with backoff after any drop, notices a
 * dead network with heartbeats, and follows the browser's online/offline events when there are any.
 */
export class Connection {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private answerTimer: ReturnType<typeof setTimeout> | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private lastHeard = 0;
  private stateValue: ConnectionState = "closed";
  private stopped = true;
  retryAt: number | null = null;

  constructor(private readonly options: ConnectionOptions) {}

  get state(): ConnectionState {
    return this.stateValue;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const g = globalThis as { addEventListener?: (t: string, l: () => void) => void };
    g.addEventListener?.("online", this.onOnline);
    g.addEventListener?.("offline", this.onOffline);
    if (isDeviceOffline()) this.setState("offline");
    else this.open();
  }

  stop(): void {
    this.stopped = true;
    const g = globalThis as { removeEventListener?: (t: string, l: () => void) => void };
    g.removeEventListener?.("online", this.onOnline);
    g.removeEventListener?.("offline", this.onOffline);
    this.clearTimers();
    this.drop(1000, "client closed");
    this.setState("closed");
  }

  /** Sends frames as one socket message (a JSON array when more than one). False if not open. */
  send(frames: ClientFrame[]): boolean {
    if (!this.socket || this.stateValue !== "open" || frames.length === 0) return false;
    try {
      for (let i = 0; i < frames.length; i += Limits.maxFramesPerMessage) {
        const chunk = frames.slice(i, i + Limits.maxFramesPerMessage);
        this.socket.send(JSON.stringify(chunk.length === 1 ? chunk[0] : chunk));
      }
      return true;
    } catch {
      return false;
    }
  }

  /** Skips the remaining backoff (e.g. the user pressed "retry now"). */
  reconnectNow(): void {
    if (this.stopped || this.stateValue === "open" || this.stateValue === "connecting") return;
    this.attempt = 0;
    this.open();
  }

  private open(): void {
    this.clearTimers();
    this.setState("connecting");
    let socket: SocketLike;
    try {
      // The token rides in a subprotocol, keeping it out of URLs and logs.
      socket = this.options.createSocket(this.options.url, [Subprotocol.batched, Subprotocol.single, `bearer.${this.options.token()}`]);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    // A handshake that never finishes (a server accepting connections while it starts up, a half-dead
    // proxy) would leave the outbox waiting forever: give up on it and try again.
    this.connectTimer = setTimeout(() => {
      if (this.socket !== socket || this.stateValue !== "connecting") return;
      this.drop(4000, "connect timeout");
      this.clearTimers();
      this.scheduleRetry();
    }, Math.min(CONNECT_TIMEOUT_MS, 2 * this.options.heartbeatMs));
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      if (this.connectTimer) clearTimeout(this.connectTimer);
      this.connectTimer = null;
      this.attempt = 0;
      this.lastHeard = Date.now();
      this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatMs);
      this.setState("open");
      this.options.onOpen();
    });
    socket.addEventListener("message", (event: { data: unknown }) => {
      if (this.socket !== socket) return;
      this.lastHeard = Date.now();
      const raw = typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer);
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        this.options.onProtocolError(raw);
        return;
      }
      // parley.v2: a message may carry several frames, in order.
      for (const value of Array.isArray(json) ? json : [json]) {
        const parsed = ServerFrame.safeParse(value);
        if (parsed.success) this.options.onFrame(parsed.data);
        else this.options.onProtocolError(JSON.stringify(value));
      }
    });
    socket.addEventListener("close", (event: { code?: number }) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      if (this.stopped) return;
      if (event.code === CloseCode.replaced || event.code === CloseCode.revoked) {
        this.setState(event.code === CloseCode.replaced ? "replaced" : "revoked");
        return;
      }
      if (isDeviceOffline()) this.setState("offline");
      else this.scheduleRetry();
    });
    // In a browser an error is followed by close, which does the bookkeeping. Node's WebSocket may
    // not close a handshake that failed (refused while a server restarts, a 401) for many seconds:
    // a failed attempt is over at its error, and the next one is scheduled.
    socket.addEventListener("error", () => {
      if (this.socket !== socket || this.stateValue !== "connecting") return;
      this.drop(4000, "connect failed");
      this.clearTimers();
      if (!this.stopped) this.scheduleRetry();
    });
  }

  private heartbeat(): void {
    const socket = this.socket;
    if (!socket || this.answerTimer) return;
    const sentAt = Date.now();
    try {
      socket.send(HEARTBEAT_REQUEST);
    } catch {
      return; // the close event follows
    }
    // Anything heard after the heartbeat proves the link. Silence means the network dropped without
    // a close: start over. (Detection takes at most a period and this window, ≈ 55 s by default.)
    this.answerTimer = setTimeout(
      () => {
        this.answerTimer = null;
        if (this.socket !== socket || this.lastHeard >= sentAt) return;
        this.socket = null;
        try {
          socket.close(4000, "heartbeat timeout");
        } catch {
          /* already gone */
        }
        this.clearTimers();
        this.scheduleRetry();
      },
      Math.min(Limits.heartbeatAnswerMs, this.options.heartbeatMs),
    );
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, this.options.backoff);
    this.retryAt = Date.now() + delay;
    this.setState("waiting");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.retryAt = null;
      this.open();
    }, delay);
  }

  private drop(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    try {
      socket?.close(code, reason);
    } catch {
      /* already closed */
    }
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.answerTimer) clearTimeout(this.answerTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.answerTimer = null;
    this.connectTimer = null;
  }

  private setState(state: ConnectionState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.options.onState(state);
  }

  private readonly onOnline = () => {
    if (!this.stopped && (this.stateValue === "offline" || this.stateValue === "waiting")) {
      this.attempt = 0;
      this.open();
    }
  };

  private readonly onOffline = () => {
    if (this.stopped || this.stateValue === "replaced" || this.stateValue === "revoked") return;
    // The socket cannot carry anything now; drop it so sends queue and the app shows it.
    this.clearTimers();
    this.drop(4000, "device offline");
    this.setState("offline");
  };
}

function isDeviceOffline(): boolean {
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
  // Node has a navigator without onLine; only a real `false` counts.
  return nav?.onLine === false;
}
