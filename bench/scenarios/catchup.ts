import { ParleyClient, Subprotocol, type SocketLike } from "../../src/client";
import { startFrameReplayProcess } from "../frameReplayServer";
import { WorkerInspector } from "../inspector";
import { round, Server, sleep, SocketMeter, waitFor, type Account } from "../lib";
import { findRuntime, usageMeter, type ServerProcess } from "../serverProcesses";

export interface CatchUpOptions {
  messages: number;
  /** Sends made per turn while filling a backlog (the SDK sends them as one socket message). */
  burst: number;
  /** Catch-ups measured with the SDK, each on a backlog of its own. */
  samples: number;
  /** Let the objects be evicted before each catch-up, as after a real absence (ms). */
  settleMs: number;
  /** Profile the runtime's JavaScript during one more catch-up. */
  profile: boolean;
}

/** Who catches up on what: B and the conversation with the backlog. */
interface Reader {
  account: Account;
  conversation: string;
}

interface Backlog extends Reader {
  fillSeconds: number;
}

/** B's device: it connects once, goes offline, and comes back to a backlog. */
const DEVICE = "catchup-phone";

/**
 * Catch-up: user A sends `messages` messages to B in a 1:1 while B's only device is offline; the
 * device reconnects, and we time from its socket opening until the client holds all of them, in
 * order, with no gap. Every catch-up gets a backlog of its own (a new pair of users), so each one
 * moves B's cursors from 0 as a real reconnect does.
 *
 * To show where the time goes, a backlog is also taken by a bare WebSocket that only parses what
 * arrives (no SDK, no acknowledgements), on parley.v2 (pages as arrays of frames) and parley.v1
 * (one frame per socket message); and the socket messages the server sent are replayed to the
 * client by a stand-in server that costs nothing per message, in one write or one write each (the
 * client's own limit), and fed to the SDK on an in-memory socket (the SDK alone).
 */
export async function catchUp(server: Server, opts: CatchUpOptions) {
  const processes = [findRuntime(server.base, server.pid)];
  const runtime = processes[0]!;
  const backlog = () => fillBacklog(server, opts);

  console.log(`  ${opts.samples} catch-ups of ${opts.messages} messages through the SDK …`);
  const samples = [];
  let frames: string[] = [];
  let fillSeconds = 0;
  for (let i = 0; i < opts.samples; i++) {
    const b = await backlog();
    fillSeconds += b.fillSeconds;
    const sample = await sdkCatchUp(server, processes, b, opts.messages, i === 0);
    if (i === 0) frames = sample.frames;
    samples.push(sample.result);
  }
  console.log("  the same on a bare socket: parley.v2 and parley.v1 …");
  const bare = await bareCatchUp(server.base, processes, await backlog(), opts.messages);
  const bareSingle = await bareCatchUp(server.base, processes, await backlog(), opts.messages, Subprotocol.single);
  const clientAlone = await clientAgainstStandIn(frames, opts.messages);

  let profile;
  if (opts.profile) {
    const b = await backlog();
    const inspector = await WorkerInspector.attach(runtime.pid, server.base);
    try {
      await inspector.startProfile();
      const sample = await sdkCatchUp(server, processes, b, opts.messages, false);
      // The replay loop and what it calls, against the handling of the device's acknowledgements.
      const inclusiveOf = ["replayConversation", "history", "webSocketMessage", "updateCursor", "unreadCount", "notifySenders"];
      profile = { ...(await inspector.stopProfile(20, inclusiveOf)), sdk: sample.result };
    } finally {
      inspector.close();
    }
  }

  const sorted = [...samples].sort((x, y) => x.msg_per_s - y.msg_per_s);
  return {
    messages: opts.messages,
    backlog_fill_msg_per_s: round((opts.samples * opts.messages) / fillSeconds, 0),
    msg_per_s: sorted[Math.floor(sorted.length / 2)]!.msg_per_s,
    ...wireFigures(samples[0]!, opts.messages),
    samples,
    bare_socket: bare,
    bare_socket_one_frame_per_message: bareSingle,
    client_alone: clientAlone,
    ...(profile ? { profile } : {}),
  };
}

/**
 * What a catch-up of `messages` costs on the wire: one SDK catch-up on a backlog of its own (run
 * against a server with and without permessage-deflate, it is the other half of the compression
 * decision, beside memory per idle socket).
 */
export async function catchUpWire(server: Server, opts: CatchUpOptions) {
  const sample = await sdkCatchUp(server, [findRuntime(server.base, server.pid)], await fillBacklog(server, opts), opts.messages, false);
  return { messages: opts.messages, msg_per_s: sample.result.msg_per_s, ...wireFigures(sample.result, opts.messages), sample: sample.result };
}

