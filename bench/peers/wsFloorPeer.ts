/**
 * Starts the `ws` floor (wsFloor.ts) as a child process and drives it with `ws` clients. The client
 * (one socket, the floor's JSON frames) serves the workerd floor too.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { sleep } from "../lib";
import type { ConnectOptions, Conversation, Peer, PeerClient, RunningPeer } from "./peer";
import { nodeTypeScriptMissing, startNodeServer } from "./process";

const SERVER_FILE = fileURLToPath(new URL("./wsFloor.ts", import.meta.url));

export class FloorClient implements PeerClient {
  private handlers: ((body: string) => void)[] = [];
  /** Called for every {"t":"ack"} (only the workerd floor acknowledges a message to its sender). */
  ackHandler: (() => void) | null = null;
  private pending = new Map<number, () => void>();
  private nextRef = 0;

  constructor(
    readonly user: string,
    private readonly socket: WebSocket,
  ) {
    socket.on("error", () => {}); // a failed socket closes; what waits on it times out and says so
    socket.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { t: string; body?: string; ref?: number };
      if (frame.t === "msg") for (const h of this.handlers) h(frame.body!);
      else if (frame.t === "ok") this.pending.get(frame.ref!)?.();
      else if (frame.t === "ack") this.ackHandler?.();
    });
  }

  /** Sends a frame that the server answers with {"t":"ok"} and waits for the answer. */
  request(frame: Record<string, unknown>, timeoutMs = 120_000): Promise<void> {
    const ref = this.nextRef++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (this.pending.delete(ref), reject(new Error(`floor: no answer to ${String(frame.t)}`))), timeoutMs);
      this.pending.set(ref, () => (clearTimeout(timer), this.pending.delete(ref), resolve()));
      this.socket.send(JSON.stringify({ ...frame, ref }));
    });
  }

  send(conversation: Conversation, body: string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(JSON.stringify({ t: "send", room: conversation.address, body }), (err) => (err ? reject(err) : resolve())),
    );
  }

  onMessage(handler: (body: string) => void) {
    this.handlers.push(handler);
  }

  roundTrip() {
    return this.request({ t: "ping" });
  }

  async close() {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.socket.once("close", resolve));
    this.socket.close(1000);
    await Promise.race([closed, sleep(10_000)]);
  }

  drop() {
    this.socket.terminate();
  }
}

/** A client on its own socket to `url` (`ws://127.0.0.1:PORT/?user=NAME…`), once the socket is open. */
export function connectFloor(url: string, user: string, opts: ConnectOptions = {}, timeoutMs = 60_000): Promise<FloorClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => (socket.terminate(), reject(new Error(`floor: ${user} did not connect`))), timeoutMs);
    // The client exists before the socket opens, so a backlog replayed on connect is not missed.
    const client = new FloorClient(user, socket);
    if (opts.onMessage) client.onMessage(opts.onMessage);
    socket.once("open", () => (clearTimeout(timer), resolve(client)));
    socket.once("error", (err) => (clearTimeout(timer), reject(err)));
  });
}

/** Answers `frame` with {"t":"ok"} on a new socket to `url` (a probe while a floor starts), else drops the socket and throws. */
export async function probeFloor(url: string, frame: Record<string, unknown>): Promise<FloorClient> {
  const probe = await connectFloor(url, "probe", {}, 2_000);
  try {
    await probe.request(frame, 2_000);
    return probe;
  } catch (err) {
    probe.drop();
    throw err;
  }
}

const userUrl = (port: number, user: string) => `ws://127.0.0.1:${port}/?user=${encodeURIComponent(user)}`;

export const wsFloor: Peer = {
  name: "ws-floor",
  missing: () => nodeTypeScriptMissing(),
  version: () => `node ${process.versions.node}, ws ${(createRequire(import.meta.url)("ws/package.json") as { version: string }).version}`,
  notes: [
    "Stores nothing: messages live only in socket buffers and, for an offline member, in an in-memory backlog (lost on restart).",
    "No accounts, no authentication, no acks, no ordering or delivery guarantee beyond one TCP connection: the floor, not a competitor.",
    "1:1 is a room of two; a message is parsed once and one frame is written to each other member.",
  ],
  async start(): Promise<RunningPeer> {
    // Ready once it creates a room for a client.
    const { server, port, coldStartMs, stop } = await startNodeServer("ws-floor", SERVER_FILE, (port) =>
      probeFloor(userUrl(port, "probe"), { t: "room", room: "probe", members: ["probe"] }),
    );
    let rooms = 0;
    return {
      process: server,
      coldStartMs,
      async register() {
        /* the floor has no accounts */
      },
      connect: (user, opts) => connectFloor(userUrl(port, user), user, opts),
      async direct(from, to) {
        const room = `dm${rooms++}`;
        await (from as FloorClient).request({ t: "room", room, members: [from.user, to] });
        return { kind: "direct", address: room };
      },
      async group(owner, members) {
        const room = `g${rooms++}`;
        await (owner as FloorClient).request({ t: "room", room, members: [owner.user, ...members.map((m) => m.user)] });
        return { kind: "group", address: room };
      },
      stop,
    };
  },
};
