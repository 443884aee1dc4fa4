/**
 * The benchmarks drive Parley through its own SDK (src/client), as an app would: the same
 * outbox, ordering and delivered acknowledgements a real client performs are part of every figure.
 * Everything targets loopback and is bounded in count and time.
 */
import { ParleyClient, RestClient, type ParleyClientOptions, type SocketFactory } from "../src/client";

export interface Account {
  user: { user_id: string; username: string; display_name: string };
  token: string;
}

export class Server {
  constructor(
    readonly base: string,
    /** The server's node process (`scripts/server.ts`), when the bench started it. */
    readonly pid?: number,
  ) {}

  register(prefix: string): Promise<Account> {
    const username = `${prefix}_${Math.random().toString(36).slice(2, 10)}`.slice(0, 32);
    return ParleyClient.register(this.base, { username, password: "benchmark-password" });
  }

  rest(account: Account): RestClient {
    return new RestClient(this.base, () => account.token);
  }

  async direct(a: Account, b: Account): Promise<string> {
    const res = await this.rest(a).call("createConversation", { body: { type: "direct", member_ids: [b.user.user_id] } });
    return res.conversation.conversation_id;
  }

  /** A started client with its device socket open. */
  async client(account: Account, deviceId: string, options: Partial<ParleyClientOptions> = {}): Promise<ParleyClient> {
    const client = new ParleyClient({ baseUrl: this.base, token: account.token, user: account.user, deviceId, ...options });
    const opened = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (off(), reject(new Error(`timed out waiting for device ${deviceId} to connect`))), 30_000);
      const off = client.on("connection", (state) => {
        if (state === "open") (clearTimeout(timer), off(), resolve());
      });
    });
    await client.start();
    await opened;
    return client;
  }
}

/**
 * Sockets for the SDK (`createSocket`; Node's WebSocket unless told otherwise), counting frames and
 * payload bytes each way.
 */
export class SocketMeter {
  framesIn = 0;
  bytesIn = 0;
  framesOut = 0;
  bytesOut = 0;
  /** When the last socket made by `factory` opened (performance.now()). */
  openedAt = NaN;
  /** The extensions the server agreed to on the last socket that opened ("" for none; Node's WebSocket offers permessage-deflate). */
  extensions = "";
  /** Every frame received, when capturing (to replay them elsewhere). */
  captured: string[] | null = null;

  constructor(private readonly create: SocketFactory = (url, protocols) => new WebSocket(url, protocols)) {}

  readonly factory: SocketFactory = (url, protocols) => {
    const ws = this.create(url, protocols);
    ws.addEventListener("open", () => {
      this.openedAt = performance.now();
      this.extensions = (ws as { extensions?: string }).extensions ?? "";
    });
    ws.addEventListener("message", (event) => {
      const data = String(event.data);
      this.framesIn++;
      this.bytesIn += Buffer.byteLength(data);
      this.captured?.push(data);
    });
    const send = ws.send.bind(ws);
    ws.send = (data: string) => {
      this.framesOut++;
      this.bytesOut += Buffer.byteLength(data);
      send(data);
    };
    return ws;
  };
}

/** Registers `count` users, `concurrency` at a time (each costs a 100,000-iteration PBKDF2). */
export async function registerMany(server: Server, count: number, prefix: string, concurrency = 8): Promise<Account[]> {
  const out: Account[] = [];
  for (let i = 0; i < count; i += concurrency) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, (_, k) => server.register(`${prefix}${i + k}`)))));
  }
  return out;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

export function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted[sorted.length - 1] ?? NaN),
  };
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `done()` holds, polling cheaply; rejects after `timeoutMs`. */
export async function waitFor(done: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * Times a group's fan-out the same way for Parley and the peers: `note(body)` is called by every
 * member's client for each message it receives; `run` sends `messages` ids `intervalMs` apart and,
 * once each has reached all `recipients`, reports send → first and → last arrival and deliveries/s.
 */
export class FanoutTimer {
  private readonly sentAt = new Map<string, number>();
  private readonly arrivals = new Map<string, number[]>();

  readonly note = (body: string) => {
    if (!this.sentAt.has(body)) return;
    const list = this.arrivals.get(body) ?? [];
    list.push(performance.now());
    this.arrivals.set(body, list);
  };

  /** Messages are named `${prefix}${n}`: a run with a prefix of its own ignores what is late from another. */
  async run(send: (body: string) => Promise<unknown>, opts: { messages: number; intervalMs: number; recipients: number; prefix?: string }) {
    this.sentAt.clear();
    this.arrivals.clear();
    for (let n = 0; n < opts.messages; n++) {
      const id = `${opts.prefix ?? "g"}${n}`;
      this.sentAt.set(id, performance.now());
      await send(id);
      await sleep(opts.intervalMs);
    }
    const { sentAt, arrivals } = this;
    await waitFor(() => [...sentAt.keys()].every((id) => (arrivals.get(id)?.length ?? 0) >= opts.recipients), 120_000, "every member to have every message");
    const toLast = [...sentAt.entries()].map(([id, t0]) => Math.max(...arrivals.get(id)!) - t0);
    const toFirst = [...sentAt.entries()].map(([id, t0]) => Math.min(...arrivals.get(id)!) - t0);
    const spanSeconds = (Math.max(...[...arrivals.values()].flat()) - Math.min(...sentAt.values())) / 1000;
    return {
      to_last_member_ms: summarize(toLast),
      to_first_member_ms: summarize(toFirst),
      deliveries_per_s: round((opts.messages * opts.recipients) / spanSeconds, 0),
    };
  }
}

/**
 * Many conversations at once, each sender keeping at most `window` messages sent and not yet
 * complete (acked; delivered, where nothing acks), one send per turn of the event loop, so each
 * message leaves as a socket message of its own. The caller reports completions with `complete(pair)`.
 */
export class PairWindows {
  private completed: number[] = [];
  private readonly wake: ((() => void) | null)[] = [];

  constructor(readonly opts: { pairs: number; window: number }) {}

  /** A message of `pair` is complete. */
  readonly complete = (pair: number) => {
    this.completed[pair] = (this.completed[pair] ?? 0) + 1;
    const wake = this.wake[pair];
    this.wake[pair] = null;
    wake?.();
  };

  /** Sends `perPair` messages on every pair (`send(pair, n)`); resolves once all are complete. */
  async run(perPair: number, send: (pair: number, n: number) => Promise<unknown>, timeoutMs = 180_000): Promise<void> {
    const { pairs, window } = this.opts;
    this.completed = Array.from({ length: pairs }, () => 0);
    const deadline = Date.now() + timeoutMs;
    const drive = async (pair: number) => {
      for (let n = 0; n < perPair; ) {
        if (Date.now() > deadline) throw new Error(`pair ${pair} sent ${n} of ${perPair} within ${timeoutMs / 1000} s`);
        if (n - this.completed[pair]! < window) {
          await send(pair, n++);
          await new Promise(setImmediate);
        } else {
          await Promise.race([new Promise<void>((resolve) => (this.wake[pair] = resolve)), sleep(100)]);
        }
      }
    };
    await Promise.all(Array.from({ length: pairs }, (_, pair) => drive(pair)));
    await waitFor(() => this.completed.every((c) => c >= perPair), Math.max(1_000, deadline - Date.now()), "every message to complete");
  }
}
