import type { ServerFrame } from "../../src/protocol";
import { round, Server, sleep, summarize, waitFor } from "../lib";

const sendMessage = (conversation: string, id: string, content = id) => ({
  type: "send_message",
  conversation_id: conversation,
  content,
  content_type: "text",
  client_msg_id: id,
});
const sendFrame = (conversation: string, id: string, content = id) => JSON.stringify(sendMessage(conversation, id, content));

/**
 * 1:1 latency: 100 msg/s spread over 20 pairs, send → receive on the other user's device socket,
 * measured in one process so both ends share a clock. Every message is stored before it is acked.
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
  const onFrame = (f: ServerFrame) => {
    if (f.type === "new_message") {
      const t0 = sentAt.get(f.content);
      if (t0 !== undefined) {
        latencies.push(performance.now() - t0);
        if (process.env.BENCH_TRACE) trace.push([Number(f.content.slice(1)), performance.now() - t0]);
      }
    } else if (f.type === "message_ack") {
      const t0 = sentAt.get(f.client_msg_id);
      if (t0 !== undefined) ackLatencies.push(performance.now() - t0);
    }
  };
  const sockets = await Promise.all(
    pairs.map(async (p, i) => ({
      sender: await server.socket(p.a.token, `bench-a${i}`, onFrame),
      receiver: await server.socket(p.b.token, `bench-b${i}`, onFrame),
    })),
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
      sockets[i]!.sender.send(sendFrame(pairs[i]!.conversation, id));
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
  for (const s of sockets) {
    s.sender.close();
    s.receiver.close();
  }
  return { messages: total, achieved_rate: round(total / elapsed), deliver_ms: summarize(latencies), ack_ms: summarize(ackLatencies) };
}

/**
 * The highest rate one conversation sustains with durable acks: senders pipeline a window of
 * messages over their sockets; the rate is acked messages per second, and the receiver's rate too.
 * `batch` > 1 sends that many frames per socket message, as a client flushing its outbox does.
 */
export async function conversationThroughput(server: Server, opts = { messages: 20_000, window: 2_000, senders: 1, batch: 1 }) {
  const [a, b] = await Promise.all([server.register("ta"), server.register("tb")]);
  const conversation = await server.direct(a, b);
  let acked = 0;
  let received = 0;
  const senders = await Promise.all(
    Array.from({ length: opts.senders }, (_, i) =>
      server.socket(a.token, `tput-a${i}`, (f) => {
        if (f.type === "message_ack") acked++;
      }),
    ),
  );
  const receiver = await server.socket(b.token, "tput-b", (f) => {
    if (f.type === "new_message") received++;
  });
  const start = performance.now();
  const deadline = Date.now() + 120_000;
  let sent = 0;
  while (sent < opts.messages) {
    if (Date.now() > deadline) throw new Error("throughput run exceeded its time bound");
    while (sent < opts.messages && sent - acked < opts.window) {
      const n = Math.min(opts.batch, opts.messages - sent);
      const frames = Array.from({ length: n }, (_, k) => sendMessage(conversation, `t${sent + k}`));
      senders[sent % senders.length]!.send(JSON.stringify(n === 1 ? frames[0] : frames));
      sent += n;
    }
    await sleep(1);
  }
  await waitFor(() => acked >= opts.messages, 60_000, "every ack");
  const ackSeconds = (performance.now() - start) / 1000;
  await waitFor(() => received >= opts.messages, 60_000, "every delivery");
  const deliverSeconds = (performance.now() - start) / 1000;
  for (const s of senders) s.close();
  receiver.close();
  return {
    messages: opts.messages,
    frames_per_socket_message: opts.batch,
    acked_per_s: round(opts.messages / ackSeconds, 0),
    delivered_per_s: round(opts.messages / deliverSeconds, 0),
  };
}
