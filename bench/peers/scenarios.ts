/**
 * Parley's scenarios, with the same parameters and result shapes, written once against `RunningPeer`
 * so that Prosody, ejabberd and both floors run exactly the same traffic. Send and receive are
 * timed in this process, on one clock. Only the workerd floor acknowledges a message to its sender
 * (after its commit, as Parley does): its 1:1 figures add send→ack and acked messages per second;
 * the others' throughput is what the receiver gets.
 */
import { FanoutTimer, PairWindows, round, sleep, summarize, waitFor } from "../lib";
import type { Conversation, Peer, PeerClient, RunningPeer } from "./peer";
import { bytesReadBy, raiseOpenFileLimit } from "../serverProcesses";
import { groupUsage, usageOf } from "./process";

/** The server's memory and CPU so far: its `serverPids`, else every process of its group. */
const serverUsage = (peer: RunningPeer) => (peer.serverPids ? usageOf(peer.serverPids) : groupUsage(peer.process.group));

/** Connects `users`, `batch` at a time (each XMPP login is a SCRAM exchange and a resource bind). */
async function connectMany(peer: RunningPeer, users: string[], onMessage?: (body: string) => void, batch = 50): Promise<PeerClient[]> {
  const clients: PeerClient[] = [];
  for (let i = 0; i < users.length; i += batch) {
    clients.push(...(await Promise.all(users.slice(i, i + batch).map((user) => peer.connect(user, { onMessage })))));
  }
  return clients;
}

const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/**
 * Sends without waiting for the write, keeping the first failed write (a closed socket) so that the
 * wait for deliveries that follows can say why it timed out.
 */
function unawaitedSends() {
  let failure: unknown = null;
  return {
    send(client: PeerClient, conversation: Conversation, body: string) {
      client.send(conversation, body).catch((err: unknown) => (failure ??= err));
    },
    async until(done: () => boolean, timeoutMs: number, what: string) {
      try {
        await waitFor(done, timeoutMs, what);
      } catch (err) {
        throw failure ? new Error(`${(err as Error).message}; a send failed: ${String(failure)}`) : err;
      }
    },
  };
}

/** 1:1 latency: `rate` msg/s over `pairs` pairs for `seconds`, after 3 s of unmeasured traffic. */
export async function directLatency(peer: RunningPeer, opts = { pairs: 20, rate: 100, seconds: 10 }) {
  await peer.register([...names("la", opts.pairs), ...names("lb", opts.pairs)]);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const onMessage = (body: string) => {
    const t0 = sentAt.get(body);
    if (t0 !== undefined) latencies.push(performance.now() - t0);
  };
  const receivers = await connectMany(peer, names("lb", opts.pairs), onMessage);
  const senders = await connectMany(peer, names("la", opts.pairs));
  const conversations = await Promise.all(senders.map((s, i) => peer.direct(s, `lb${i}`)));
  // Where the server acks (in order on each sender), each sender's send times wait for their acks.
  const unacked = senders.map(() => [] as (number | null)[]);
  const ackLatencies: number[] = [];
  senders.forEach((s, i) =>
    s.onAck?.(() => {
      const t0 = unacked[i]!.shift();
      if (t0 != null) ackLatencies.push(performance.now() - t0);
    }),
  );
  await sleep(1_000);
  const interval = 1000 / opts.rate;
  const sends = unawaitedSends();
  const pace = async (count: number, prefix: string, measured: boolean) => {
    const start = performance.now();
    for (let n = 0; n < count; n++) {
      const wait = start + n * interval - performance.now();
      if (wait > 1) await sleep(wait);
      const i = n % opts.pairs;
      const body = `${prefix}${n}`;
      const now = performance.now();
      if (measured) sentAt.set(body, now);
      unacked[i]!.push(measured ? now : null);
      sends.send(senders[i]!, conversations[i]!, body);
    }
    return start;
  };
  await pace(opts.rate * 3, "warm", false);
  await sleep(200);
  const total = opts.rate * opts.seconds;
  const start = await pace(total, "m", true);
  await sends.until(() => latencies.length >= total, 30_000, "every 1:1 message");
  const elapsed = (performance.now() - start) / 1000;
  const acking = senders.every((s) => s.onAck);
  if (acking) await sends.until(() => ackLatencies.length >= total, 30_000, "every ack");
  for (const c of [...senders, ...receivers]) c.drop();
  return { messages: total, achieved_rate: round(total / elapsed), deliver_ms: summarize(latencies), ...(acking ? { ack_ms: summarize(ackLatencies) } : {}) };
}

/**
 * The highest rate one conversation sustains: one sender, one receiver, at most `window` messages
 * sent and not yet received (the peers have no acks to bound the flight with); messages received
 * per second.
 */
