import type { ParleyClient } from "../../src/client";
import { round, Server, sleep, summarize, waitFor } from "../lib";

/**
 * 1:1 latency: 100 msg/s spread over 20 pairs, `send()` on one SDK client → the `message` event on
 * the other user's, measured in one process so both ends share a clock. Every message is stored
 * before it is acked, and every receiver acknowledges `delivered` as a real client does.
 */
export async function directLatency(server: Server, opts = { pairs: 20, rate: 100, seconds: 10, settleMs: 12_000 }) {
  const pairs = await Promise.all(
    Array.from({ length: opts.pairs }, async (_, i) => {
      const [a, b] = await Promise.all([server.register(`la${i}`), server.register(`lb${i}`)]);
      const conversation = await server.direct(a, b);
      return { a, b, conversation };
    }),
  );
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const trace: [number, number][] = [];
  const ackLatencies: number[] = [];
  const clients = await Promise.all(
    pairs.map(async (p, i) => {
      const sender = await server.client(p.a, `bench-a${i}`);
      const receiver = await server.client(p.b, `bench-b${i}`);
      receiver.on("message", (m) => {
        const t0 = sentAt.get(m.content);
        if (t0 === undefined) return;
        latencies.push(performance.now() - t0);
        if (process.env.BENCH_TRACE) trace.push([Number(m.content.slice(1)), performance.now() - t0]);
      });
      sender.on("sent", ({ pending }) => {
        const t0 = sentAt.get(pending.content);
        if (t0 !== undefined) ackLatencies.push(performance.now() - t0);
      });
      return { sender, receiver };
    }),
  );
  // Steady state, not set-up: the runtime evicts the directory objects that registration woke
  // after ~10 s idle, all at once, which stalls the process for ~150 ms. Let that happen first,
  // then run unmeasured traffic for a while so cold starts and JIT warm-up are not counted either.
  await sleep(opts.settleMs);
  const interval = 1000 / opts.rate;
  const pace = async (count: number, prefix: string, measured: boolean) => {
    const start = performance.now();
    for (let n = 0; n < count; n++) {
      const wait = start + n * interval - performance.now();
      if (wait > 1) await sleep(wait);
      const i = n % pairs.length;
      const id = `${prefix}${n}`;
      if (measured) sentAt.set(id, performance.now());
      void clients[i]!.sender.send(pairs[i]!.conversation, id);
    }
    return start;
  };
  await pace(opts.rate * 3, "warm", false);
  await sleep(200);

  const total = opts.rate * opts.seconds;
  const start = await pace(total, "m", true);
  await waitFor(() => latencies.length >= total, 30_000, "every 1:1 message");
  const elapsed = (performance.now() - start) / 1000;
  if (process.env.BENCH_TRACE) console.log(JSON.stringify(trace.sort((x, y) => y[1] - x[1]).slice(0, 25).map(([n, l]) => [n, Math.round(l)])));
  for (const c of clients) {
    c.sender.stop();
    c.receiver.stop();
  }
  return { messages: total, achieved_rate: round(total / elapsed), deliver_ms: summarize(latencies), ack_ms: summarize(ackLatencies) };
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
