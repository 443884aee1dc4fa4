import { exports } from "cloudflare:workers";
import { RestClient } from "../../src/client/rest";
import type { ServerFrame } from "../../src/protocol";

/** The SDK's typed REST client, talking to the Worker in-process. */
export function rest(token?: string): RestClient {
  return new RestClient("http://parley.test", () => token ?? null, (input, init) => exports.default.fetch(input, init));
}

/** Talks to the Worker in-process, as a client would over HTTP. */
export async function api<T = any>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers["Content-Type"] ??= "application/json";
  const res = await exports.default.fetch(`http://parley.test${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let counter = 0;
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}_${counter}_${Math.random().toString(36).slice(2, 8)}`.slice(0, 32);
}

export interface Account {
  user: { user_id: string; username: string; display_name: string };
  token: string;
}

export function registerUser(prefix = "user"): Promise<Account> {
  return rest().call("register", { body: { username: uniqueName(prefix), password: "correct horse battery" } });
}

export async function directConversation(a: Account, b: Account): Promise<string> {
  const { conversation } = await rest(a.token).call("createConversation", { body: { type: "direct", member_ids: [b.user.user_id] } });
  return conversation.conversation_id;
}

/** A device socket that records every frame and lets a test wait for the frames it expects. */
export class TestSocket {
  readonly frames: ServerFrame[] = [];
  /** Socket messages received: fewer than frames when a parley.v2 socket gets arrays. */
  messages = 0;
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      const json = JSON.parse(e.data as string) as ServerFrame | ServerFrame[];
      this.messages++;
      this.frames.push(...(Array.isArray(json) ? json : [json]));
      this.wake();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake();
    });
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  send(frame: unknown) {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  of<T extends ServerFrame["type"]>(type: T): Extract<ServerFrame, { type: T }>[] {
    return this.frames.filter((f) => f.type === type) as Extract<ServerFrame, { type: T }>[];
  }

  /** Resolves once `done(frames)` holds; fails with what arrived if it does not within the timeout. */
  async until(done: (s: TestSocket) => boolean, what = "expected frames", timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames.slice(-5))} (${this.frames.length} frames)`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `count` frames of a type and returns them. */
  async next<T extends ServerFrame["type"]>(type: T, count = 1, timeoutMs = 15_000) {
    await this.until((s) => s.of(type).length >= count, `${count} ${type} frame(s)`, timeoutMs);
    return this.of(type);
  }

  /**
   * Waits until the object has handled every frame sent before this one: a heartbeat spelled so that
   * it reaches the object (the exact `{"type":"heartbeat"}` is answered by the runtime itself, without
   * the object, so it would prove nothing). Not a barrier for work the object does asynchronously (a
   * catch-up, a fan-out round, gathered receipts): tests of those wait for a later event on the same path.
   */
  async settle(): Promise<void> {
    const before = this.of("heartbeat_ack").length;
    this.ws.send(' {"type":"heartbeat"}');
    await this.next("heartbeat_ack", before + 1);
  }

  close() {
    try {
      this.ws.close(1000, "done");
    } catch {
      /* already closed */
    }
  }
}

export async function connect(
  token: string,
  deviceId: string,
  opts: { viaProtocol?: boolean; path?: string; subprotocol?: string } = {},
): Promise<TestSocket> {
  const res = await openSocket(token, deviceId, opts);
  if (res.status !== 101 || !res.webSocket) {
    throw new Error(`upgrade refused: ${res.status} ${await res.text()}`);
  }
  res.webSocket.accept();
  return new TestSocket(res.webSocket);
}

export function openSocket(token: string | null, deviceId: string, opts: { viaProtocol?: boolean; path?: string; subprotocol?: string } = {}) {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (opts.subprotocol) headers["Sec-WebSocket-Protocol"] = opts.subprotocol;
  const params = new URLSearchParams({ device_id: deviceId });
  if (token && opts.viaProtocol) headers["Sec-WebSocket-Protocol"] = `parley.v1, bearer.${token}`;
  else if (token) params.set("token", token);
  return exports.default.fetch(`http://parley.test${opts.path ?? "/api/v1/ws"}?${params}`, { headers });
}

/** Sends one message over a socket and waits for its ack. */
export async function sendAndAck(socket: TestSocket, conversationId: string, content: string, clientMsgId: string) {
  const before = socket.of("message_ack").length;
  socket.send({ type: "send_message", conversation_id: conversationId, ...text(content, clientMsgId) });
  const acks = await socket.next("message_ack", before + 1);
  return acks.find((a) => a.client_msg_id === clientMsgId)!;
}

export const text = (content: string, clientMsgId: string) => ({
  content,
  content_type: "text" as const,
  client_msg_id: clientMsgId,
});

export const TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";
/** The operator secret the test projects set (vitest.config.ts). */
export const TEST_ADMIN_SECRET = "test-admin-secret-0123456789";

/**
 * Many users at once for membership-scale tests: profiles made straight in their user objects and
 * tokens signed with the test secret, skipping 600,000-iteration password hashing per user.
 * (Registration itself is covered by the auth tests.)
 */
export async function quickUsers(count: number, prefix = "q"): Promise<Account[]> {
  const { env } = await import("cloudflare:workers");
  const { sign } = await import("hono/jwt");
  const { userHome } = await import("../../src/objects/homes");
  const now = Math.floor(Date.now() / 1000);
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const user = { user_id: `u_${prefix}${i}_${crypto.randomUUID().replace(/-/g, "").slice(0, 16)}`, username: `${prefix}${i}`, display_name: `${prefix}${i}` };
      await userHome(env, user.user_id).createProfile(user);
      const session = (await userHome(env, user.user_id).startSession(user.user_id))!;
      const claims = { sub: user.user_id, username: user.username, iat: now, exp: now + 3600, jti: crypto.randomUUID(), gen: 0, sid: session.session_id, ver: session.version };
      const token = await sign(claims, TEST_JWT_SECRET, "HS256");
      return { user, token };
    }),
  );
}

/**
 * `count` users whose homes (the user objects holding them, src/objects/homes.ts) are all
 * different — or, with `together`, all the same. Users are made until the layout is found: under
 * USER_SHARDS=1 everyone is together and nobody can be apart, which throws.
 */
export async function quickUsersPlaced(count: number, layout: "apart" | "together", prefix = "pl"): Promise<Account[]> {
  const { env } = await import("cloudflare:workers");
  const { userHomeName } = await import("../../src/objects/homes");
  const byHome = new Map<string, Account[]>();
  for (let round = 0; round < 25; round++) {
    for (const u of await quickUsers(4, `${prefix}${round}_`)) {
      const home = userHomeName(env, u.user.user_id);
      byHome.set(home, [...(byHome.get(home) ?? []), u]);
    }
    if (layout === "apart" && byHome.size >= count) return [...byHome.values()].slice(0, count).map((g) => g[0]!);
    const group = [...byHome.values()].find((g) => g.length >= count);
    if (layout === "together" && group) return group.slice(0, count);
  }
  throw new Error(`could not place ${count} users ${layout} (USER_SHARDS=${env.USER_SHARDS ?? "unset"})`);
}

export async function createGroup(owner: Account, members: Account[], name = "team"): Promise<string> {
  const { conversation } = await rest(owner.token).call("createConversation", {
    body: { type: "group", name, member_ids: members.map((m) => m.user.user_id) },
  });
  return conversation.conversation_id;
}
