/**
 * `npm run bench`: starts Parley with `wrangler dev` on a spare loopback port and fresh state
 * (or uses --url of a running `npm start`), runs each scenario, prints a table and writes
 * bench/results/<date>.json.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conversationThroughput, directLatency } from "./scenarios/direct";
import { groupFanout } from "./scenarios/group";
import { idleSockets } from "./scenarios/idle";
import { catchUp } from "./scenarios/catchup";
import { coldStart } from "./scenarios/coldStart";
import { Server, sleep } from "./lib";
import { peerTable, peerTableNotes, runPeers } from "./peers";

const args = process.argv.slice(2);
const urlArg = args.find((a) => a.startsWith("--url="))?.slice(6);
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
// --peers runs Prosody, ejabberd and the ws floor after Parley (--peers=prosody,ws-floor picks some);
// --peers-only skips Parley. --only= applies to both.
const peersOnly = args.includes("--peers-only");
const peersArg = args.find((a) => a === "--peers" || a.startsWith("--peers="));
const peerNames = peersArg?.startsWith("--peers=") ? peersArg.slice(8).split(",") : undefined;
const wantedAnywhere = (name: string) => !only || only.includes(name);
const wanted = (name: string) => !peersOnly && wantedAnywhere(name);

/** Starts the server as `npm start` does (scripts/server.ts), on fresh state or on `state` left by an earlier start (a restart). */
async function startServer(state = mkdtempSync(join(tmpdir(), "parley-bench-"))): Promise<{ url: string; child: ChildProcess; state: string }> {
  const port = 8790 + Math.floor(Math.random() * 100);
  // The per-user send limit (20/s) would cap every scenario at one user's rate: raise it to measure
  // the system's capacity. (`--url` measures a server as it is configured.)
  const vars = ["--var=SEND_BURST:1000000", "--var=SEND_PER_SECOND:1000000"];
  const child = spawn(process.execPath, ["scripts/server.ts", `--port=${port}`, `--persist-to=${state}`, ...vars], {
    // Its stdout is a line per request: not the bench's business.
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before it was up`);
    try {
      const res = await fetch(`${url}/api/v1/users/me`);
      if (res.status === 401) return { url, child, state };
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error("the server did not start within 60 s");
}

const defaultsOfGroup = () => ({
  members: Number(process.env.BENCH_GROUP_MEMBERS ?? 500),
  messages: Number(process.env.BENCH_GROUP_MESSAGES ?? 30),
  intervalMs: Number(process.env.BENCH_GROUP_INTERVAL_MS ?? 200),
});

/**
 * Stops the whole process group of a server this run started and waits (bounded) until every
 * process in it has gone, so a restart on the same state finds its sockets free.
 */
async function stopServer(child: ChildProcess) {
  const group = -child.pid!;
  const signal = (sig: NodeJS.Signals | 0) => {
    try {
      process.kill(group, sig);
      return true;
    } catch {
      return false; // no process left in the group
    }
  };
  signal("SIGTERM");
  for (let i = 0; i < 100 && signal(0); i++) await sleep(100);
  if (signal("SIGKILL")) for (let i = 0; i < 50 && signal(0); i++) await sleep(100);
}

async function main() {
  let started = urlArg || peersOnly ? null : await startServer();
  let server = new Server(urlArg ?? started?.url ?? "http://127.0.0.1:0");
  /**
   * A new process on the same persisted state (not with --url): the idle scenario takes a fresh
   * process per variant, the cold-start scenario times the first requests after it. Later
   * scenarios use the new server.
   */
  const restart = started
    ? async () => {
        await stopServer(started!.child);
        const state = started!.state;
        started = await startServer(state).catch(() => startServer(state)); // once more if it lost a race for a port
        return (server = new Server(started.url));
      }
    : undefined;
  const results: Record<string, unknown> = {};
  try {
    if (wanted("latency")) {
      console.log("1:1 latency, 100 msg/s over 20 pairs …");
      results.direct_latency = await directLatency(server);
    }
    if (wanted("throughput")) {
      console.log("one conversation, highest sustained rate with durable acks …");
      results.conversation_throughput = await conversationThroughput(server);
      console.log("one conversation, sends made 50 per turn (one socket message each) …");
      results.conversation_throughput_batched = await conversationThroughput(server, { messages: 20_000, window: 2_000, burst: 50 });
    }
    if (wanted("group")) {
      const g = defaultsOfGroup();
      console.log(`${g.members}-member group fan-out, ${g.messages} messages ${g.intervalMs} ms apart …`);
      results.group_fanout = await groupFanout(server, { ...defaultsOfGroup(), live: false, profile: !!process.env.BENCH_GROUP_PROFILE });
      console.log("the same, members also watching the group's live socket …");
      results.group_fanout_live = await groupFanout(server, { ...defaultsOfGroup(), live: true });
    }
    if (wanted("idle")) {
      const users = Number(process.env.BENCH_IDLE_USERS ?? 1_000);
      const devicesPerUser = Number(process.env.BENCH_IDLE_DEVICES ?? 10);
      const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
      console.log(`idle device sockets: ${users} users × ${devicesPerUser} devices, memory and ${idleSeconds} s of idle CPU …`);
      results.idle_sockets = await idleSockets(server, { users, devicesPerUser, idleSeconds, connectConcurrency: 100 }, restart);
    }
    if (wanted("catchup")) {
      const messages = Number(process.env.BENCH_CATCHUP_MESSAGES ?? 10_000);
      console.log(`catch-up: a device offline for ${messages} messages reconnects …`);
      results.catch_up = await catchUp(server, { messages, burst: 100, samples: 3, settleMs: 12_000, profile: !!process.env.BENCH_CATCHUP_PROFILE });
    }
    if (wanted("cold")) {
      console.log("cold start: first request to evicted objects, and after a restart …");
      results.cold_start = await coldStart(server, { samples: Number(process.env.BENCH_COLD_SAMPLES ?? 5), warmPerSample: 3 }, restart);
    }
  } finally {
    if (started?.child.pid) await stopServer(started.child);
  }
  const peers =
    peersArg || peersOnly
      ? await runPeers({
          peers: peerNames,
          wanted: wantedAnywhere,
          group: defaultsOfGroup(),
          idle: {
            users: Number(process.env.BENCH_IDLE_USERS ?? 1_000),
            devicesPerUser: Number(process.env.BENCH_IDLE_DEVICES ?? 10),
            idleSeconds: Number(process.env.BENCH_IDLE_SECONDS ?? 30),
          },
          catchUpMessages: Number(process.env.BENCH_CATCHUP_MESSAGES ?? 10_000),
          coldStartRuns: Number(process.env.BENCH_PEERS_COLD_RUNS ?? 5),
        })
      : undefined;
  const d = results.direct_latency as Awaited<ReturnType<typeof directLatency>> | undefined;
  const t = results.conversation_throughput as Awaited<ReturnType<typeof conversationThroughput>> | undefined;
  const tb = results.conversation_throughput_batched as Awaited<ReturnType<typeof conversationThroughput>> | undefined;
  const rows = [["scenario", "figure", "value"]];
  if (d) {
    rows.push(["1:1 send→receive (100 msg/s, 20 pairs)", "p50 / p95 / p99 ms", `${d.deliver_ms.p50} / ${d.deliver_ms.p95} / ${d.deliver_ms.p99}`]);
    rows.push(["1:1 send→durable ack", "p50 / p99 ms", `${d.ack_ms.p50} / ${d.ack_ms.p99}`]);
  }
  for (const [label, r] of [["sends one at a time", t], ["sends 50 per turn", tb]] as const) {
    if (!r) continue;
    rows.push([`one conversation, durable acks (${label})`, "msg/s acked / received", `${r.acked_per_s} / ${r.delivered_per_s}`]);
  }
  for (const key of ["group_fanout", "group_fanout_live"]) {
    const g = results[key] as Awaited<ReturnType<typeof groupFanout>> | undefined;
    if (!g) continue;
    rows.push([`${g.members}-member group (${g.sockets}), send→last member`, "p50 / p99 ms", `${g.to_last_member_ms.p50} / ${g.to_last_member_ms.p99}`]);
    rows.push([`${g.members}-member group (${g.sockets}), send→first member`, "p50 / p99 ms", `${g.to_first_member_ms.p50} / ${g.to_first_member_ms.p99}`]);
    rows.push([`${g.members}-member group (${g.sockets})`, "deliveries/s", String(g.deliveries_per_s)]);
  }
  const idle = results.idle_sockets as Awaited<ReturnType<typeof idleSockets>> | undefined;
  for (const v of idle?.variants ?? []) {
    if (!("sockets" in v)) continue;
    const b = v.bytes_per_socket;
    rows.push([`${b.sockets} idle sockets: ${v.variant}`, "bytes/socket allocated / JS heap / RSS", `${b.allocated} / ${b.js_heap} / ${b.rss}`]);
    rows.push([`same, ${v.sockets} open, ${Math.round(v.idle.wall_ms / 1000)} s idle`, "server CPU, % of a core", String(v.idle.server_core_percent)]);
  }
  const caught = results.catch_up as Awaited<ReturnType<typeof catchUp>> | undefined;
  if (caught) {
    rows.push([`catch-up of ${caught.messages} messages, SDK (median of ${caught.samples.length})`, "msg/s", String(caught.msg_per_s)]);
    const direct = caught.bare_socket_bypassing_proxy?.msg_per_s ?? "–";
    rows.push([`same, bare socket: v2 / v1 via wrangler's proxy / v2 straight to the runtime`, "msg/s", `${caught.bare_socket.msg_per_s} / ${caught.bare_socket_one_frame_per_message.msg_per_s} / ${direct}`]);
    const alone = caught.client_alone;
    rows.push([`same frames from a stand-in server, SDK: one write / write per frame`, "msg/s", `${alone.one_write.sdk.msg_per_s} / ${alone.one_write_per_frame.sdk.msg_per_s}`]);
  }
  const cold = results.cold_start as Awaited<ReturnType<typeof coldStart>> | undefined;
  if (cold) {
    rows.push(["history page, evicted / warm objects", "p50 ms", `${cold.cold_history_ms.p50} / ${cold.warm_history_ms.p50}`]);
    rows.push(["send→ack, evicted / warm objects", "p50 ms", `${cold.cold_ack_ms.p50} / ${cold.warm_ack_ms.p50}`]);
    rows.push(["send→receive, evicted / warm objects", "p50 ms", `${cold.cold_receive_ms.p50} / ${cold.warm_receive_ms.p50}`]);
    const r = cold.after_restart;
    if (r) rows.push(["after a restart: ready / first history / first ack", "ms", `${r.ready_ms} / ${r.first_history_ms} / ${r.first_ack_ms}`]);
  }
  const printTable = (table: string[][]) => {
    const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
    for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  };
  if (rows.length > 1) printTable(rows);
  if (peers) {
    console.log("\nParley and its peers");
    printTable(peerTable(results, peers));
    for (const note of peerTableNotes(peers)) console.log(`  ${note}`);
  }
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), results: peers ? { ...results, peers } : results }, null, 2));
  console.log(`wrote ${file}`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