export async function conversationThroughput(peer: RunningPeer, opts = { messages: 20_000, window: 2_000 }) {
  await peer.register(["ta", "tb"]);
  let received = 0;
  const receiver = await peer.connect("tb", { onMessage: () => received++ });
  const sender = await peer.connect("ta");
  const conversation = await peer.direct(sender, "tb");
  await sender.send(conversation, "warm");
  await waitFor(() => received === 1, 10_000, "the first message");
  received = 0;
  const start = performance.now();
  const deadline = Date.now() + 120_000;
  let sent = 0;
  const sends = unawaitedSends();
  while (sent < opts.messages) {
    if (Date.now() > deadline) throw new Error("throughput run exceeded its time bound");
    while (sent < opts.messages && sent - received < opts.window) sends.send(sender, conversation, `t${sent++}`);
    await sleep(1);
  }
  await sends.until(() => received >= opts.messages, 60_000, "every delivery");
  const seconds = (performance.now() - start) / 1000;
  sender.drop();
  receiver.drop();
  return { messages: opts.messages, window: opts.window, delivered_per_s: round(opts.messages / seconds, 0) };
}

/**
 * 1:1 throughput as Parley's: `pairs` conversations at once, each sender keeping at most `window`
 * messages not yet complete, one message per turn, `perPair` each after a warm-up of 50. A message
 * completes at its ack where the server acks (the workerd floor, as Parley), else at its delivery
 * to the receiver. Acked and delivered messages per second, and the server's CPU per message (its
 * processes, from /proc).
 */
export async function pairsThroughput(peer: RunningPeer, opts = { pairs: 20, window: 10, perPair: 2_000 }) {
  await peer.register([...names("pa", opts.pairs), ...names("pb", opts.pairs)]);
  const windows = new PairWindows(opts);
  let acking = false;
  let delivered = 0;
  let lastDeliveryAt = 0;
  let lastAckAt = 0;
  const receivers = await Promise.all(
    Array.from({ length: opts.pairs }, (_, i) =>
      peer.connect(`pb${i}`, {
        onMessage: () => {
          delivered++;
          lastDeliveryAt = performance.now();
          if (!acking) windows.complete(i);
        },
      }),
    ),
  );
  const senders = await connectMany(peer, names("pa", opts.pairs));
  acking = senders.every((s) => s.onAck);
  senders.forEach((s, i) =>
    s.onAck?.(() => {
      lastAckAt = performance.now();
      windows.complete(i);
    }),
  );
  const conversations = await Promise.all(senders.map((s, i) => peer.direct(s, `pb${i}`)));
  await sleep(1_000);
  const run = async (perPair: number, prefix: string) => {
    delivered = 0;
    await windows.run(perPair, (i, n) => senders[i]!.send(conversations[i]!, `${prefix}${n}`));
    await waitFor(() => delivered >= perPair * opts.pairs, 60_000, "every delivery");
  };
  await run(50, "warm");
  await sleep(1_000);
  const before = serverUsage(peer);
  const start = performance.now();
  await run(opts.perPair, "m");
  const used = serverUsage(peer).cpuSeconds - before.cpuSeconds;
  const total = opts.pairs * opts.perPair;
  for (const c of [...senders, ...receivers]) c.drop();
  return {
    pairs: opts.pairs,
    window: opts.window,
    messages: total,
    completed_by: acking ? "the server's ack to the sender (after its commit)" : "delivery to the receiver (the peers do not ack)",
    ...(acking ? { acked_per_s: round(total / ((lastAckAt - start) / 1000), 0) } : {}),
    delivered_per_s: round(total / ((lastDeliveryAt - start) / 1000), 0),
    server_cpu_us_per_message: round((used * 1e6) / total, 0),
  };
}

/**
 * Group fan-out: `members` clients in one group; one sends each phase's messages `intervalMs`
 * apart; for each, the time until the last (and the first) other member has it. Results by phase key.
 */
export async function groupFanout(peer: RunningPeer, opts: { members: number; phases: { key: string; messages: number; intervalMs: number }[] }) {
  const users = names("g", opts.members);
  await peer.register(users);
  const timer = new FanoutTimer();
  const senderClient = await peer.connect(users[0]!);
  const others = await connectMany(peer, users.slice(1), timer.note);
  const group = await peer.group(senderClient, others);
  await senderClient.send(group, "warm");
  await sleep(2_000);

  const results: Record<string, unknown> = {};
  try {
    for (const phase of opts.phases) {
      const timed = await timer.run((id) => senderClient.send(group, id), { ...phase, recipients: others.length, prefix: `${phase.key}-` });
      results[phase.key] = { members: opts.members, messages: phase.messages, interval_ms: phase.intervalMs, ...timed };
      await sleep(2_000);
    }
  } finally {
    for (const c of [...others, senderClient]) c.drop();
  }
  return results;
}

/**
 * Idle connections: `users × devicesPerUser` logged-in, available clients (as Parley's idle scenario:
 * each user's devices are XMPP resources, or more sockets of the user on a floor) that then do
 * nothing for `idleSeconds`. Memory is the server's resident set (its `serverPids`, else every
 * process in its group) with the clients connected minus before them (accounts already made); CPU
 * is the server's over the idle window, as a percentage of one core.
 */
