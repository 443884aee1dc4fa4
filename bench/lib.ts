/**
 * A small load client for the benchmarks: Node 22's WebSocket and fetch, frames typed by the
 * protocol module. Everything targets loopback and is bounded in count and time.
 */
import type { ServerFrame } from "../src/protocol";

export interface Account {
  user: { user_id: string; username: string };
  token: string;
}

export class Server {
  constructor(readonly base: string) {}

  async call<T = any>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(`${this.base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  register(prefix: string): Promise<Account> {
    const username = `${prefix}_${Math.random().toString(36).slice(2, 10)}`.slice(0, 32);
    return this.call("POST", "/api/v1/auth/register", { username, password: "benchmark-password" });
  }

  async direct(a: Account, b: Account): Promise<string> {
    const res = await this.call("POST", "/api/v1/conversations", { type: "direct", member_ids: [b.user.user_id] }, a.token);
    return res.conversation.conversation_id;
  }

  socket(token: string, deviceId: string, onFrame: (f: ServerFrame) => void, path = "/api/v1/ws"): Promise<WebSocket> {
    const url = `${this.base.replace(/^http/, "ws")}${path}?device_id=${deviceId}&token=${token}`;
    const ws = new WebSocket(url);
    ws.addEventListener("message", (e) => onFrame(JSON.parse(e.data as string) as ServerFrame));
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(ws), { once: true });
      ws.addEventListener("error", () => reject(new Error(`socket ${deviceId} failed to open`)), { once: true });
    });
  }
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
