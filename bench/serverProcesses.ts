/**
 * The server's process and what it costs, read from /proc. `npm start` (scripts/server.ts) is a node
 * process that supervises one workerd process, the runtime: it runs the Worker and every Durable
 * Object, and owns the listening port (client sockets go straight into it). The runtime is the server.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { get } from "node:http";
import { round, sleep } from "./lib";

const CLOCK_TICKS_PER_S = 100; // `getconf CLK_TCK` on Linux x86_64

export interface ServerProcess {
  pid: number;
  /** The runtime workerd; `client` is the bench's own process, metered beside it. */
  role: "runtime" | "client";
}

export interface MemorySample {
  rss_bytes: number;
  /** Proportional set size: shared pages split between the processes that map them. */
  pss_bytes: number;
}

const pids = () =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);

function stat(pid: number): { comm: string; ppid: number; userTicks: number; systemTicks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may itself contain spaces or parentheses.
    const close = text.lastIndexOf(")");
    const fields = text.slice(close + 2).split(" ");
    // After the name: state(0) ppid(1) … utime(11) stime(12).
    return { comm: text.slice(text.indexOf("(") + 1, close), ppid: Number(fields[1]), userTicks: Number(fields[11]), systemTicks: Number(fields[12]) };
  } catch {
    return null; // exited meanwhile
  }
}

/** Socket inodes listening on 127.0.0.1:`port` (or any address). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue; // 0A = LISTEN
      if (parseInt(cols[1]!.split(":")[1]!, 16) === port) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

function ownerOfSocket(inodes: Set<string>): number | null {
  for (const pid of pids()) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith("socket:[") && inodes.has(target.slice(8, -1))) return pid;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return null;
}

/**
 * The workerd process that runs Parley: the workerd descendant of `serverPid` (the node process of
 * `scripts/server.ts`, when the bench started it), else the process listening on the URL's port
 * (a running `npm start`: its client sockets go straight into the runtime).
 */
export function findRuntime(baseUrl: string, serverPid?: number): ServerProcess {
  const workerd = (pid: number) => stat(pid)?.comm === "workerd";
  let pid: number | null | undefined;
  if (serverPid !== undefined) {
    const descends = (p: number): boolean => p > 1 && (p === serverPid || descends(stat(p)?.ppid ?? 0));
    pid = pids().find((p) => workerd(p) && descends(p));
  } else {
    pid = ownerOfSocket(listeningInodes(Number(new URL(baseUrl).port || 80)));
  }
  if (!pid || !workerd(pid)) throw new Error(`no workerd process serves ${baseUrl}${serverPid ? ` under process ${serverPid}` : ""}`);
  return { pid, role: "runtime" };
}

/**
 * The ports process `pid` listens on, in the order it opened them. (workerd opens its HTTP sockets
 * and the inspector's before its Cap'n Proto debug port, which logs a warning when spoken HTTP to:
 * probing in this order finds what we look for first.)
 */
export function listeningPortsOf(pid: number): number[] {
  const fdOfSocket = new Map<string, number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:[")) fdOfSocket.set(target.slice(8, -1), Number(fd));
    } catch {
      /* closed meanwhile */
    }
  }
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols[3] === "0A" && fdOfSocket.has(cols[9]!))
    .sort((x, y) => fdOfSocket.get(x[9]!)! - fdOfSocket.get(y[9]!)!)
    .map((cols) => parseInt(cols[1]!.split(":")[1]!, 16));
}

/**
 * A GET on a connection of its own, closed after the answer: workerd's inspector serves one
 * connection at a time, so a kept-alive HTTP connection (fetch's default) would hold it up.
 */
