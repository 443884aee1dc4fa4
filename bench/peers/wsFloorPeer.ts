/**
 * Starts the `ws` floor (wsFloor.ts) as a child process and drives it with `ws` clients.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { sleep } from "../lib";
import type { ConnectOptions, Conversation, Peer, PeerClient, RunningPeer } from "./peer";
import { logTail, scratchDir, sparePort, startProcess, type ServerProcess } from "./process";

const SERVER_FILE = fileURLToPath(new URL("./wsFloor.ts", import.meta.url));
const [NODE_MAJOR, NODE_MINOR] = process.versions.node.split(".").map(Number) as [number, number];

class FloorClient implements PeerClient {
  private handlers: ((body: string) => void)[] = [];
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

function connectFloor(port: number, user: string, opts: ConnectOptions = {}, timeoutMs = 60_000): Promise<FloorClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/?user=${encodeURIComponent(user)}`, { perMessageDeflate: false });
    const timer = setTimeout(() => (socket.terminate(), reject(new Error(`floor: ${user} did not connect`))), timeoutMs);
    // The client exists before the socket opens, so a backlog replayed on connect is not missed.
    const client = new FloorClient(user, socket);
    if (opts.onMessage) client.onMessage(opts.onMessage);
    socket.once("open", () => (clearTimeout(timer), resolve(client)));
    socket.once("error", (err) => (clearTimeout(timer), reject(err)));
  });
}

/** Polls until the floor creates a room for a client, every 20 ms; the time since `startedAt`. */
async function untilRoomCreated(port: number, server: ServerProcess, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const probe = await connectFloor(port, "probe", {}, 2_000);
      await probe.request({ t: "room", room: "probe", members: ["probe"] }, 2_000);
      const ms = performance.now() - server.startedAt;
      await probe.close();
      return ms;
    } catch (err) {
      if (server.exited()) throw new Error("the floor exited while starting");
      if (Date.now() > deadline) throw new Error(`no answer within ${timeoutMs} ms: ${(err as Error).message}`);
      await sleep(20);
    }
  }
}

export const wsFloor: Peer = {
  name: "ws-floor",
  missing: () => (NODE_MAJOR > 22 || (NODE_MAJOR === 22 && NODE_MINOR >= 6) ? null : `the floor needs Node ≥ 22.6 (this is ${process.versions.node}); run it through \`npm run bench\``),
  version: () => `node ${process.versions.node}, ws ${(createRequire(import.meta.url)("ws/package.json") as { version: string }).version}`,
  notes: [
    "Stores nothing: messages live only in socket buffers and, for an offline member, in an in-memory backlog (lost on restart).",
    "No accounts, no authentication, no acks, no ordering or delivery guarantee beyond one TCP connection: the floor, not a competitor.",
    "1:1 is a room of two; a message is parsed once and one frame is written to each other member.",
  ],
  async start(): Promise<RunningPeer> {
    const dir = scratchDir("ws-floor");
    const port = await sparePort();
    const strip = NODE_MAJOR === 22 && NODE_MINOR < 18 ? ["--experimental-strip-types"] : [];
    const server = startProcess(process.execPath, [...strip, "--disable-warning=ExperimentalWarning", SERVER_FILE, String(port)], {
      cwd: dir.path,
      logFile: `${dir.path}/stdout.log`,
    });
    let coldStartMs: number;
    try {
      coldStartMs = await untilRoomCreated(port, server);
    } catch (err) {
      const tail = logTail(`${dir.path}/stdout.log`);
      await server.stop();
      dir.remove();
      throw new Error(`the ws floor did not start: ${(err as Error).message}\n${tail}`);
    }
    let rooms = 0;
    return {
      process: server,
      coldStartMs,
      async register() {
        /* the floor has no accounts */
      },
      connect: (user, opts) => connectFloor(port, user, opts),
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
      async stop() {
        await server.stop();
        dir.remove();
      },
    };
  },
};
