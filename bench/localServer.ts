/**
 * The Parley server a bench run measures: started as `npm start` starts it (`node scripts/server.ts`,
 * one workerd process, state on disk), on a spare loopback port and fresh state, and restarted on the
 * same state when a scenario needs another configuration or times a restart. With `--url`, a
 * running server as it is configured (never restarted).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, sleep } from "./lib";
import { groupMembers, logTail, sparePort, startProcess, type ServerProcess } from "./peers/process";

/**
 * What the bench changes in `npm start`'s configuration: the per-user send limit (Limits.sendBurst,
 * then Limits.sendPerSecond) would cap every scenario at one user's rate, so it is raised to measure
 * the system.
 */
export const RAISED_LIMITS: Record<string, string> = { SEND_BURST: "1000000", SEND_PER_SECOND: "1000000" };

export interface ServerConfig {
  /** `--ws-compression`: client sockets may negotiate permessage-deflate (refused by default). */
  wsCompression?: boolean;
  /** `--inspector-port`: the runtime's V8 inspector, for object counts, heap figures and profiles. */
  inspect?: boolean;
}

/** How a start went, as the bench saw it and as the server reported it. */
export interface StartTiming {
  /** From spawning `node scripts/server.ts` to the first 401 from /api/v1/users/me, polled every 20 ms. */
  spawn_to_ready_ms: number;
  /** What the server printed ("ready … in N ms"), from its own start. */
  reported_ready_ms: number | null;
  /** What the start built first (a warm start builds nothing): the server's "parley: …" lines. */
  built: string[];
  /** User shards, as the server reported them. */
  shards: string | null;
}

interface Running {
  server: Server;
  process: ServerProcess;
  config: ServerConfig;
  timing: StartTiming;
}

const POLL_MS = 20;
/** A first start may build the web client and the bundle. */
const START_TIMEOUT_MS = 180_000;

async function start(state: string, config: ServerConfig, attempt = 1): Promise<Running> {
  const port = await sparePort();
  const args = [
    "scripts/server.ts",
    `--port=${port}`,
    `--persist-to=${state}`,
    ...Object.entries(RAISED_LIMITS).map(([name, value]) => `--var=${name}:${value}`),
    ...(config.wsCompression ? ["--ws-compression"] : []),
    ...(config.inspect ? [`--inspector-port=${await sparePort()}`] : []),
  ];
  const logFile = join(state, `server-${Date.now()}.log`);
  const child = startProcess(process.execPath, args, { cwd: process.cwd(), logFile });
  const server = new Server(`http://127.0.0.1:${port}`, child.group);
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exited() || Date.now() > deadline) {
      await child.stop();
      const why = child.exited() ? "exited before it was up" : `was not up within ${START_TIMEOUT_MS / 1000} s`;
      // A spare port can be taken between the probe and the server's listen: once more.
      if (attempt < 2) return start(state, config, attempt + 1);
      throw new Error(`the server ${why}:\n${logTail(logFile)}`);
    }
    const status = await fetch(`${server.base}/api/v1/users/me`).then(
      (res) => res.arrayBuffer().then(() => res.status),
      () => 0,
    );
    if (status === 401) break;
    await sleep(POLL_MS);
  }
  const spawnToReady = performance.now() - child.startedAt;
  const lines = readFileSync(logFile, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("parley: "));
  const ready = lines.map((l) => /^parley: ready on \S+ in (\d+) ms \(([^;)]*)/.exec(l)).find(Boolean);
  const timing = {
    spawn_to_ready_ms: Math.round(spawnToReady),
    reported_ready_ms: ready ? Number(ready[1]) : null,
    built: lines.filter((l) => !l.startsWith("parley: ready")).map((l) => l.slice(8)),
    shards: ready?.[2] ?? null,
  };
  return { server, process: child, config, timing };
}

/** Stops the server's process group and waits (bounded) until none of it is left, the runtime included. */
async function stopAll(server: ServerProcess) {
  await server.stop();
  for (let i = 0; i < 100 && groupMembers(server.group).length > 0; i++) await sleep(50);
}

const sameConfig = (a: ServerConfig, b: ServerConfig) => !!a.wsCompression === !!b.wsCompression && !!a.inspect === !!b.inspect;

export class BenchServer {
  private constructor(
    private running: Running | null,
    private readonly fixed: Server | null,
    private readonly state: string | null,
  ) {}

  /** A server on fresh state in a new temp dir (removed by `stop()` unless BENCH_KEEP_STATE=1). */
  static async start(config: ServerConfig = {}): Promise<BenchServer> {
    const state = mkdtempSync(join(tmpdir(), "parley-bench-"));
    return new BenchServer(await start(state, config), null, state);
  }

  /** A running server (`--url`): measured as it is, never restarted. */
  static attach(url: string): BenchServer {
    return new BenchServer(null, new Server(url), null);
  }

  /** Whether the bench controls the server (it can restart it and change its configuration). */
  get restartable(): boolean {
    return this.running !== null;
  }

  get server(): Server {
    return this.running?.server ?? this.fixed!;
  }

  /** How the current server's start went (null with --url). */
  get timing(): StartTiming | null {
    return this.running?.timing ?? null;
  }

  /**
   * The server with `config`: the running one if it has it, else a restart on the same state.
   * With --url, the running server whatever its configuration (scenarios check what they got).
   */
  async with(config: ServerConfig): Promise<Server> {
    if (this.running && !sameConfig(this.running.config, config)) await this.restart(config);
    return this.server;
  }

  /** Stops the server and starts it again on the same state: a new process, nothing in memory. */
  async restart(config: ServerConfig = this.running?.config ?? {}): Promise<Server> {
    if (!this.running || !this.state) throw new Error("a server given with --url cannot be restarted");
    await stopAll(this.running.process);
    this.running = null;
    this.running = await start(this.state, config);
    return this.running.server;
  }

  async stop(): Promise<void> {
    if (this.running) await stopAll(this.running.process);
    this.running = null;
    if (this.state && !process.env.BENCH_KEEP_STATE) rmSync(this.state, { recursive: true, force: true });
  }
}