export function httpGetOnce(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: 2_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** Resident set (VmRSS, /proc/<pid>/status) and proportional set (Pss, smaps_rollup: shared pages split between the processes that map them). */
export function memoryOf(pid: number): MemorySample {
  const kb = (text: string, field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  return { rss_bytes: kb(procFile(pid, "status"), "VmRSS"), pss_bytes: kb(procFile(pid, "smaps_rollup"), "Pss") };
}

/** CPU time the process has used so far, in milliseconds: in user mode, in the kernel, and both. */
export function cpuOf(pid: number): { user: number; system: number; total: number } {
  const s = stat(pid);
  if (!s) procFile(pid, "stat"); // throws the clear error
  const ms = (ticks: number) => (ticks * 1000) / CLOCK_TICKS_PER_S;
  return { user: ms(s!.userTicks), system: ms(s!.systemTicks), total: ms(s!.userTicks + s!.systemTicks) };
}

export function openFilesOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function openFileLimitOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  return Number(line?.trim().split(/\s+/)[3] ?? NaN);
}

/**
 * Raises a running process's open-file limit (soft and hard) with prlimit(1). Needs root to go past
 * the hard limit (20,000 on these machines). Returns the limit in force afterwards.
 */
export function raiseOpenFileLimit(pid: number, limit: number): number {
  if (openFileLimitOf(pid) < limit) spawnSync("prlimit", ["--pid", String(pid), `--nofile=${limit}:${limit}`], { stdio: "ignore" });
  return openFileLimitOf(pid);
}

/**
 * What workerd's allocator (TCMalloc) holds: bytes the program has allocated and not freed, and
 * freed pages it keeps for reuse (counted in RSS). RSS alone cannot tell the two apart: memory an
 * evicted object used stays in RSS. Read by attaching gdb for a moment (the process pauses for a
 * few seconds); null if gdb is missing or the call fails.
 */
export function allocatorStatsOf(pid: number): { allocated_bytes: number; free_held_bytes: number } | null {
  const property = (name: string) => [
    "-ex",
    `print ((char (*)(const char*, unsigned long, unsigned long*))MallocExtension_Internal_GetNumericProperty)("${name}", ${name.length}, $p)`,
    "-ex",
    "print *$p",
  ];
  try {
    const out = execFileSync(
      "gdb",
      ["-p", String(pid), "-batch", "-nx", "-ex", "set $p = (unsigned long*)malloc(8)", ...property("generic.current_allocated_bytes"), ...property("tcmalloc.pageheap_free_bytes"), "-ex", "call (void)free($p)"],
      { encoding: "utf8", timeout: 60_000, stdio: ["ignore", "pipe", "ignore"] },
    );
    // Lines "$1 = 1 '\001'" (found) and "$2 = <value>", per property.
    const values = [...out.matchAll(/^\$\d+ = (.+)$/gm)].map((m) => m[1]!);
    const [found1, allocated, found2, free] = values;
    if (!found1?.startsWith("1") || !found2?.startsWith("1")) return null;
    return { allocated_bytes: Number(allocated), free_held_bytes: Number(free) };
  } catch {
    return null;
  }
}

/** /proc/<pid>/<file>, or a clear error if the process has gone (killed, or restarted by wrangler). */
function procFile(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    throw new Error(`process ${pid} is gone: the server exited or was restarted during the measurement`);
  }
}

function ioOf(pid: number): { reads: number; writes: number; readBytes: number } {
  const text = procFile(pid, "io");
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, "m").exec(text)?.[1] ?? NaN);
  return { reads: field("syscr"), writes: field("syscw"), readBytes: field("rchar") };
}

/** Bytes process `pid` has read so far with read-like system calls (files and sockets: rchar). */
export const bytesReadBy = (pid: number) => ioOf(pid).readBytes;

/**
 * Starts a meter over processes (the server's, and this one as `client` if wanted): `stop()` gives
 * each one's CPU time, share of a core, read-like and write-like system calls and bytes read
 * (/proc/<pid>/io: read(2)/write(2) on sockets count, send/recv do not — Node uses the former, so
 * the client's figures show how finely frames arrive and how many bytes crossed the wire).
 */
