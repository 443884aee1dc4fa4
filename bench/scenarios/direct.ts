import type { ParleyClient } from "../../src/client";
import { PairWindows, round, Server, sleep, SocketMeter, summarize, waitFor } from "../lib";
import { WorkerInspector } from "../inspector";
import { commitsDuring, findRuntime, usageMeter } from "../serverProcesses";

/** `count` 1:1 conversations, each with its sender's and its receiver's SDK client connected. */
async function openPairs(server: Server, count: number, prefix: string, senderSockets?: SocketMeter) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const [a, b] = await Promise.all([server.register(`${prefix}a${i}`), server.register(`${prefix}b${i}`)]);
      const conversation = await server.direct(a, b);
      const sender = await server.client(a, `${prefix}-a${i}`, senderSockets ? { createSocket: senderSockets.factory } : {});
      const receiver = await server.client(b, `${prefix}-b${i}`);
      return { conversation, sender, receiver };
    }),
  );
}

/**
 * Steady state, not set-up: the runtime evicts the directory objects that registration woke after
 * ~10 s idle, all at once, which stalls the process for ~150 ms. Let that happen before measuring.
 */
const SETTLE_MS = 12_000;

/**
 * 1:1 latency: 100 msg/s spread over 20 pairs, `send()` on one SDK client → the `message` event on
 * the other user's, measured in one process so both ends share a clock. Every message is stored
 * before it is acked, and every receiver acknowledges `delivered` as a real client does. Then the
 * same traffic once more with the runtime's commits counted (strace slows it: not timed).
 */
export async function directLatency(server: Server, opts = { pairs: 20, rate: 100, seconds: 10 }) {
  const pairs = await openPairs(server, opts.pairs, "l");
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const trace: [number, number][] = [];
  const ackLatencies: number[] = [];
  let received = 0;
  for (const { sender, receiver } of pairs) {
    receiver.on("message", (m) => {
      received++;
      const t0 = sentAt.get(m.content);
      if (t0 === undefined) return;
      latencies.push(performance.now() - t0);
      if (process.env.BENCH_TRACE) trace.push([Number(m.content.slice(1)), performance.now() - t0]);
    });
    sender.on("sent", ({ pending }) => {
      const t0 = sentAt.get(pending.content);
      if (t0 !== undefined) ackLatencies.push(performance.now() - t0);
    });
  }
  await sleep(SETTLE_MS);
  const interval = 1000 / opts.rate;
  /** `count` messages at `rate`, round-robin over the pairs; resolves once all are received. */
  const pace = async (count: number, prefix: string, measured: boolean) => {
    const start = performance.now();
    const expected = received + count;
    for (let n = 0; n < count; n++) {
      const wait = start + n * interval - performance.now();
      if (wait > 1) await sleep(wait);
      const i = n % pairs.length;
      const id = `${prefix}${n}`;
      if (measured) sentAt.set(id, performance.now());
      void pairs[i]!.sender.send(pairs[i]!.conversation, id);
    }
    await waitFor(() => received >= expected, 30_000, "every 1:1 message");
    return start;
  };
  // Unmeasured traffic first, so cold starts and JIT warm-up are not counted.
  await pace(opts.rate * 3, "warm", false);
  await sleep(200);

  const total = opts.rate * opts.seconds;
  const start = await pace(total, "m", true);
  const elapsed = (performance.now() - start) / 1000;
  if (process.env.BENCH_TRACE) console.log(JSON.stringify(trace.sort((x, y) => y[1] - x[1]).slice(0, 25).map(([n, l]) => [n, Math.round(l)])));
  const commits = await commitsDuring(findRuntime(server.base, server.pid).pid, async () => (await pace(total, "c", false), total));
  for (const c of pairs) {
    c.sender.stop();
    c.receiver.stop();
  }
  return { messages: total, achieved_rate: round(total / elapsed), deliver_ms: summarize(latencies), ack_ms: summarize(ackLatencies), commits };
}

/**
 * 1:1 throughput: `pairs` conversations at once, each sender keeping `window` messages unacked,
 * one `send()` per turn (one socket message per message), `perPair` messages each. Acked and
 * delivered messages per second, and the runtime's CPU per message (user + system, from /proc).
 * Then the same traffic once more with the runtime's commits counted (not timed).
 */
