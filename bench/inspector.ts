/**
 * A look inside the workerd process that runs Parley, through its V8 inspector (the one
 * `wrangler dev` starts for devtools), without changing Parley's code:
 *
 * - which Durable Objects were constructed, and how many instances are still alive: a conditional
 *   breakpoint in each class's constructor that never pauses, only counts (and keeps a WeakRef);
 * - the isolate's JS heap, after a forced garbage collection;
 * - a CPU profile of the isolate (where JavaScript time goes).
 *
 * Eviction has no event of its own; a constructor running again is how we know an object had been
 * evicted, and a WeakRef that no longer resolves after a GC is how we know its instance is gone.
 */
import { sleep } from "./lib";
import { httpGetOnce, listeningPortsOf } from "./serverProcesses";

type Pending = { resolve(v: any): void; reject(e: Error): void };

export interface ProfileSummary {
  /** Time the isolate was busy (samples not idle). */
  busy_ms: number;
  /** By function, self time, largest first; `percent` of busy time; `code` starts the function. */
  top: { fn: string; self_ms: number; percent: number; code?: string }[];
  /** Time with the named functions on the stack (they and what they call), by name. */
  inclusive: Record<string, { ms: number; percent: number }>;
}

const COUNTER = "__parleyBenchConstructions";

type ObjectCounts = Record<string, { made: number; alive: number }>;

/** Constructions per class between two `objects()` readings. */
export function constructedBetween(from: ObjectCounts, to: ObjectCounts): Record<string, number> {
  return Object.fromEntries(Object.entries(to).map(([k, v]) => [k, v.made - (from[k]?.made ?? 0)]));
}

export class WorkerInspector {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly scripts: { scriptId: string; url: string }[] = [];
  private contextId: number | null = null;