/** Text of the frames, and what the client read from its socket (compressed, where negotiated). */
function wireFigures(sample: { bytes_in: number; client_read_bytes: number; negotiated_extensions: string }, messages: number) {
  return {
    negotiated_extensions: sample.negotiated_extensions,
    frame_bytes_per_message: round(sample.bytes_in / messages, 0),
    wire_bytes_per_message: round(sample.client_read_bytes / messages, 0),
    wire_bytes: sample.client_read_bytes,
  };
}

/** A new pair; B's device connects once and leaves; A sends the backlog; the objects are evicted. */
async function fillBacklog(server: Server, opts: CatchUpOptions): Promise<Backlog> {
  const [a, b] = await Promise.all([server.register("ca"), server.register("cb")]);
  const conversation = await server.direct(a, b);
  (await server.client(b, DEVICE)).stop();
  const sender = await server.client(a, "catchup-sender");
  let acked = 0;
  sender.on("sent", () => acked++);
  const window = 2_000;
  const deadline = Date.now() + 180_000;
  const start = performance.now();
  let sent = 0;
  try {
    while (sent < opts.messages) {
      if (Date.now() > deadline) throw new Error("filling the catch-up backlog exceeded 180 s");
      while (sent < opts.messages && sent - acked < window) {
        const n = Math.min(opts.burst, opts.messages - sent);
        await Promise.all(Array.from({ length: n }, (_, k) => sender.send(conversation, `m${sent + k + 1}`)));
        sent += n;
      }
      await sleep(1);
    }
    await waitFor(() => acked >= opts.messages, 60_000, "every backlog ack");
  } finally {
    sender.stop();
  }
  const fillSeconds = (performance.now() - start) / 1000;
  // Fan-out runs after the acks: wait until B's inbox holds the last message, then for eviction.
  const inboxDeadline = Date.now() + 60_000;
  for (;;) {
    const { conversations } = await server.rest(b).call("listConversations");
    if (conversations.find((c) => c.conversation_id === conversation)?.last_message?.seq === opts.messages) break;
    if (Date.now() > inboxDeadline) throw new Error("fan-out did not reach the recipient's inbox within 60 s");
    await sleep(200);
  }
  await sleep(opts.settleMs);
  return { account: b, conversation, fillSeconds };
}

/** B's device catching up through the SDK, as an app does (it acknowledges `delivered` as it goes). */
async function sdkCatchUp(server: Server, processes: ServerProcess[], reader: Reader, messages: number, capture: boolean) {
  const { account: b, conversation } = reader;
  const sockets = new SocketMeter();
  if (capture) sockets.captured = [];
  const client = new ParleyClient({ baseUrl: server.base, token: b.token, user: b.user, deviceId: DEVICE, createSocket: sockets.factory });
  let expected = 1;
  let inOrder = true;
  let firstAt = NaN;
  let lastAt = NaN;
  client.on("message", (m) => {
    if (m.conversation_id !== conversation) return;
    if (m.seq !== expected) inOrder = false;
    expected = m.seq + 1;
    if (Number.isNaN(firstAt)) firstAt = performance.now();
    lastAt = performance.now();
  });
  const meter = usageMeter([...processes, { pid: process.pid, role: "client" }]);
  await client.start();
  try {
    await waitFor(() => client.contiguousSeq(conversation) === messages, 120_000, "the device to catch up");
  } finally {
    client.stop();
  }
  const usage = meter.stop();
  const ms = lastAt - sockets.openedAt;
  return {
    frames: sockets.captured ?? [],
    result: {
      ms: Math.round(ms),
      msg_per_s: round((messages * 1000) / ms, 0),
      first_message_ms: Math.round(firstAt - sockets.openedAt),
      in_order_no_gaps: inOrder && expected === messages + 1,
      frames_in: sockets.framesIn,
      bytes_in: sockets.bytesIn,
      negotiated_extensions: sockets.extensions,
      acks_out: sockets.framesOut,
      ...usageFigures(usage),
    },
  };
}

/**
 * A catch-up on a bare WebSocket that only parses each socket message and checks the seqs (no
 * validation, no timeline, no `delivered` acknowledgements). `subprotocol` parley.v2 lets the
 * server send arrays of frames; parley.v1 gets one frame per socket message.
 */
