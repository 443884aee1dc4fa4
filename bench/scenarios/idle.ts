import type { ParleyClient } from "../../src/client";
import { Limits } from "../../src/protocol";
import { constructedBetween, WorkerInspector } from "../inspector";
import { registerMany, round, Server, sleep, SocketMeter, waitFor, type Account } from "../lib";
import type { BenchServer } from "../localServer";
import {
  allocatorStatsOf,
  findRuntime,
  memoryOf,
  openFileLimitOf,
  openFilesOf,
  raiseOpenFileLimit,
  usageMeter,
  type ServerProcess,
} from "../serverProcesses";

/** The runtime evicts an object 10 s after its last request; a little more, to be sure. */
const EVICTION_SETTLE_MS = 12_000;
/** After this long every socket has sent the SDK's heartbeat once and had it answered. */
const HEARTBEAT_ROUND_MS = Limits.heartbeatIntervalMs + 2_000;

/**
 * Open descriptors per device socket, counted at 200 sockets: the runtime holds two (the client's
 * connection goes straight into it), the client one.
 */
const FILES_PER_SOCKET = { runtime: 2, client: 1 } as const;
/**
 * Headroom for everything else: SQLite files of awake objects (three each; with users sharded only a
 * few user objects wake), descriptors a connect holds while it is accepted.
 */
const FILE_HEADROOM = 1_500;

export interface IdleOptions {
  users: number;
  devicesPerUser: number;
  idleSeconds: number;
  /** Sockets being opened at once. */
  connectConcurrency: number;
}

/**
 * The compression decision, by measurement: the same SDK on Node's WebSocket, which offers
 * permessage-deflate as browsers do, against `npm start` (which refuses it) and against
 * `--ws-compression` (which accepts it, as Cloudflare does). Each on a fresh server process.
 */
const VARIANTS = [
  { key: "refused", label: "compression refused (npm start)", wsCompression: false },
  { key: "deflate", label: "permessage-deflate (--ws-compression)", wsCompression: true },
] as const;

/**
 * Idle device sockets: up to `users × devicesPerUser` SDK clients connect (each a device of a user,
 * heartbeating every 45 s as the SDK does) and then do nothing. For the runtime process, memory:
 * before; once half the sockets are open, every user object has been evicted (its sockets
 * hibernated) and every socket has heartbeated once — the figure per idle socket; and with all of
 * them open. Then CPU over `idleSeconds` of idleness. Every socket is closed at the end.
 *
 * Memory is read three ways: RSS and PSS from /proc; bytes allocated and not freed, from workerd's
 * allocator (what RSS keeps after an object is evicted is freed memory the allocator holds on
 * to — see allocatorStatsOf); and the JS heap after a full GC, from the inspector (when the server
 * has one: the bench starts it with `--inspector-port` for this scenario).
 *
 * Each run holds only as many sockets as its processes may open descriptors (`ulimit -n`, 20,000
 * hard here, not raisable without CAP_SYS_RESOURCE): the shape is cut to fit and says so. With
 * --url, one variant: the server as it is.
 */
export async function idleSockets(bench: BenchServer, opts: IdleOptions) {
  let accounts: Account[] = [];
  const results: Record<string, unknown> = {};
  for (const variant of bench.restartable ? VARIANTS : [null]) {
    // A fresh process for each variant, so no variant inherits another's memory.
    const server = variant ? await bench.restart({ wsCompression: variant.wsCompression, inspect: true }) : bench.server;
    const runtime = findRuntime(server.base, server.pid);
    // Try to lift the limits (works where a process may raise its hard limit); then fit to them.
    for (const pid of [process.pid, runtime.pid]) raiseOpenFileLimit(pid, 2 * opts.users * opts.devicesPerUser + FILE_HEADROOM);
    const holders = [
      { pid: runtime.pid, perSocket: FILES_PER_SOCKET.runtime },
      { pid: process.pid, perSocket: FILES_PER_SOCKET.client },
    ];
    const fits = Math.min(
      opts.users,
      ...holders.map((h) => Math.floor((openFileLimitOf(h.pid) - openFilesOf(h.pid) - FILE_HEADROOM) / h.perSocket / opts.devicesPerUser)),
    );

    const inspector = await WorkerInspector.attach(runtime.pid, server.base).catch(() => null);
    try {
      await inspector?.countConstructions(["UserObject", "ConversationObject", "DirectoryObject"]);
      if (accounts.length < fits) {
        console.log(`  registering ${fits - accounts.length} users (PBKDF2 each) …`);
        accounts.push(...(await registerMany(server, fits - accounts.length, "idle")));
      }
      // The objects registration woke, or alarms due at a restart, are evicted before anything is measured.
      await sleep(EVICTION_SETTLE_MS);
      await inspector?.waitForNoLiveObjects(60_000);
      const phase = await idlePhase(server, variant?.label ?? "the server as it runs", accounts.slice(0, fits), opts, runtime, inspector);
      const key = variant?.key ?? (phase.negotiated_extensions.includes("permessage-deflate") ? "deflate" : "refused");
      results[key] = {
        variant: variant?.label ?? `the server at ${server.base} as it runs`,
        open_file_limits: holders.map((h) => ({ pid: h.pid, limit: openFileLimitOf(h.pid), per_socket: h.perSocket })),
        ...phase,
      };
    } finally {
      inspector?.close();
    }
  }
  return {
    requested: `${opts.users} users × ${opts.devicesPerUser} devices`,
    fresh_process_per_variant: bench.restartable,
    ...results,
  };
}

