import type { ParleyClient } from "../../src/client";
import { WorkerInspector } from "../inspector";
import { round, Server, sleep, summarize, type Account } from "../lib";
import { findServerProcesses } from "../serverProcesses";

export interface ColdStartOptions {
  /** Cold requests of each kind (each waits for an eviction first). */
  samples: number;
  /** Warm requests of each kind after each cold one. */
  warmPerSample: number;
}

/**
 * Cold start: the first request to objects the runtime has evicted, against the same request while
 * they are in memory. Two requests: a REST history page (the Worker asks A's user object whether
 * the session is still valid, then the conversation object for the page), and a send on A's device
 * socket until its ack (A's user object, then the conversation object) and until B's client has it
 * (fan-out into B's user object, which pushes it on B's socket).
 *
 * How we know the objects were evicted: a counting breakpoint in each object class's constructor
 * (inspector.ts) shows every construction, and before each cold request we wait until none of the
 * three objects has a live instance left after a forced GC. The device sockets stay open all along
 * (hibernated), as an app's would.
 *
 * With `restart`, also the first requests after `wrangler dev` is stopped and started again on the
 * same persisted state: a new process, a new isolate, nothing compiled yet.
 */
export async function coldStart(server: Server, opts: ColdStartOptions, restart?: () => Promise<Server>) {
  const runtime = findServerProcesses(server.base).find((p) => p.role === "runtime")!;
  const inspector = await WorkerInspector.attach(runtime.pid, server.base);
  let clients: { a: ParleyClient; b: ParleyClient } | null = null;
  try {
    // Counting starts before the objects exist, so every instance of them is seen.
    await inspector.countConstructions(["UserObject", "ConversationObject", "DirectoryObject"]);
    const [a, b] = await Promise.all([server.register("cold_a"), server.register("cold_b")]);
    const conversation = await server.direct(a, b);
    const names = [a.user.user_id, b.user.user_id, conversation];
    clients = { a: await server.client(a, "cold-a"), b: await server.client(b, "cold-b") };
    await history(server, a, conversation); // warm-up: JIT, the isolate's caches
    await sendAndReceive(clients, conversation, "warm-up");

    const cold = { history: [] as number[], ack: [] as number[], receive: [] as number[] };
    const warm = { history: [] as number[], ack: [] as number[], receive: [] as number[] };
    const constructed: { request: string; evicted_after_s: number; objects: Record<string, number> }[] = [];
    const measureCold = async (request: string, run: () => Promise<void>) => {
      const idleSince = performance.now();
      await inspector.waitForEviction(names, 60_000);
      const evictedAfter = (performance.now() - idleSince) / 1000;
      const before = await inspector.instances(names);
      await run();
      const after = await inspector.instances(names);
      constructed.push({
        request,
        evicted_after_s: round(evictedAfter, 1),
        objects: Object.fromEntries(names.map((n) => [label(n, a, b), after[n]!.made - before[n]!.made])),
      });
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

    const afterRestart = restart ? await firstRequestsAfterRestart(restart, a, b, conversation) : undefined;
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

const label = (name: string, a: Account, b: Account) =>
  name === a.user.user_id ? "user A" : name === b.user.user_id ? "user B" : "conversation";

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

/** Stops the server, starts it on the same state, and times the first requests of the new process. */
async function firstRequestsAfterRestart(restart: () => Promise<Server>, a: Account, b: Account, conversation: string) {
  console.log("  restarting wrangler dev on the same state …");
  const t0 = performance.now();
  const server = await restart();
  const readyMs = performance.now() - t0;
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
      ready_ms: Math.round(readyMs),
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
