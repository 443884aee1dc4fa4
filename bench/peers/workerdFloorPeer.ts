/**
 * The workerd floor: what the Workers runtime itself does for a chat, served the way `npm start`
 * serves Parley (workerd-floor/serve.ts: Miniflare's API, one workerd process, sockets straight
 * into the Worker, no compression, SQLite objects on disk) with no application logic
 * (workerd-floor/worker.js: store, send to the other sockets, ack). Driven with the ws floor's client.
 *
 * A device is one socket into the object "devices" (the idle scenario counts these); a conversation
 * is an object of its own, and each member's device opens one more socket into it, which is where
 * its messages go and come from: no object ever calls another.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { Conversation, Peer, PeerClient, RunningPeer } from "./peer";
import { nodeTypeScriptMissing, startNodeServer } from "./process";
import { connectFloor, probeFloor, type FloorClient } from "./wsFloorPeer";
import { findRuntime } from "../serverProcesses";

const SERVER_FILE = fileURLToPath(new URL("./workerd-floor/serve.ts", import.meta.url));
const miniflare = createRequire(import.meta.url).resolve("miniflare/package.json");
/** The version of `pkg` as miniflare resolves it (it has a workerd of its own, wrangler's). */
const version = (pkg: string) => (createRequire(miniflare)(`${pkg}/package.json`) as { version: string }).version;

/** A socket of `user` in the object `room`. */
const roomUrl = (port: number, room: string, user: string) => `ws://127.0.0.1:${port}/?room=${encodeURIComponent(room)}&user=${encodeURIComponent(user)}`;

/** One device: its socket in "devices", and one socket in each conversation it has joined. */
class DeviceClient implements PeerClient {
  private readonly handlers: ((body: string) => void)[] = [];
  private readonly ackHandlers: (() => void)[] = [];
  private readonly rooms = new Map<string, FloorClient>();
  gone = false;

  constructor(
    readonly user: string,
    private readonly device: FloorClient,
    private readonly port: number,
  ) {}

  async join(room: string) {
    const socket = await connectFloor(roomUrl(this.port, room, this.user), this.user, { onMessage: (body) => this.handlers.forEach((h) => h(body)) });
    socket.ackHandler = () => this.ackHandlers.forEach((h) => h());
    this.rooms.set(room, socket);
  }

  send(conversation: Conversation, body: string): Promise<void> {
    const socket = this.rooms.get(conversation.address);
    return socket ? socket.send(conversation, body) : Promise.reject(new Error(`${this.user} has no socket in ${conversation.address}`));
  }

  onMessage(handler: (body: string) => void) {
    this.handlers.push(handler);
  }

  onAck(handler: () => void) {
    this.ackHandlers.push(handler);
  }

  roundTrip() {
    return this.device.roundTrip();
  }

  async close() {
    this.gone = true;
    await Promise.all([this.device, ...this.rooms.values()].map((s) => s.close()));
  }

  drop() {
    this.gone = true;
    for (const s of [this.device, ...this.rooms.values()]) s.drop();
  }
}

export const workerdFloor: Peer = {
  name: "workerd-floor",
  runs: ["latency", "throughput", "group", "idle", "cold"],
  missing: () => nodeTypeScriptMissing(),
  version: () => `workerd ${version("workerd")} through miniflare ${version("miniflare")}`,
  notes: [
    "The Workers runtime with no application logic, served as npm start serves Parley: Miniflare's API, one workerd process, client sockets straight into the Worker's entrypoint, compatibility date 2026-11-01 with no_web_socket_compression, SQLite Durable Objects on disk.",
    "Each message is one INSERT in its conversation's object (one commit, one fsync), then one frame to every other socket in that object and an ack to its sender, both held by the output gate until the commit is durable.",
    "No accounts, no authentication, no validation, no message ids, cursors or receipts, no fan-out through other objects: each member has a socket of its own in each conversation's object (one object per 1:1 pair; a group is one object with every member's socket, hibernatable).",
    "A device is one hibernatable socket in one object for all devices; idle memory and CPU are the workerd process's alone (as Parley's runtime), not the Node process that started it.",
    "No catch-up: an offline member's backlog would need membership and cursors, which is application logic.",
  ],
  async start(): Promise<RunningPeer> {
    // Ready once a conversation's object answers a ping on a socket of its own.
    const { server, port, coldStartMs, stop } = await startNodeServer("workerd-floor", SERVER_FILE, (port) =>
      probeFloor(roomUrl(port, "probe", "probe"), { t: "ping" }),
    );
    const runtime = findRuntime(`http://127.0.0.1:${port}`, server.group);
    const devices = new Map<string, DeviceClient[]>();
    let rooms = 0;
    const joinAll = async (room: string, clients: PeerClient[]) => {
      for (let i = 0; i < clients.length; i += 100) await Promise.all(clients.slice(i, i + 100).map((c) => (c as DeviceClient).join(room)));
    };
    return {
      process: server,
      serverPids: [runtime.pid],
      coldStartMs,
      async register() {
        /* no accounts */
      },
      async connect(user, opts) {
        const client = new DeviceClient(user, await connectFloor(roomUrl(port, "devices", user), user), port);
        if (opts?.onMessage) client.onMessage(opts.onMessage);
        devices.set(user, [...(devices.get(user) ?? []).filter((c) => !c.gone), client]);
        return client;
      },
      async direct(from, to) {
        const room = `dm${rooms++}`;
        await joinAll(room, [from, ...(devices.get(to) ?? []).filter((c) => !c.gone)]);
        return { kind: "direct", address: room };
      },
      async group(owner, members) {
        const room = `g${rooms++}`;
        await joinAll(room, [owner, ...members]);
        return { kind: "group", address: room };
      },
      stop,
    };
  },
};
