import type { ParleyClient } from "../../src/client";
import { constructedBetween, WorkerInspector } from "../inspector";
import { round, Server, sleep, summarize, type Account } from "../lib";
import type { BenchServer } from "../localServer";
import { findRuntime } from "../serverProcesses";

export interface ColdStartOptions {
  /** Cold requests of each kind (each waits for an eviction first). */
  samples: number;
  /** Warm requests of each kind after each cold one. */
  warmPerSample: number;
  /** Restarts timed (spawn to ready), when the bench controls the server. */
  restarts: number;
}

/**
 * Cold start: the first request to objects the runtime has evicted, against the same request while
 * they are in memory. Two requests: a REST history page (the Worker asks A's user object whether
 * the session is still valid, then the conversation object for the page), and a send on A's device
 * socket until its ack (the user object holding A's shard, then the conversation object) and until
 * B's client has it (fan-out into B's user object, which pushes it on B's socket).
 *
 * How we know the objects were evicted: a counting breakpoint in each object class's constructor
 * (inspector.ts) shows every construction, and before each cold request we wait until no object
 * constructed since counting began has a live instance left after a forced GC. The device sockets
 * stay open all along (hibernated), as an app's would.
 *
 * The eviction samples need the runtime's inspector (the bench starts this scenario's server with
 * one). Then, when the bench controls the server, restarts on the same persisted state, as
 * `npm start` after a stop: from spawning the server to its first answer (a 401 from
 * /api/v1/users/me, polled every 20 ms, as the peers are timed), and the first requests of the new
 * process (a new isolate, nothing compiled yet).
 */
export async function coldStart(bench: BenchServer, opts: ColdStartOptions) {
  const server = await bench.with({ inspect: true });
  const runtime = findRuntime(server.base, server.pid);
  const inspector = await WorkerInspector.attach(runtime.pid, server.base).catch((err: Error) => {
    throw new Error(`the eviction samples need the runtime's inspector (npm start -- --inspector-port=N): ${err.message}`);
  });
  let clients: { a: ParleyClient; b: ParleyClient } | null = null;
  try {
    // Counting starts before the objects exist, so every instance of them is seen.
    await inspector.countConstructions(["UserObject", "ConversationObject", "DirectoryObject"]);
    const [a, b] = await Promise.all([server.register("cold_a"), server.register("cold_b")]);
    const conversation = await server.direct(a, b);
    clients = { a: await server.client(a, "cold-a"), b: await server.client(b, "cold-b") };
    await history(server, a, conversation); // warm-up: JIT, the isolate's caches
    await sendAndReceive(clients, conversation, "warm-up");

    const cold = { history: [] as number[], ack: [] as number[], receive: [] as number[] };
    const warm = { history: [] as number[], ack: [] as number[], receive: [] as number[] };
    const constructed: { request: string; evicted_after_s: number; objects: Record<string, number> }[] = [];
    const measureCold = async (request: string, run: () => Promise<void>) => {
      const idleSince = performance.now();
      if (!(await inspector.waitForNoLiveObjects(60_000))) throw new Error("objects were not evicted within 60 s");
      const evictedAfter = (performance.now() - idleSince) / 1000;
      const before = await inspector.objects();
      await run();
      constructed.push({ request, evicted_after_s: round(evictedAfter, 1), objects: constructedBetween(before, await inspector.objects()) });
    };

    console.log(`  ${opts.samples} cold samples of each request (each waits for the objects to be evicted) …`);
    for (let i = 0; i < opts.samples; i++) {
      await measureCold("history", async () => void cold.history.push(await history(server, a, conversation)));
      for (let w = 0; w < opts.warmPerSample; w++) warm.history.push(await history(server, a, conversation));
      await measureCold("send", async () => {
        const t = await sendAndReceive(clients!, conversation, `cold${i}`);
        cold.ack.push(t.ack);
        cold.receive.push(t.receive);
      });
      for (let w = 0; w < opts.warmPerSample; w++) {
        await sleep(100);
        const t = await sendAndReceive(clients, conversation, `warm${i}.${w}`);
        warm.ack.push(t.ack);
        warm.receive.push(t.receive);
      }
    }
    clients.a.stop();
    clients.b.stop();
    clients = null;
    inspector.close();

    const afterRestart = bench.restartable ? await firstRequestsAfterRestart(bench, opts.restarts, a, b, conversation) : undefined;
    return {
      cold_history_ms: summarize(cold.history),
      warm_history_ms: summarize(warm.history),
      cold_ack_ms: summarize(cold.ack),
      warm_ack_ms: summarize(warm.ack),
      cold_receive_ms: summarize(cold.receive),
      warm_receive_ms: summarize(warm.receive),
      constructed,
      ...(afterRestart ? { after_restart: afterRestart } : {}),
    };
  } finally {
    clients?.a.stop();
    clients?.b.stop();
    inspector.close();
  }
}

async function history(server: Server, account: Account, conversation: string): Promise<number> {
  const t0 = performance.now();
  await server.rest(account).call("history", { conversation_id: conversation, query: { limit: 50 } });
  return performance.now() - t0;
}

/** A send on A's socket: ms until A's ack, and until B's client has the message. */
async function sendAndReceive(clients: { a: ParleyClient; b: ParleyClient }, conversation: string, content: string) {
  const t0 = performance.now();
  let ackAt = NaN;
  let receivedAt = NaN;
  const offAck = clients.a.on("sent", ({ pending }) => {
    if (pending.content === content) ackAt = performance.now();
  });
  const offReceive = clients.b.on("message", (m) => {
    if (m.content === content) receivedAt = performance.now();
  });
  try {
    await clients.a.send(conversation, content);
    const deadline = Date.now() + 30_000;
    while (Number.isNaN(ackAt) || Number.isNaN(receivedAt)) {
      if (Date.now() > deadline) throw new Error(`"${content}" was not acked and received within 30 s`);
      await sleep(1);
    }
  } finally {
    offAck();
    offReceive();
  }
  return { ack: ackAt - t0, receive: receivedAt - t0 };
}

/**
 * Stops the server and starts it on the same state (as `npm start` runs it: no inspector),
 * `restarts` times; then times the first requests of the last new process.
 */
async function firstRequestsAfterRestart(bench: BenchServer, restarts: number, a: Account, b: Account, conversation: string) {
  console.log(`  restarting the server on the same state, ${restarts} times …`);
  const timings = [];
  let server!: Server;
  for (let i = 0; i < restarts; i++) {
    server = await bench.restart({});
    timings.push(bench.timing!);
  }
  const firstHistory = await history(server, a, conversation);
  const secondHistory = await history(server, a, conversation);
  const c0 = performance.now();
  const clients = { a: await server.client(a, "cold-a"), b: await server.client(b, "cold-b") };
  const connectMs = performance.now() - c0;
  try {
    const first = await sendAndReceive(clients, conversation, "after restart");
    await sleep(100);
    const second = await sendAndReceive(clients, conversation, "after restart, again");
    return {
      /** Spawn to the first 401, polled every 20 ms: the median of the restarts. */
      ready_ms: summarize(timings.map((t) => t.spawn_to_ready_ms)).p50,
      restarts: timings,
      first_history_ms: round(firstHistory),
      second_history_ms: round(secondHistory),
      connect_two_devices_ms: round(connectMs),
      first_ack_ms: round(first.ack),
      first_receive_ms: round(first.receive),
      second_ack_ms: round(second.ack),
      second_receive_ms: round(second.receive),
    };
  } finally {
    clients.a.stop();
    clients.b.stop();
  }
}