export async function idleConnections(peer: RunningPeer, opts = { users: 1_000, devicesPerUser: 10, idleSeconds: 30 }) {
  const users = names("i", opts.users);
  const connections = opts.users * opts.devicesPerUser;
  // This process holds one descriptor per client socket (the servers get 65,536 at start).
  const limit = raiseOpenFileLimit(process.pid, connections + 4_096);
  if (limit < connections + 4_096) throw new Error(`this process may open only ${limit} files; ${connections + 4_096} needed (run as root, or lower BENCH_IDLE_USERS)`);
  await peer.register(users);
  await sleep(2_000);
  const before = serverUsage(peer);
  const devices = users.flatMap((user) => Array.from({ length: opts.devicesPerUser }, (_, d) => ({ user, device: `d${d}` })));
  const connectStart = performance.now();
  const deadline = Date.now() + 15 * 60_000;
  const clients: PeerClient[] = [];
  try {
    for (let i = 0; i < devices.length; i += 100) {
      if (Date.now() > deadline) throw new Error(`only ${clients.length} of ${connections} connected in 15 minutes`);
      clients.push(...(await Promise.all(devices.slice(i, i + 100).map((d) => peer.connect(d.user, { device: d.device })))));
    }
    const connectSeconds = (performance.now() - connectStart) / 1000;
    await sleep(5_000); // the logins' work done and their garbage collected before the window opens
    const start = serverUsage(peer);
    const t0 = performance.now();
    await sleep(opts.idleSeconds * 1000);
    const end = serverUsage(peer);
    const wallSeconds = (performance.now() - t0) / 1000;
    if (peer.process.exited()) throw new Error("the server exited while idle");
    return {
      connections,
      shape: `${opts.users} users × ${opts.devicesPerUser} devices`,
      connect_seconds: round(connectSeconds, 1),
      server_processes: end.processes,
      rss_before_mb: round(before.rssBytes / 2 ** 20, 1),
      rss_connected_mb: round(start.rssBytes / 2 ** 20, 1),
      rss_after_idle_mb: round(end.rssBytes / 2 ** 20, 1),
      bytes_per_connection: round((end.rssBytes - before.rssBytes) / connections, 0),
      pss_bytes_per_connection: round((end.pssBytes - before.pssBytes) / connections, 0),
      idle_seconds: round(wallSeconds, 1),
      idle_cpu_percent: round(((end.cpuSeconds - start.cpuSeconds) / wallSeconds) * 100, 2),
    };
  } finally {
    for (const c of clients) c.drop();
  }
}

/**
 * Catch-up: the recipient goes offline (a clean logout), `messages` messages are sent to it, then it
 * connects again. Timed from the start of its connection (TCP connect; for XMPP the login too, a
 * few round trips before the server replays) to the last message; checks they came in order.
 */
export async function catchUp(peer: RunningPeer, opts = { messages: 10_000 }) {
  await peer.register(["ca", "cb"]);
  const sender = await peer.connect("ca");
  const conversation = await peer.direct(sender, "cb");
  const first = await peer.connect("cb");
  await first.close();
  await sleep(500);
  const fillStart = performance.now();
  const sends = unawaitedSends();
  for (let n = 0; n < opts.messages; n += 500) {
    for (let k = n; k < Math.min(n + 500, opts.messages); k++) sends.send(sender, conversation, `c${k}`);
    await sender.roundTrip(); // bounded flight: the server has read everything sent so far
  }
  const fillSeconds = (performance.now() - fillStart) / 1000;
  await sleep(1_000); // storage written behind the round trip settles
  let expected = 0;
  let inOrder = true;
  const arrivals: number[] = [];
  const onMessage = (body: string) => {
    if (body !== `c${expected}`) inOrder = false;
    expected = Number(body.slice(1)) + 1;
    arrivals.push(performance.now());
  };
  const read0 = bytesReadBy(process.pid);
  const start = performance.now();
  const recipient = await peer.connect("cb", { onMessage });
  const online = performance.now();
  await waitFor(() => arrivals.length >= opts.messages, 120_000, `all ${opts.messages} stored messages`);
  const readBytes = bytesReadBy(process.pid) - read0;
  const last = arrivals[arrivals.length - 1]!;
  sender.drop();
  recipient.drop();
  return {
    messages: opts.messages,
    backlog_fill_msg_per_s: round(opts.messages / fillSeconds, 0),
    connect_ms: round(online - start),
    to_first_ms: round(arrivals[0]! - start),
    to_last_ms: round(last - start),
    msg_per_s: round((opts.messages / (last - start)) * 1000, 0),
    /** What this process read from its sockets during the catch-up, login included (read(2) bytes, /proc/self/io). */
    wire_bytes_per_message: round(readBytes / opts.messages, 0),
    in_order: inOrder,
  };
}

/**
 * Cold start: from spawning the server process (fresh data dir) to its first successful answer to a
 * real request (an in-band registration for XMPP; a room created on the floor), `runs` times.
 */
export async function coldStart(peer: Peer, opts = { runs: 3 }) {
  const samples: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const running = await peer.start();
    samples.push(running.coldStartMs);
    await running.stop();
  }
  return { runs: opts.runs, to_first_answer_ms: summarize(samples) };
}