async function bareCatchUp(base: string, processes: ServerProcess[], reader: Reader, messages: number, subprotocol: string = Subprotocol.batched) {
  const { account: b, conversation } = reader;
  const url = new URL(`/api/v1/ws?device_id=${DEVICE}`, base);
  url.protocol = "ws:";
  const meter = usageMeter([...processes, { pid: process.pid, role: "client" }]);
  const ws = new WebSocket(url, [subprotocol, `bearer.${b.token}`]);
  let openedAt = NaN;
  let lastAt = NaN;
  let expected = 1;
  let inOrder = true;
  let socketMessages = 0;
  ws.addEventListener("open", () => (openedAt = performance.now()));
  ws.addEventListener("message", (event) => {
    socketMessages++;
    type Frame = { type: string; conversation_id?: string; seq?: number };
    const json = JSON.parse(String(event.data)) as Frame | Frame[];
    for (const frame of Array.isArray(json) ? json : [json]) {
      if (frame.type !== "new_message" || frame.conversation_id !== conversation) continue;
      if (frame.seq !== expected) inOrder = false;
      expected = frame.seq! + 1;
      lastAt = performance.now();
    }
  });
  try {
    await waitFor(() => expected > messages, 120_000, "the bare socket to catch up");
  } finally {
    ws.close();
  }
  const usage = meter.stop();
  const ms = lastAt - openedAt;
  return {
    url: base,
    subprotocol,
    ms: Math.round(ms),
    msg_per_s: round((messages * 1000) / ms, 0),
    in_order_no_gaps: inOrder,
    socket_messages: socketMessages,
    ...usageFigures(usage),
  };
}

/** CPU and system calls per process; what the client read from its sockets (wire bytes). */
function usageFigures(usage: ReturnType<ReturnType<typeof usageMeter>["stop"]>) {
  const client = usage.processes.find((p) => p.role === "client")!;
  return {
    server_cpu_ms: usage.cpu_ms,
    client_cpu_ms: client.cpu_ms,
    client_read_bytes: client.read_bytes,
    by_process: usage.processes.map((p) => `${p.role}: ${p.cpu_ms} ms CPU, ${p.read_calls} reads, ${p.write_calls} writes`),
  };
}

/**
 * The client's own limits: the captured frames from a stand-in server (in one write, or one write
 * per frame), and fed to the SDK with no socket at all.
 */
async function clientAgainstStandIn(frames: string[], messages: number) {
  const first = JSON.parse(frames.find((f) => f.includes('"new_message"'))!) as { conversation_id: string } | { conversation_id: string }[];
  const conversation = (Array.isArray(first) ? first[0]! : first).conversation_id;
  const reader: Reader = { account: { user: { user_id: "u_standin", username: "standin", display_name: "standin" }, token: "standin" }, conversation };
  const against = async (oneWritePerFrame: boolean) => {
    const standIn = await startFrameReplayProcess(frames, oneWritePerFrame);
    try {
      const bare = await bareCatchUp(standIn.base, [], reader, messages);
      const sdk = await sdkCatchUp(new Server(standIn.base), [], reader, messages, false);
      return {
        bare_socket: { msg_per_s: bare.msg_per_s, client: bare.by_process[0]! },
        sdk: { msg_per_s: sdk.result.msg_per_s, client: sdk.result.by_process[0]! },
      };
    } finally {
      standIn.close();
    }
  };
  return {
    one_write: await against(false),
    one_write_per_frame: await against(true),
    sdk_in_memory: await sdkInMemory(reader, frames, messages),
  };
}

/** The SDK's own cost: the frames fed to a client on an in-memory socket, no server at all. */
async function sdkInMemory(reader: Reader, frames: string[], messages: number) {
  let socket: MemorySocket | null = null;
  const client = new ParleyClient({
    baseUrl: "http://127.0.0.1:9",
    token: reader.account.token,
    user: reader.account.user,
    deviceId: DEVICE,
    createSocket: () => (socket = new MemorySocket()),
  });
  await client.start();
  await waitFor(() => socket !== null && client.connectionState === "open", 5_000, "the in-memory socket");
  const clientCpu = process.cpuUsage();
  const start = performance.now();
  for (const frame of frames) socket!.receive(frame);
  const ms = performance.now() - start;
  const clientUsage = process.cpuUsage(clientCpu);
  const heldAll = client.contiguousSeq(reader.conversation) === messages;
  client.stop();
  if (!heldAll) throw new Error("the in-memory replay lost messages");
  return { msg_per_s: round((messages * 1000) / ms, 0), client_cpu_ms: Math.round((clientUsage.user + clientUsage.system) / 1000) };
}

/** A socket that opens at once and delivers whatever `receive` is given, synchronously. */
class MemorySocket implements SocketLike {
  readyState = 0;
  private readonly listeners = new Map<string, ((event: any) => void)[]>();

  constructor() {
    setTimeout(() => {
      this.readyState = 1;
      this.dispatch("open", {});
    }, 0);
  }

  addEventListener(type: string, listener: (event: any) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send() {}

  close() {
    this.readyState = 3;
  }

  receive(data: string) {
    this.dispatch("message", { data });
  }

  private dispatch(type: string, event: object) {
    for (const l of this.listeners.get(type) ?? []) l(event);
  }
}
