import type { ParleyClient, SocketFactory } from "../../src/client";
import { WorkerInspector } from "../inspector";
import { registerMany, round, Server, sleep, SocketMeter, waitFor, type Account } from "../lib";
import { plainWebSocket } from "../plainWebSocket";
import {
  allocatorStatsOf,
  findRuntimeBase,
  findServerProcesses,
  openFileLimitOf,
  openFilesOf,
  raiseOpenFileLimit,
  serverMemory,
  usageMeter,
  type ServerProcess,
} from "../serverProcesses";

/** The runtime evicts an object 10 s after its last request; a little more, to be sure. */
const EVICTION_SETTLE_MS = 12_000;
/** The SDK heartbeats every 25 s: after this long every socket has sent one and had it answered. */
const HEARTBEAT_ROUND_MS = 27_000;

/**
 * Open descriptors per WebSocket, counted at 300 sockets: the runtime workerd holds two; wrangler's
 * entry workerd four (the client's TCP connection, its own on to the runtime, and two more). The
 * client holds one.
 */
const FILES_PER_SOCKET = { runtime: 2, entry: 4, client: 1 } as const;
/**
 * Headroom for everything else: SQLite files of awake objects (three each; connects and presence
 * alarms keep a few hundred awake), descriptors a connect holds while it is accepted. 1,000 was
 * not enough at 9,450 sockets: the runtime ran out ("dup(): Too many open files", SQLITE_CANTOPEN).
 */
const FILE_HEADROOM = 4_000;

export interface IdleOptions {
  users: number;
  devicesPerUser: number;
  idleSeconds: number;
  /** Sockets being opened at once. */
  connectConcurrency: number;
}

interface Variant {
  label: string;
  /** Straight to the runtime workerd, or through wrangler's proxy (the entry workerd). */
  via: "runtime" | "proxy";
  socket: "node" | "plain";
}

/**
 * Each on a fresh server process (when the bench started the server): the SDK as it runs in Node
 * (and browsers), whose WebSocket offers permessage-deflate, which the runtime accepts; the same
 * SDK on a client that offers no compression; and the first again through wrangler's proxy.
 * "Straight to the runtime" is Parley's own process, as a deployment has it (the edge terminates
 * the sockets); the proxy is `wrangler dev`'s.
 */
const VARIANTS: Variant[] = [
  { label: "SDK on Node's WebSocket (permessage-deflate), straight to the runtime", via: "runtime", socket: "node" },
  { label: "SDK on a WebSocket without compression, straight to the runtime", via: "runtime", socket: "plain" },
  { label: "SDK on Node's WebSocket (permessage-deflate), through wrangler's proxy", via: "proxy", socket: "node" },
];

/**
 * Idle device sockets: up to `users × devicesPerUser` SDK clients connect (each a device of a user,
 * heartbeating every 25 s as the SDK does) and then do nothing. For the server processes, memory:
 * before; once half the sockets are open, every user object has been evicted (its sockets
 * hibernated) and every socket has heartbeated once — the figure per idle socket; and with all of
 * them open, which by then includes user objects woken by their presence alarms (about once a
 * minute each, for ten seconds). Then CPU over `idleSeconds` of idleness. Every socket is closed
 * at the end.
 *
 * Memory is read three ways: RSS and PSS from /proc; bytes allocated and not freed, from workerd's
 * allocator (what RSS keeps after an object is evicted is freed memory the allocator holds on
 * to — see allocatorStatsOf); and the JS heap after a full GC, from the inspector.
 *
 * Each path holds only as many sockets as its processes may open descriptors (`ulimit -n`, 20,000
 * hard here, not raisable without CAP_SYS_RESOURCE): the shape is cut to fit and says so.
 */
