import type { EndpointOutput } from "../protocol/endpoints";
import { ParleyApiError } from "./rest";

export interface SessionOptions {
  token: string;
  refresh(): Promise<EndpointOutput<"refresh">>;
  /** A refresh rotated the token: the old one stops working. */
  refreshed(token: string): void;
}

/**
 * The session token, refreshed before it expires. Tokens live a day: the refresh comes an hour
 * before expiry (or soon, if less is left), so a client that stays open never finds its session
 * expired.
 */
export class Session {
  private current: string;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;

  constructor(private readonly options: SessionOptions) {
    this.current = options.token;
  }

  get token(): string {
    return this.current;
  }

  /** Swaps in a token refreshed elsewhere; the next (re)connect and REST call use it. */
  set(token: string): void {
    this.current = token;
    this.schedule();
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const exp = tokenExpiry(this.current);
    if (exp === null || !this.running) return;
    const delay = Math.max(60_000, exp - Date.now() - 60 * 60_000);
    this.timer = setTimeout(() => {
      this.options
        .refresh()
        .then(({ token }) => {
          this.current = token;
          this.options.refreshed(token);
          this.schedule();
        })
        .catch((err: unknown) => {
          // The session ended (logged out, too old, or this token was already replaced): nothing to
          // retry; its socket is closed with 4003 ("revoked").
          if (err instanceof ParleyApiError && err.status === 401) return;
          // Offline or the server is down: try again in a minute (the old token still works until exp).
          if (this.running) this.timer = setTimeout(() => this.schedule(), 60_000);
        });
    }, Math.min(delay, 2 ** 31 - 1));
  }
}

/** A JWT's `exp` in milliseconds (read, not verified: the server verifies). */
function tokenExpiry(token: string): number | null {
  try {
    const payload: unknown = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/")));
    const exp = typeof payload === "object" && payload !== null ? (payload as { exp?: unknown }).exp : undefined;
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}