async function idlePhase(server: Server, label: string, accounts: Account[], opts: IdleOptions, runtime: ServerProcess, inspector: WorkerInspector | null) {
  const sockets = accounts.length * opts.devicesPerUser;
  const meter = new SocketMeter();
  const clients: ParleyClient[] = [];
  const before = await snapshot(inspector, runtime);
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
    const halfway = await snapshot(inspector, runtime);
    await connectAll(accounts.slice(half));
    await sleep(HEARTBEAT_ROUND_MS);
    const allOpen = await snapshot(inspector, runtime);

    console.log(`  ${label}: idle for ${opts.idleSeconds} s …`);
    const framesIn = meter.framesIn;
    const framesOut = meter.framesOut;
    const usage = usageMeter([runtime, { pid: process.pid, role: "client" }]);
    await sleep(opts.idleSeconds * 1000);
    const idle = usage.stop();
    const afterIdle = await snapshot(inspector, runtime);
    const stillOpen = clients.filter((c) => c.connectionState === "open").length;

    const halfSockets = half * opts.devicesPerUser;
    const perSocket = (from: Snapshot, to: Snapshot, count: number) => ({
      rss: Math.round((to.memory.rss_bytes - from.memory.rss_bytes) / count),
      pss: Math.round((to.memory.pss_bytes - from.memory.pss_bytes) / count),
      allocated: Math.round((to.allocated_bytes - from.allocated_bytes) / count),
      js_heap: to.js_heap_bytes === null ? null : Math.round((to.js_heap_bytes - from.js_heap_bytes!) / count),
    });
    return {
      shape: `${accounts.length} users × ${opts.devicesPerUser} devices`,
      sockets,
      /** What the server agreed to (Sec-WebSocket-Extensions), as the client saw it. */
      negotiated_extensions: meter.extensions,
      connect_seconds: round(connectSeconds, 1),
      connects_per_s: round(sockets / connectSeconds, 0),
      /** Half the sockets open, every user object evicted, every socket heartbeated once. */
      bytes_per_socket: { sockets: halfSockets, ...perSocket(before, halfway, halfSockets) },
      /** All open, with whatever objects were awake at the time (`awake`). */
      bytes_per_socket_all_open: {
        sockets,
        awake: Object.values(allOpen.objects).reduce((n, c) => n + c.alive, 0),
        ...perSocket(before, allOpen, sockets),
      },
      idle: {
        wall_ms: idle.wall_ms,
        server_cpu_ms: idle.cpu_ms,
        server_core_percent: idle.core_percent,
        client: idle.processes.find((p) => p.role === "client"),
        heartbeats_sent: meter.framesOut - framesOut,
        frames_received: meter.framesIn - framesIn,
        objects_woken: constructedBetween(allOpen.objects, afterIdle.objects),
      },
      sockets_open_after_idle: stillOpen,
      snapshots: { before, halfway, all_open: allOpen, after_idle: afterIdle },
    };
  } finally {
    for (const c of clients) c.stop();
    // Bounded wait for the server to let go of the sockets before anything else is measured.
    await waitFor(() => openFilesOf(runtime.pid) <= before.open_files + 100, 60_000, "the server to close the idle sockets").catch((err) =>
      console.log(`  ${String(err)}`),
    );
  }
}

type Snapshot = Awaited<ReturnType<typeof snapshot>>;

async function snapshot(inspector: WorkerInspector | null, runtime: ServerProcess) {
  // The heap figure forces a full GC first, so RSS is read after it too.
  const js_heap_bytes = inspector ? await inspector.heapUsedBytes() : null;
  const objects = inspector ? await inspector.objects() : {};
  const allocator = allocatorStatsOf(runtime.pid);
  return {
    js_heap_bytes,
    objects,
    allocated_bytes: allocator?.allocated_bytes ?? NaN,
    allocator,
    memory: memoryOf(runtime.pid),
    open_files: openFilesOf(runtime.pid),
  };
}