  private constructor(
    private readonly ws: WebSocket,
    /** A request that reaches the Worker's isolate and no object (see `call`). */
    private readonly pokeUrl: string,
  ) {
    ws.addEventListener("close", () => {
      for (const p of this.pending.values()) p.reject(new Error("inspector: session closed"));
      this.pending.clear();
    });
    ws.addEventListener("message", (event) => {
      const msg = JSON.parse(String(event.data));
      if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(`${msg.error.message} (${JSON.stringify(msg.error)})`));
        else p?.resolve(msg.result);
      } else if (msg.method === "Debugger.scriptParsed") {
        this.scripts.push({ scriptId: msg.params.scriptId, url: msg.params.url });
      } else if (msg.method === "Runtime.executionContextCreated") {
        this.contextId ??= msg.params.context.id;
      }
    });
  }

  /**
   * Connects to the inspector of the workerd process `pid` (the one running Parley, served at
   * `serverBase`). workerd closes the first session after a start without answering it, so a
   * session that does not answer a trivial call is replaced (at most five times).
   */
  static async attach(pid: number, serverBase: string): Promise<WorkerInspector> {
    const url = await findInspectorUrl(pid);
    for (let attempt = 1; ; attempt++) {
      const ws = new WebSocket(url);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("inspector did not answer within 10 s")), 10_000);
        ws.addEventListener("open", () => (clearTimeout(timer), resolve()));
        ws.addEventListener("error", () => (clearTimeout(timer), reject(new Error(`cannot connect to ${url}`))));
      });
      const inspector = new WorkerInspector(ws, new URL("/api/v1/users/me", serverBase).href);
      try {
        await inspector.call("Runtime.getHeapUsage", {}, 3_000);
        return inspector;
      } catch (err) {
        inspector.close();
        if (attempt >= 5) throw err;
      }
    }
  }

  /**
   * One inspector call. workerd runs some inspector work (a GC, the profiler, at times even
   * enabling a domain) only when the isolate next handles an event, so while an answer is late the
   * isolate is given requests (an unauthenticated GET: the Worker answers 401 and touches no object).
   */
  async call<T = any>(method: string, params: object = {}, timeoutMs = 60_000): Promise<T> {
    let finished = false;
    const answer = this.send<T>(method, params, timeoutMs).finally(() => (finished = true));
    await Promise.race([answer.catch(() => {}), sleep(100)]);
    while (!finished) {
      await fetch(this.pokeUrl).then((r) => r.arrayBuffer(), () => {});
      await Promise.race([answer.catch(() => {}), sleep(50)]);
    }
    return answer;
  }

  private send<T>(method: string, params: object, timeoutMs: number): Promise<T> {
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      if (this.ws.readyState !== WebSocket.OPEN) return reject(new Error(`inspector: session closed before ${method}`));
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector: ${method} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }

  /**
   * Counts constructions of the named Durable Object classes from now on. The breakpoint sits on
   * the statement after `super(ctx, env)` in the bundled script; its condition records and returns
   * false, so nothing ever pauses.
   */
  async countConstructions(classNames: string[]): Promise<void> {
    await this.call("Debugger.enable");
    await sleep(300); // scriptParsed events for already-loaded scripts arrive right after enable
    for (const name of classNames) {
      const found = await this.locateConstructorBody(name);
      if (!found) throw new Error(`inspector: no constructor of ${name} in the worker's script`);
      // Objects are named (idFromName): the name is the user or conversation id.
      const condition =
        `((g) => { const all = (g.${COUNTER} ??= {}); const c = (all[${JSON.stringify(name)}] ??= { made: 0, byName: new Map() });` +
        ` const key = this.ctx.id.name ?? String(this.ctx.id); const e = c.byName.get(key) ?? { made: 0, ref: null };` +
        ` c.made++; e.made++; e.ref = new WeakRef(this); c.byName.set(key, e); })(globalThis), false`;
      await this.call("Debugger.setBreakpoint", { location: found, condition });
    }
  }

  private async locateConstructorBody(name: string) {
    const declaration = new RegExp(`(?:var ${name} = class|class ${name}) extends `);
    for (const script of this.scripts) {
      if (!script.url.startsWith("file://")) continue;
      const { scriptSource } = await this.call<{ scriptSource: string }>("Debugger.getScriptSource", { scriptId: script.scriptId });
      const classAt = scriptSource.search(declaration);
      if (classAt < 0) continue;
      const superAt = scriptSource.indexOf("super(", classAt);
      const statementEnd = scriptSource.indexOf(";", superAt) + 1;
      let at = statementEnd;
      while (/\s/.test(scriptSource[at] ?? "")) at++;
      const before = scriptSource.slice(0, at);
      const lineNumber = before.split("\n").length - 1;
      return { scriptId: script.scriptId, lineNumber, columnNumber: at - before.lastIndexOf("\n") - 1 };
    }
    return null;
  }

  /** Constructions so far and instances still alive (after a full GC), per class. */
  async objects(): Promise<ObjectCounts> {
    return this.evaluateAfterGc(`Object.fromEntries(Object.entries(globalThis.${COUNTER} ?? {}).map(([k, c]) => {
      let alive = 0;
      for (const e of c.byName.values()) if (e.ref?.deref() !== undefined) alive++;
      return [k, { made: c.made, alive }];
    }))`);
  }

  /**
   * Waits until no instance counted since `countConstructions` is alive (after a full GC): every
   * object was evicted. False if some still were after `timeoutMs`.
   */
  async waitForNoLiveObjects(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (Object.values(await this.objects()).every((c) => c.alive === 0)) return true;
      if (Date.now() > deadline) return false;
      await sleep(500);
    }
  }

  private async evaluateAfterGc<T>(expression: string): Promise<T> {
    if (this.contextId === null) {
      // Learn the worker's context, then stop the Runtime domain: while enabled, every console.log
      // of the Worker (one per request) would be copied to us.
      await this.call("Runtime.enable");
      await this.call("Runtime.disable");
    }
    await this.collectGarbage();
    const { result, exceptionDetails } = await this.call("Runtime.evaluate", {
      expression: `JSON.stringify(${expression})`,
      contextId: this.contextId,
      returnByValue: true,
    });
    if (exceptionDetails) throw new Error(`inspector: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return JSON.parse(String(result.value));
  }

  /** The isolate's JS heap after a full GC. */
  async heapUsedBytes(): Promise<number> {
    await this.collectGarbage();
    const { usedSize } = await this.call<{ usedSize: number }>("Runtime.getHeapUsage");
    return usedSize;
  }

  private collectGarbage(): Promise<void> {
    return this.call("HeapProfiler.collectGarbage");
  }

  async startProfile(intervalUs = 200): Promise<void> {
    await this.call("Profiler.enable");
    await this.call("Profiler.setSamplingInterval", { interval: intervalUs });
    await this.call("Profiler.start");
  }

  async stopProfile(top = 15, inclusiveOf: string[] = []): Promise<ProfileSummary> {
    const { profile } = await this.call<{ profile: CpuProfile }>("Profiler.stop");
    await this.call("Profiler.disable");
    const summary = summarizeProfile(profile, top, inclusiveOf);
    // Bundled code has many anonymous functions: show where each one starts.
    await this.call("Debugger.enable");
    const sources = new Map<string, string[]>();
    for (const entry of summary.top) {
      if (!entry.at) continue;
      const { scriptId, lineNumber, columnNumber } = entry.at;
      if (!sources.has(scriptId)) {
        const { scriptSource } = await this.call<{ scriptSource: string }>("Debugger.getScriptSource", { scriptId });
        sources.set(scriptId, scriptSource.split("\n"));
      }
      entry.code = sources.get(scriptId)![lineNumber]?.slice(columnNumber, columnNumber + 90).trim();
    }
    return { ...summary, top: summary.top.map(({ at: _, ...rest }) => rest) };
  }
}

interface CallFrame {
  functionName: string;
  url: string;
  scriptId: string;
  lineNumber: number;
  columnNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

function summarizeProfile(profile: CpuProfile, top: number, inclusiveOf: string[]) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const self = new Map<string, { us: number; frame: CallFrame }>();
  const inclusiveUs = new Map<string, number>(inclusiveOf.map((name) => [name, 0]));
  let busyUs = 0;
  profile.samples.forEach((nodeId, i) => {
    const frame = nodes.get(nodeId)!.callFrame;
    if (frame.functionName === "(idle)") return;
    const file = frame.url.split("/").pop() ?? "";
    const fn = `${frame.functionName || "(anonymous)"}${file ? ` ${file}:${frame.lineNumber + 1}` : ""}`;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(fn, { us: (self.get(fn)?.us ?? 0) + dt, frame });
    busyUs += dt;
    const onStack = new Set<string>();
    for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) onStack.add(nodes.get(id)!.callFrame.functionName);
    for (const name of inclusiveOf) if (onStack.has(name)) inclusiveUs.set(name, inclusiveUs.get(name)! + dt);
  });
  return {
    busy_ms: Math.round(busyUs / 1000),
    inclusive: Object.fromEntries(
      [...inclusiveUs].map(([name, us]) => [name, { ms: Math.round(us / 1000), percent: Math.round((1000 * us) / busyUs) / 10 }]),
    ),
    top: [...self.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([fn, { us, frame }]) => ({
        fn,
        self_ms: Math.round(us / 100) / 10,
        percent: Math.round((1000 * us) / busyUs) / 10,
        code: undefined as string | undefined,
        at: frame.url.endsWith(".js") && frame.scriptId !== "0" ? { scriptId: frame.scriptId, lineNumber: frame.lineNumber, columnNumber: frame.columnNumber } : undefined,
      })),
  };
}

/** The inspector listens on a port workerd picked: ask the process's listening ports. */
async function findInspectorUrl(pid: number): Promise<string> {
  for (const port of listeningPortsOf(pid)) {
    try {
      const targets = JSON.parse(await httpGetOnce(`http://127.0.0.1:${port}/json`)) as { id: string; webSocketDebuggerUrl: string }[];
      const worker = targets.find((t) => t.id.startsWith("core:user:"));
      if (worker) return worker.webSocketDebuggerUrl;
    } catch {
      /* not the inspector */
    }
  }
  throw new Error(`no inspector found on the listening ports of process ${pid}`);
}