export async function idleSockets(first: Server, opts: IdleOptions, restart?: () => Promise<Server>) {
  let server = first;
  let accounts: Account[] = [];
  const results = [];
  for (const [i, variant] of VARIANTS.entries()) {
    // A fresh process for each variant, so no variant inherits another's memory.
    if (i > 0 && restart) server = await restart();
    const processes = findServerProcesses(server.base);
    const runtime = processes.find((p) => p.role === "runtime") ?? processes[0]!;
    const entry = processes.find((p) => p.role === "entry")!;
    const base = variant.via === "runtime" ? await findRuntimeBase(runtime.pid) : server.base;
    if (!base) {
      results.push({ variant: variant.label, skipped: "no port of the runtime answers like Parley" });
      continue;
    }
    // Try to lift the limits (works where a process may raise its hard limit); then fit to them.
    for (const pid of [process.pid, ...processes.map((p) => p.pid)]) raiseOpenFileLimit(pid, 4 * opts.users * opts.devicesPerUser + FILE_HEADROOM);
    const holders = [
      { pid: runtime.pid, perSocket: FILES_PER_SOCKET.runtime },
      { pid: process.pid, perSocket: FILES_PER_SOCKET.client },
      ...(variant.via === "proxy" ? [{ pid: entry.pid, perSocket: FILES_PER_SOCKET.entry }] : []),
    ];
    const fits = Math.min(
      opts.users,
      ...holders.map((h) => Math.floor((openFileLimitOf(h.pid) - openFilesOf(h.pid) - FILE_HEADROOM) / h.perSocket / opts.devicesPerUser)),
    );

    const inspector = await WorkerInspector.attach(runtime.pid, server.base);
    try {
      await inspector.countConstructions(["UserObject", "ConversationObject", "DirectoryObject"]);
      if (accounts.length < fits) {
        console.log(`  registering ${fits - accounts.length} users (PBKDF2 each) …`);
        accounts.push(...(await registerMany(server, fits - accounts.length, "idle")));
      }
      // The objects registration woke, or alarms due at a restart, are evicted before anything is measured.
      await sleep(EVICTION_SETTLE_MS);
      await waitForNoLiveObjects(inspector, 60_000);
      const factory = variant.socket === "plain" ? plainWebSocket : undefined;
      results.push({
        variant: variant.label,
        open_file_limits: holders.map((h) => ({ pid: h.pid, limit: openFileLimitOf(h.pid), per_socket: h.perSocket })),
        ...(await idlePhase(new Server(base), variant.label, accounts.slice(0, fits), opts, processes, inspector, factory)),
      });
    } finally {
      inspector.close();
    }
  }
  return {
    requested: `${opts.users} users × ${opts.devicesPerUser} devices`,
    fresh_process_per_variant: !!restart,
    variants: results,
    server: server.base,
  };
}

