/**
 * The server's processes, found from the port it serves on, and what they cost, read from /proc.
 *
 * `wrangler dev` runs two workerd processes: the entry one, which owns the port and forwards every
 * request and socket through wrangler's proxy worker, and the one that runs Parley (the Worker and
 * all Durable Objects). Both are the server; the wrangler node process only supervises them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { get } from "node:http";

const CLOCK_TICKS_PER_S = 100; // `getconf CLK_TCK` on Linux x86_64

export interface ServerProcess {
  pid: number;
  /** `entry` owns the listening port (wrangler's proxy); `runtime` runs Parley's code. */
  role: "entry" | "runtime";
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

function stat(pid: number): { comm: string; ppid: number; ticks: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may itself contain spaces or parentheses.
    const close = text.lastIndexOf(")");
    const fields = text.slice(close + 2).split(" ");
    // After the name: state(0) ppid(1) … utime(11) stime(12).
    return { comm: text.slice(text.indexOf("(") + 1, close), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
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
 * The workerd processes serving `baseUrl`: the one listening on its port, and its siblings under
 * the same wrangler process. Works for a server the bench started and for a running `npm start`.
 */
export function findServerProcesses(baseUrl: string): ServerProcess[] {
  const port = Number(new URL(baseUrl).port || 80);
  const entry = ownerOfSocket(listeningInodes(port));
  if (entry === null) throw new Error(`no process listens on port ${port}`);
  const parent = stat(entry)?.ppid ?? -1;
  const siblings = pids().filter((pid) => pid !== entry && stat(pid)?.ppid === parent && stat(pid)?.comm === "workerd");
  return [{ pid: entry, role: "entry" }, ...siblings.map((pid) => ({ pid, role: "runtime" as const }))];
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

/**
 * Where the runtime workerd serves Parley itself, behind wrangler's proxy: a socket opened there
 * skips the entry process. Null if no port answers like Parley.
 */
export async function findRuntimeBase(pid: number): Promise<string | null> {
  for (const port of listeningPortsOf(pid)) {
    try {
      const body = await httpGetOnce(`http://127.0.0.1:${port}/api/v1/users/me`);
      if ((JSON.parse(body) as { error?: { code?: string } }).error?.code === "unauthorized") return `http://127.0.0.1:${port}`;
    } catch {
      /* not Parley */
    }
  }
  return null;
}

export function memoryOf(pid: number): MemorySample {
  const text = procFile(pid, "smaps_rollup");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  return { rss_bytes: kb("Rss"), pss_bytes: kb("Pss") };
}

/** CPU time (user + system) the process has used so far, in milliseconds. */
export function cpuMsOf(pid: number): number {
  const ticks = stat(pid)?.ticks;
  if (ticks === undefined) procFile(pid, "stat"); // throws the clear error
  return ((ticks ?? NaN) * 1000) / CLOCK_TICKS_PER_S;
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

/** Memory of every server process, and their sum. */
export function serverMemory(processes: ServerProcess[]) {
  const each = processes.map((p) => ({ ...p, ...memoryOf(p.pid) }));
  return {
    rss_bytes: each.reduce((s, p) => s + p.rss_bytes, 0),
    pss_bytes: each.reduce((s, p) => s + p.pss_bytes, 0),
    processes: each,
  };
}

/** /proc/<pid>/<file>, or a clear error if the process has gone (killed, or restarted by wrangler). */
function procFile(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    throw new Error(`process ${pid} is gone: a server process exited or was restarted during the measurement`);
  }
}

function ioOf(pid: number): { reads: number; writes: number; readBytes: number } {
  const text = procFile(pid, "io");
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, "m").exec(text)?.[1] ?? NaN);
  return { reads: field("syscr"), writes: field("syscw"), readBytes: field("rchar") };
}

/**
 * Starts a meter over processes (the server's, and this one as `client` if wanted): `stop()` gives
 * each one's CPU time, share of a core, read-like and write-like system calls and bytes read
 * (/proc/<pid>/io: read(2)/write(2) on sockets count, send/recv do not — Node uses the former, so
 * the client's figures show how finely frames arrive and how many bytes crossed the wire).
 */
export function usageMeter(processes: { pid: number; role: string }[]) {
  const t0 = performance.now();
  const before = processes.map((p) => ({ cpu: cpuMsOf(p.pid), ...ioOf(p.pid) }));
  return {
    stop() {
      const wallMs = performance.now() - t0;
      const each = processes.map((p, i) => {
        const cpuMs = cpuMsOf(p.pid) - before[i]!.cpu;
        const io = ioOf(p.pid);
        return {
          pid: p.pid,
          role: p.role,
          cpu_ms: Math.round(cpuMs),
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
