/**
 * The peer servers run as child processes, each in a process group of its own, so that the bench
 * can stop all of a server at once and weigh it (memory, CPU) like any other program: everything
 * in the group is summed, read from /proc.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readdirSync, readFileSync, rmSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../lib";

const CLOCK_TICKS_PER_S = 100; // `getconf CLK_TCK` on Linux x86_64
const PAGE_BYTES = 4096;

export interface ServerProcess {
  readonly child: ChildProcess;
  /** The process group (the child's pid): everything the server forks stays in it. */
  readonly group: number;
  readonly startedAt: number;
  /** The server's log file, for errors. */
  readonly logFile: string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** A fresh directory under the system temp dir for one server's config, data and log (removed after). */
export function scratchDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `parley-peer-${prefix}-`));
  // BENCH_PEERS_KEEP=1 leaves the dirs (configs, logs) to look at after a run.
  return { path, remove: () => process.env.BENCH_PEERS_KEEP || rmSync(path, { recursive: true, force: true }) };
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function sparePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** True when `command` is on PATH (or is an existing absolute path). */
export function commandExists(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

/** Process groups started and not yet stopped: killed if the bench itself is interrupted. */
const running = new Set<number>();
let exitHooked = false;

function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  process.on("exit", () => {
    for (const group of running) signalGroup(group, "SIGKILL");
  });
  process.once("SIGINT", () => process.exit(130));
}

/**
 * Starts `command` detached (its own process group), output to `logFile`, with an open-file limit
 * of 65,536 (one descriptor per client socket; as root `ulimit -n` may pass the machine's hard limit
 * of 20,000), or the hard limit where it may not.
 */
export function startProcess(
  command: string,
  args: string[],
  opts: { cwd: string; logFile: string; env?: Record<string, string> },
): ServerProcess {
  const log = openSync(opts.logFile, "a");
  const quoted = [command, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const startedAt = performance.now();
  hookExit();
  const child = spawn("sh", ["-c", `ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec ${quoted}`], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", log, log],
    detached: true,
  });
  closeSync(log);
  let done = false;
  const group = child.pid!;
  running.add(group);
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((done = true), resolve())));
  return {
    child,
    group,
    startedAt,
    logFile: opts.logFile,
    exited: () => done,
    async stop() {
      if (done) return;
      signalGroup(group, "SIGTERM");
      const killed = await Promise.race([exit.then(() => true), sleep(5_000).then(() => false)]);
      if (!killed) signalGroup(group, "SIGKILL");
      await Promise.race([exit, sleep(2_000)]);
      // Children that outlived the leader (an Erlang port program, say) go too.
      if (groupMembers(group).length > 0) signalGroup(group, "SIGKILL");
      running.delete(group);
    },
  };
}

function signalGroup(group: number, signal: NodeJS.Signals) {
  try {
    process.kill(-group, signal);
  } catch {
    /* already gone */
  }
}

/** Pids whose process group is `group`. */
export function groupMembers(group: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.pgrp === group) pids.push(Number(entry));
  }
  return pids;
}

function readStat(pid: number) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: fields after it start past the last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      pgrp: Number(fields[2]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      rssBytes: Number(fields[21]) * PAGE_BYTES,
    };
  } catch {
    return null; // exited meanwhile
  }
}

/** Proportional set size: shared pages split between the processes that map them. */
function pssBytes(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

export interface Usage {
  rssBytes: number;
  pssBytes: number;
  cpuSeconds: number;
  processes: number;
}

/** Resident memory (RSS and PSS) and CPU time used so far by every process in the group. */
export function groupUsage(group: number): Usage {
  return usageOf(groupMembers(group));
}

/** The same for the processes `pids`, summed. */
export function usageOf(pids: number[]): Usage {
  let rss = 0;
  let pss = 0;
  let ticks = 0;
  for (const pid of pids) {
    const s = readStat(pid);
    if (!s) continue;
    rss += s.rssBytes;
    pss += pssBytes(pid);
    ticks += s.cpuTicks;
  }
  return { rssBytes: rss, pssBytes: pss, cpuSeconds: ticks / CLOCK_TICKS_PER_S, processes: pids.length };
}

const [NODE_MAJOR, NODE_MINOR] = process.versions.node.split(".").map(Number) as [number, number];

/** Null when this Node runs TypeScript (type stripping, ≥ 22.6), else why not. */
export const nodeTypeScriptMissing = () =>
  NODE_MAJOR > 22 || (NODE_MAJOR === 22 && NODE_MINOR >= 6) ? null : `it needs Node ≥ 22.6 (this is ${process.versions.node}); run it through \`npm run bench\``;

/**
 * Starts a server written in TypeScript (`node FILE PORT DIR`, run by this Node) with a scratch dir
 * and a spare loopback port, and polls `probe` every 20 ms until it answers: `coldStartMs` is from
 * spawning to that answer. `stop()` stops the process group and removes the dir.
 */
export async function startNodeServer(
  name: string,
  file: string,
  probe: (port: number) => Promise<{ close(): Promise<void> }>,
  timeoutMs = 30_000,
): Promise<{ server: ServerProcess; port: number; coldStartMs: number; stop(): Promise<void> }> {
  const dir = scratchDir(name);
  const port = await sparePort();
  const strip = NODE_MAJOR === 22 && NODE_MINOR < 18 ? ["--experimental-strip-types"] : [];
  const logFile = `${dir.path}/stdout.log`;
  const server = startProcess(process.execPath, [...strip, "--disable-warning=ExperimentalWarning", file, String(port), dir.path], { cwd: dir.path, logFile });
  const stop = async () => {
    await server.stop();
    dir.remove();
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const client = await probe(port);
      const coldStartMs = performance.now() - server.startedAt;
      await client.close();
      return { server, port, coldStartMs, stop };
    } catch (err) {
      if (server.exited() || Date.now() > deadline) {
        const tail = logTail(logFile);
        await stop();
        const why = server.exited() ? "it exited while starting" : `no answer within ${timeoutMs} ms: ${(err as Error).message}`;
        throw new Error(`${name} did not start: ${why}\n${tail}`);
      }
      await sleep(20);
    }
  }
}

/** The last lines of a server's log, to explain a failure. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