async function idlePhase(
  server: Server,
  label: string,
  accounts: Account[],
  opts: IdleOptions,
  processes: ServerProcess[],
  inspector: WorkerInspector,
  createSocket?: SocketFactory,
) {
  const sockets = accounts.length * opts.devicesPerUser;
  const runtime = processes.find((p) => p.role === "runtime") ?? processes[0]!;
  const meter = new SocketMeter(createSocket);
  const clients: ParleyClient[] = [];
  const before = await snapshot(inspector, processes);
  const half = Math.floor(accounts.length / 2);
  const deadline = Date.now() + 15 * 60_000;
  let connectSeconds = 0;
  /** Opens the devices of these users, user by user (a user object wakes for its devices' connects). */
  const connectAll = async (users: Account[]) => {
    const devices = users.flatMap((account) => Array.from({ length: opts.devicesPerUser }, (_, d) => ({ account, deviceId: `idle-${d}` })));
    const start = performance.now();
    for (let i = 0; i < devices.length; i += opts.connectConcurrency) {
      if (Date.now() > deadline) throw new Error("connecting the idle sockets exceeded 15 minutes");
      const batch = devices.slice(i, i + opts.connectConcurrency);
      clients.push(...(await Promise.all(batch.map((d) => server.client(d.account, d.deviceId, { createSocket: meter.factory })))));
    }
    connectSeconds += (performance.now() - start) / 1000;
  };

  try {
    console.log(`  ${label}: opening ${sockets} device sockets (${accounts.length} users × ${opts.devicesPerUser} devices) in two halves …`);
    await connectAll(accounts.slice(0, half));
    // Every user object evicted (sockets hibernated) and every socket heartbeated once.
    await sleep(HEARTBEAT_ROUND_MS);
    const halfway = await snapshot(inspector, processes);
    await connectAll(accounts.slice(half));
    await sleep(HEARTBEAT_ROUND_MS);
    const allOpen = await snapshot(inspector, processes);

    console.log(`  ${label}: idle for ${opts.idleSeconds} s …`);
    const framesIn = meter.framesIn;
    const framesOut = meter.framesOut;
    const usage = usageMeter([...processes, { pid: process.pid, role: "client" }]);
    await sleep(opts.idleSeconds * 1000);
    const idle = usage.stop();
    const afterIdle = await snapshot(inspector, processes);
    const stillOpen = clients.filter((c) => c.connectionState === "open").length;

    const halfSockets = half * opts.devicesPerUser;
    const perSocket = (from: Snapshot, to: Snapshot, count: number) => ({
      rss: Math.round((to.memory.rss_bytes - from.memory.rss_bytes) / count),
      pss: Math.round((to.memory.pss_bytes - from.memory.pss_bytes) / count),
      allocated: Math.round((to.allocated_bytes - from.allocated_bytes) / count),
      js_heap: Math.round((to.js_heap_bytes - from.js_heap_bytes) / count),
      by_process: Object.fromEntries(
        to.memory.processes.map((p, i) => [
          p.role,
          {
            rss: Math.round((p.rss_bytes - from.memory.processes[i]!.rss_bytes) / count),
            pss: Math.round((p.pss_bytes - from.memory.processes[i]!.pss_bytes) / count),
          },
        ]),
      ),
    });
    return {
      shape: `${accounts.length} users × ${opts.devicesPerUser} devices`,
      sockets,
      connect_seconds: round(connectSeconds, 1),
      connects_per_s: round(sockets / connectSeconds, 0),
      /** Half the sockets open, every user object evicted, every socket heartbeated once. */
      bytes_per_socket: { sockets: halfSockets, ...perSocket(before, halfway, halfSockets) },
      /** All open, with the user objects their presence alarms had woken at the time (`awake`). */
      bytes_per_socket_all_open: {
        sockets,
        awake: Object.values(allOpen.objects).reduce((n, c) => n + c.alive, 0),
        ...perSocket(before, allOpen, sockets),
      },
      idle: {
        wall_ms: idle.wall_ms,
        server_cpu_ms: idle.cpu_ms,
        server_core_percent: idle.core_percent,
        by_process: idle.processes.map((p) => `${p.role}: ${p.cpu_ms} ms CPU (${p.core_percent}% of a core)`),
        heartbeats_sent: meter.framesOut - framesOut,
        frames_received: meter.framesIn - framesIn,
        objects_woken: diffMade(allOpen.objects, afterIdle.objects),
      },
      sockets_open_after_idle: stillOpen,
      snapshots: { before, halfway, all_open: allOpen, after_idle: afterIdle },
    };
  } finally {
    for (const c of clients) c.stop();
    // Bounded wait for the server to let go of the sockets before anything else is measured.
    await waitFor(() => openFilesOf(runtime.pid) <= before.open_files[runtime.pid]! + 100, 60_000, "the server to close the idle sockets").catch((err) =>
      console.log(`  ${String(err)}`),
    );
  }
}

async function waitForNoLiveObjects(inspector: WorkerInspector, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Object.values(await inspector.objects()).some((c) => c.alive > 0) && Date.now() < deadline) await sleep(1_000);
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

async function snapshot(inspector: WorkerInspector, processes: ServerProcess[]) {
  // The heap figure forces a full GC first, so RSS is read after it too.
  const js_heap_bytes = await inspector.heapUsedBytes();
  const objects = await inspector.objects();
  const allocator = processes.map((p) => ({ role: p.role, ...allocatorStatsOf(p.pid) }));
  return {
    js_heap_bytes,
    objects,
    allocated_bytes: allocator.reduce((n, a) => n + (a.allocated_bytes ?? NaN), 0),
    allocator,
    memory: serverMemory(processes),
    open_files: Object.fromEntries(processes.map((p) => [p.pid, openFilesOf(p.pid)])) as Record<number, number>,
  };
}

function diffMade(from: Record<string, { made: number }>, to: Record<string, { made: number }>) {
  return Object.fromEntries(Object.entries(to).map(([k, v]) => [k, v.made - (from[k]?.made ?? 0)]));
}