export function usageMeter(processes: { pid: number; role: string }[]) {
  const t0 = performance.now();
  const before = processes.map((p) => ({ cpu: cpuOf(p.pid), ...ioOf(p.pid) }));
  return {
    stop() {
      const wallMs = performance.now() - t0;
      const each = processes.map((p, i) => {
        const cpu = cpuOf(p.pid);
        const cpuMs = cpu.total - before[i]!.cpu.total;
        const io = ioOf(p.pid);
        return {
          pid: p.pid,
          role: p.role,
          cpu_ms: Math.round(cpuMs),
          user_ms: Math.round(cpu.user - before[i]!.cpu.user),
          system_ms: Math.round(cpu.system - before[i]!.cpu.system),
          core_percent: round1((100 * cpuMs) / wallMs),
          read_calls: io.reads - before[i]!.reads,
          write_calls: io.writes - before[i]!.writes,
          read_bytes: io.readBytes - before[i]!.readBytes,
        };
      });
      const server = each.filter((p) => p.role !== "client");
      const cpuMs = server.reduce((s, p) => s + p.cpu_ms, 0);
      return { wall_ms: Math.round(wallMs), cpu_ms: cpuMs, core_percent: round1((100 * cpuMs) / wallMs), processes: each };
    },
  };
}

const round1 = (n: number) => Math.round(n * 10) / 10;

export const STRACE = "/usr/bin/strace";

export interface SyscallCount {
  /** Calls of each traced syscall by every thread of the process while traced; null if strace could not run. */
  calls: Record<string, number> | null;
  /** Why `calls` is null. */
  unavailable?: string;
}

/**
 * Counts system calls of process `pid` (all its threads) from now until `stop()`, with
 * `strace -f -c -e trace=… -p pid`. strace stops the process at every system call while attached
 * (`-e` only filters what it reports), so what is timed while it counts is slowed: count on a pass
 * of its own.
 */
export async function countSyscalls(pid: number, syscalls: string[]): Promise<{ stop(): Promise<SyscallCount> }> {
  if (!existsSync(STRACE)) return { stop: async () => ({ calls: null, unavailable: `${STRACE} is not installed (apt-get install -y strace)` }) };
  const child = spawn(STRACE, ["-f", "-c", "-e", `trace=${syscalls.join(",")}`, "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let closed = false;
  const exited = new Promise<void>((resolve) => child.once("close", () => ((closed = true), resolve())));
  const failed = (why: string): SyscallCount => ({ calls: null, unavailable: `${why}: ${stderr.trim().split("\n").slice(-3).join(" / ")}` });
  // Attached once it has said so for the process's threads (it prints one line per thread).
  for (let i = 0; i < 250 && !/attached/.test(stderr) && !closed; i++) await sleep(20);
  if (!/attached/.test(stderr)) {
    child.kill("SIGKILL");
    await exited;
    return { stop: async () => failed("strace did not attach") };
  }
  await sleep(100); // the rest of the threads
  return {
    async stop() {
      child.kill("SIGINT"); // detaches and prints the summary
      await Promise.race([exited, sleep(10_000)]);
      if (!closed) {
        child.kill("SIGKILL");
        return failed("strace did not finish");
      }
      // The summary: "% time  seconds  usecs/call  calls  errors  syscall", errors possibly blank.
      const calls = Object.fromEntries(syscalls.map((name) => [name, 0]));
      for (const m of stderr.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/gm)) {
        if (m[2]! in calls) calls[m[2]!] = Number(m[1]);
      }
      return { calls };
    },
  };
}

/**
 * Commits per message over `pass` (which returns how many messages it sent): the fsync and
 * fdatasync calls of the runtime, counted with strace (each SQLite commit in workerd is one fsync).
 */
export async function commitsDuring(pid: number, pass: () => Promise<number>) {
  const counter = await countSyscalls(pid, ["fsync", "fdatasync"]);
  const messages = await pass().catch(async (err: unknown) => {
    await counter.stop();
    throw err;
  });
  const { calls, unavailable } = await counter.stop();
  if (!calls) return { messages, per_message: null, unavailable };
  return {
    messages,
    fsync: calls.fsync!,
    fdatasync: calls.fdatasync!,
    per_message: round((calls.fsync! + calls.fdatasync!) / messages, 3),
    counted: "strace -f -c -e trace=fsync,fdatasync on the runtime, over a pass of its own (strace slows what it traces)",
  };
}