export async function pairsThroughput(
  server: Server,
  /** `profile`: a CPU profile of the runtime's JavaScript over the measured pass (BENCH_PAIRS_PROFILE=1; the server needs its inspector). */
  opts: { pairs: number; window: number; perPair: number; profile?: boolean },
) {
  const senderSockets = new SocketMeter();
  const pairs = await openPairs(server, opts.pairs, "p", senderSockets);
  const windows = new PairWindows(opts);
  let delivered = 0;
  let lastAckAt = 0;
  let lastDeliveryAt = 0;
  pairs.forEach(({ sender, receiver }, i) => {
    sender.on("sent", () => {
      lastAckAt = performance.now();
      windows.complete(i);
    });
    receiver.on("message", () => {
      delivered++;
      lastDeliveryAt = performance.now();
    });
  });
  const total = opts.pairs * opts.perPair;
  /** One pass: every pair sends `perPair`; resolves once all are acked and delivered. */
  const pass = async (prefix: string, perPair = opts.perPair) => {
    delivered = 0;
    await windows.run(perPair, (i, n) => pairs[i]!.sender.send(pairs[i]!.conversation, `${prefix}${n}`));
    await waitFor(() => delivered >= perPair * opts.pairs, 60_000, "every delivery");
    return perPair * opts.pairs;
  };
  await sleep(SETTLE_MS);
  await pass("warm", 50);
  await sleep(1_000);

  const runtime = findRuntime(server.base, server.pid);
  const inspector = opts.profile ? await WorkerInspector.attach(runtime.pid, server.base) : null;
  await inspector?.startProfile();
  const framesBefore = senderSockets.framesOut;
  const usage = usageMeter([runtime, { pid: process.pid, role: "client" }]);
  const start = performance.now();
  await pass("m");
  const used = usage.stop();
  const profile = await inspector?.stopProfile(25, ["webSocketMessage", "sendMessages", "deliver", "updateCursor", "exec"]);
  inspector?.close();
  const [ackSeconds, deliverSeconds] = [(lastAckAt - start) / 1000, (lastDeliveryAt - start) / 1000];
  const senderFrames = senderSockets.framesOut - framesBefore;
  const commits = await commitsDuring(runtime.pid, () => pass("c"));
  for (const c of pairs) {
    c.sender.stop();
    c.receiver.stop();
  }
  const [runtimeUse, client] = [used.processes.find((p) => p.role === "runtime")!, used.processes.find((p) => p.role === "client")!];
  const perMessage = (ms: number) => round((ms * 1000) / total, 0);
  return {
    pairs: opts.pairs,
    window: opts.window,
    messages: total,
    acked_per_s: round(total / ackSeconds, 0),
    delivered_per_s: round(total / deliverSeconds, 0),
    server_cpu_us_per_message: perMessage(used.cpu_ms),
    /** Of which in user mode (JavaScript, SQLite, the runtime) and in the kernel (sockets, fsync, …). */
    server_user_us_per_message: perMessage(runtimeUse.user_ms),
    server_system_us_per_message: perMessage(runtimeUse.system_ms),
    server_core_percent: used.core_percent,
    client_cpu_us_per_message: perMessage(client.cpu_ms),
    /** Socket messages the senders wrote per message (1 = one frame each; heartbeats add a little). */
    sender_socket_messages_per_message: round(senderFrames / total, 3),
    commits,
    ...(profile ? { profile } : {}),
  };
}

/**
 * The highest rate one conversation sustains with durable acks: the sender keeps a window of
 * unacknowledged messages in flight; the rate is acked messages per second, and the receiver's
 * rate too. `burst` is how many sends the app makes in one turn of the event loop: the SDK sends
 * those as one socket message (up to 100 frames), as it does when flushing its outbox.
 */
export async function conversationThroughput(server: Server, opts = { messages: 20_000, window: 2_000, burst: 1 }) {
  const [a, b] = await Promise.all([server.register("ta"), server.register("tb")]);
  const conversation = await server.direct(a, b);
  let acked = 0;
  let received = 0;
  const sender: ParleyClient = await server.client(a, "tput-a");
  sender.on("sent", () => acked++);
  const receiver = await server.client(b, "tput-b");
  receiver.on("message", () => received++);
  const start = performance.now();
  const deadline = Date.now() + 120_000;
  let sent = 0;
  while (sent < opts.messages) {
    if (Date.now() > deadline) throw new Error("throughput run exceeded its time bound");
    while (sent < opts.messages && sent - acked < opts.window) {
      const n = Math.min(opts.burst, opts.messages - sent);
      const burst = Array.from({ length: n }, (_, k) => sender.send(conversation, `t${sent + k}`));
      sent += n;
      await Promise.all(burst);
    }
    await sleep(1);
  }
  await waitFor(() => acked >= opts.messages, 60_000, "every ack");
  const ackSeconds = (performance.now() - start) / 1000;
  await waitFor(() => received >= opts.messages, 60_000, "every delivery");
  const deliverSeconds = (performance.now() - start) / 1000;
  sender.stop();
  receiver.stop();
  return {
    messages: opts.messages,
    sends_per_turn: opts.burst,
    acked_per_s: round(opts.messages / ackSeconds, 0),
    delivered_per_s: round(opts.messages / deliverSeconds, 0),
  };
}
