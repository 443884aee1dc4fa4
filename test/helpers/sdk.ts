/**
 * Node-side helpers for tests that drive the SDK against a real server: accounts, clients, a
 * socket wrapper that loses or repeats chosen frames (what a flaky network does), and waiting for
 * a condition on client events instead of sleeping.
 */
import { afterEach } from "vitest";
import { ParleyClient, type ClientFrame, type ParleyClientOptions, type ServerFrame, type SocketLike } from "../../src/client";

let counter = 0;
export async function account(baseUrl: string, prefix = "sdk") {
  counter += 1;
  const username = `${prefix}_${counter}_${Math.random().toString(36).slice(2, 8)}`.slice(0, 32);
  return ParleyClient.register(baseUrl, { username, password: "correct horse battery" });
}

export type Account = Awaited<ReturnType<typeof account>>;

export function client(baseUrl: string, who: Account, deviceId: string, options: Partial<ParleyClientOptions> = {}) {
  // Short backoff: these tests cut connections on purpose and should not wait 30 s to come back.
  return new ParleyClient({ baseUrl, token: who.token, user: who.user, deviceId, backoff: { baseMs: 50, maxMs: 500 }, ...options });
}

/**
 * Starts clients for a test file, and stops every one of them after each test: call once at the
 * top of the file, then `started(client(...))`.
 */
export function startedClients(): (c: ParleyClient) => ParleyClient {
  const running: ParleyClient[] = [];
  afterEach(() => {
    for (const c of running.splice(0)) c.stop();
  });
  return (c) => {
    running.push(c);
    void c.start();
    return c;
  };
}

/** Two new accounts and the direct conversation between them. */
export async function directPair(baseUrl: string) {
  const [alice, bob] = await Promise.all([account(baseUrl, "alice"), account(baseUrl, "bob")]);
  const rest = client(baseUrl, alice, "setup").rest;
  const { conversation } = await rest.call("createConversation", { body: { type: "direct", member_ids: [bob.user.user_id] } });
  return { alice, bob, rest, conversationId: conversation.conversation_id };
}

/** Resolves once `done()` holds, re-checking on every client event; fails after `timeoutMs`. */
export function until(clients: ParleyClient[], done: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = [];
    const finish = (err?: Error) => {
      clearTimeout(timer);
      for (const off of offs) off();
      err ? reject(err) : resolve();
    };
    const check = () => {
      if (done()) finish();
    };
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs);
    for (const c of clients) {
      for (const event of ["conversation", "connection", "message", "sent", "receipt", "conversations", "presence", "typing", "user"] as const) {
        offs.push(c.on(event, check));
      }
    }
  });
}

type Verdict = "pass" | "drop" | "twice";

/**
 * Real WebSockets with a hand on the wire: `incoming` decides per server frame (also inside a
 * parley.v2 array) whether it arrives,
 * is lost, or arrives twice; `cut()` drops the current connection; `sent` records every frame the
 * client sent.
 */
export class FlakyNetwork {
  incoming: (frame: ServerFrame) => Verdict = () => "pass";
  readonly sent: ClientFrame[] = [];
  private current: WebSocket | null = null;

  readonly createSocket = (url: string, protocols: string[]): SocketLike => {
    const ws = new WebSocket(url, protocols);
    this.current = ws;
    const network = this;
    return {
      get readyState() {
        return ws.readyState;
      },
      send(data: string) {
        const parsed = JSON.parse(data) as ClientFrame | ClientFrame[];
        network.sent.push(...(Array.isArray(parsed) ? parsed : [parsed]));
        ws.send(data);
      },
      close: (code?: number, reason?: string) => ws.close(code, reason),
      addEventListener(type: "open" | "message" | "close" | "error", listener: (event: any) => void) {
        if (type !== "message") return ws.addEventListener(type, listener);
        ws.addEventListener("message", (event) => {
          // A parley.v2 message may carry several frames: the verdict is per frame, and each
          // frame that passes is handed on as a message of its own.
          const parsed = JSON.parse(event.data as string) as ServerFrame | ServerFrame[];
          for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
            const verdict = network.incoming(frame);
            if (verdict === "drop") continue;
            const one = { data: JSON.stringify(frame) };
            listener(one);
            if (verdict === "twice") listener(one);
          }
        });
      },
    };
  };

  /** The connection drops, as when a phone changes networks. */
  cut(): void {
    this.current?.close(4000, "network cut by test");
  }
}
