/**
 * `npm run bench`: starts Parley as `npm start` does (scripts/server.ts) on a spare loopback port and
 * fresh state (or uses --url of a running `npm start`), runs each scenario, prints a table and
 * writes bench/results/<date>.json. With --peers, the same scenarios against Prosody, ejabberd and
 * the ws floor, and one table with ratios.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { Limits } from "../src/protocol";
import { conversationThroughput, directLatency, pairsThroughput } from "./scenarios/direct";
import { groupFanout, type GroupPhase } from "./scenarios/group";
import { idleSockets } from "./scenarios/idle";
import { catchUp, catchUpWire } from "./scenarios/catchup";
import { coldStart } from "./scenarios/coldStart";
import { BenchServer, RAISED_LIMITS } from "./localServer";
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

/** Sizes, from the environment (small ones to try a change; the defaults are the issue's). */
const size = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const SIZES = {
  pairs: { pairs: 20, window: 10, perPair: size("BENCH_PAIRS_MESSAGES", 2_000) },
  conversationMessages: size("BENCH_THROUGHPUT_MESSAGES", 20_000),
  group: {
    members: size("BENCH_GROUP_MEMBERS", 500),
    phases: [
      { key: "group_fanout", messages: size("BENCH_GROUP_MESSAGES", 30), intervalMs: size("BENCH_GROUP_INTERVAL_MS", 200) },
      { key: "group_fanout_fast", messages: size("BENCH_GROUP_FAST_MESSAGES", 100), intervalMs: size("BENCH_GROUP_FAST_INTERVAL_MS", 50) },
    ],
  },
  idle: { users: size("BENCH_IDLE_USERS", 800), devicesPerUser: size("BENCH_IDLE_DEVICES", 10), idleSeconds: size("BENCH_IDLE_SECONDS", Limits.heartbeatIntervalMs / 1000) },
  catchUpMessages: size("BENCH_CATCHUP_MESSAGES", 10_000),
  cold: { samples: size("BENCH_COLD_SAMPLES", 5), warmPerSample: 3, restarts: size("BENCH_RESTARTS", 3) },
};

type Results = Record<string, unknown>;

/**
 * Runs one scenario, keeping its results (or its error: one failure does not lose a long run).
 */
async function scenario(results: Results, label: string, run: () => Promise<Results>) {
  console.log(`${label} …`);
  try {
    Object.assign(results, await run());
  } catch (err) {
    console.log(`  failed: ${(err as Error).stack ?? String(err)}`);
    ((results.errors ??= []) as { scenario: string; error: string }[]).push({ scenario: label, error: (err as Error).message || String(err) });
  }
}

async function runParley(bench: BenchServer, results: Results) {
  const plain = () => bench.with({});
  results.server = {
    /** Null when the bench started the server. */
    url: urlArg ?? null,
    shards: bench.timing?.shards ?? null,
    raised_limits: urlArg ? {} : RAISED_LIMITS,
    defaults: `npm start: a burst of ${Limits.sendBurst}, then ${Limits.sendPerSecond} msg/s per user`,
    first_start: bench.timing,
  };
  if (wanted("latency")) {
    await scenario(results, "1:1 latency, 100 msg/s over 20 pairs (then its commits counted)", async () => ({ direct_latency: await directLatency(await plain()) }));
  }
  if (wanted("throughput")) {
    const p = SIZES.pairs;
    const profile = !!process.env.BENCH_PAIRS_PROFILE;
    await scenario(results, `1:1 throughput: ${p.pairs} pairs, ${p.window} unacked each, ${p.perPair} messages each (then its commits counted)`, async () => ({
      pairs_throughput: await pairsThroughput(await bench.with({ inspect: profile }), { ...p, profile }),
    }));
    const messages = SIZES.conversationMessages;
    await scenario(results, "one conversation, highest sustained rate with durable acks, one send per turn", async () => ({
      conversation_throughput: await conversationThroughput(await plain(), { messages, window: 2_000, burst: 1 }),
    }));
    await scenario(results, "one conversation, sends made 50 per turn (one socket message each)", async () => ({
      conversation_throughput_batched: await conversationThroughput(await plain(), { messages, window: 2_000, burst: 50 }),
    }));
  }
  if (wanted("group")) {
    const g = SIZES.group;
    const profile = !!process.env.BENCH_GROUP_PROFILE;
    const phases: GroupPhase[] = [...g.phases, { ...g.phases[0]!, key: "group_fanout_live", live: true }];
    const described = phases.map((ph) => `${ph.messages} messages ${ph.intervalMs} ms apart${ph.live ? " (live sockets too)" : ""}`).join(", ");
    await scenario(results, `${g.members}-member group fan-out: ${described}`, async () =>
      groupFanout(await bench.with({ inspect: profile }), { members: g.members, phases, profile }),
    );
  }
  if (wanted("idle")) {
    const i = SIZES.idle;
    await scenario(results, `idle device sockets: ${i.users} users × ${i.devicesPerUser} devices, memory and ${i.idleSeconds} s of idle CPU`, async () => ({
      idle_sockets: await idleSockets(bench, { ...i, connectConcurrency: 100 }),
    }));
  }
  if (wanted("catchup")) {
    const opts = { messages: SIZES.catchUpMessages, burst: 100, samples: 3, settleMs: 12_000, profile: !!process.env.BENCH_CATCHUP_PROFILE };
    await scenario(results, `catch-up: a device offline for ${opts.messages} messages reconnects`, async () => ({
      catch_up: await catchUp(await bench.with({ inspect: opts.profile }), opts),
    }));
    if (bench.restartable) {
      await scenario(results, "the same catch-up with permessage-deflate (--ws-compression): bytes on the wire", async () => ({
        catch_up_deflate: await catchUpWire(await bench.with({ wsCompression: true }), opts),
      }));
    }
  }
  if (wanted("cold")) {
    await scenario(results, "cold start: first requests to evicted objects, and restarts on the same state", async () => ({
      cold_start: await coldStart(bench, SIZES.cold),
    }));
  }
}

/** Parley's own table: every figure, with the detail the comparison leaves out. */
function parleyRows(results: Results): string[][] {
  const r = results as Record<string, any>;
  const rows = [["scenario", "figure", "value"]];
  const d = r.direct_latency;
  if (d) {
    rows.push(["1:1 send→receive (100 msg/s, 20 pairs)", "p50 / p95 / p99 ms", `${d.deliver_ms.p50} / ${d.deliver_ms.p95} / ${d.deliver_ms.p99}`]);
    rows.push(["1:1 send→durable ack", "p50 / p99 ms", `${d.ack_ms.p50} / ${d.ack_ms.p99}`]);
    rows.push(["same traffic, commits (fsync + fdatasync)", "per message", String(d.commits.per_message ?? d.commits.unavailable)]);
  }
  const p = r.pairs_throughput;
  if (p) {
    rows.push([`1:1 throughput, ${p.pairs} pairs × ${p.window} unacked, one frame per message`, "msg/s acked / delivered", `${p.acked_per_s} / ${p.delivered_per_s}`]);
    rows.push(["same, runtime CPU per message: user + system", "µs", `${p.server_user_us_per_message} + ${p.server_system_us_per_message} (${p.server_core_percent}% of a core)`]);
    rows.push(["same, commits (fsync + fdatasync)", "per message", String(p.commits.per_message ?? p.commits.unavailable)]);
  }
  for (const [label, t] of [["one send per turn", r.conversation_throughput], ["sends 50 per turn", r.conversation_throughput_batched]]) {
    if (t) rows.push([`one conversation, durable acks (${label})`, "msg/s acked / received", `${t.acked_per_s} / ${t.delivered_per_s}`]);
  }
  for (const key of ["group_fanout", "group_fanout_fast", "group_fanout_live"]) {
    const g = r[key];
    if (!g) continue;
    const what = `${g.members}-member group, ${g.messages} msgs ${g.interval_ms} ms apart (${g.sockets})`;
    rows.push([`${what}, send→last member`, "p50 / p99 ms", `${g.to_last_member_ms.p50} / ${g.to_last_member_ms.p99}`]);
    rows.push([`${what}, send→first member`, "p50 / p99 ms", `${g.to_first_member_ms.p50} / ${g.to_first_member_ms.p99}`]);
    rows.push([what, "deliveries/s", String(g.deliveries_per_s)]);
  }
  for (const key of ["refused", "deflate"]) {
    const v = r.idle_sockets?.[key];
    if (!v) continue;
    const b = v.bytes_per_socket;
    rows.push([`${b.sockets} idle sockets, ${v.variant}`, "bytes/socket RSS / allocated / JS heap", `${b.rss} / ${b.allocated} / ${b.js_heap}`]);
    rows.push([`same, ${v.sockets} open, ${Math.round(v.idle.wall_ms / 1000)} s idle`, "runtime CPU, % of a core", String(v.idle.server_core_percent)]);
  }
  const c = r.catch_up;
  if (c) {
    rows.push([`catch-up of ${c.messages} messages, SDK (median of ${c.samples.length})`, "msg/s", String(c.msg_per_s)]);
    rows.push(["same, bare socket: parley.v2 / parley.v1", "msg/s", `${c.bare_socket.msg_per_s} / ${c.bare_socket_one_frame_per_message.msg_per_s}`]);
    const alone = c.client_alone;
    rows.push(["same frames from a stand-in server, SDK: one write / write per frame", "msg/s", `${alone.one_write.sdk.msg_per_s} / ${alone.one_write_per_frame.sdk.msg_per_s}`]);
    const deflate = r.catch_up_deflate;
    rows.push(["same, bytes on the wire per message: uncompressed / permessage-deflate", "bytes", `${c.wire_bytes_per_message} / ${deflate?.wire_bytes_per_message ?? "–"}`]);
  }
  const cold = r.cold_start;
  if (cold) {
    rows.push(["history page, evicted / warm objects", "p50 ms", `${cold.cold_history_ms.p50} / ${cold.warm_history_ms.p50}`]);
    rows.push(["send→ack, evicted / warm objects", "p50 ms", `${cold.cold_ack_ms.p50} / ${cold.warm_ack_ms.p50}`]);
    rows.push(["send→receive, evicted / warm objects", "p50 ms", `${cold.cold_receive_ms.p50} / ${cold.warm_receive_ms.p50}`]);
    const a = cold.after_restart;
    if (a) rows.push(["restart on the same state: spawn→ready (p50) / first history / first ack", "ms", `${a.ready_ms} / ${a.first_history_ms} / ${a.first_ack_ms}`]);
  }
  for (const e of r.errors ?? []) rows.push([e.scenario, "failed", e.error.split("\n")[0]]);
  return rows;
}

function printTable(table: string[][]) {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
}

async function main() {
  const results: Results = {};
  if (!peersOnly) {
    const bench = urlArg ? BenchServer.attach(urlArg) : await BenchServer.start();
    try {
      await runParley(bench, results);
    } finally {
      await bench.stop();
    }
  }
  const peers =
    peersArg || peersOnly
      ? await runPeers({
          peers: peerNames,
          wanted: wantedAnywhere,
          pairs: SIZES.pairs,
          conversationMessages: SIZES.conversationMessages,
          group: SIZES.group,
          idle: SIZES.idle,
          catchUpMessages: SIZES.catchUpMessages,
          coldStartRuns: size("BENCH_PEERS_COLD_RUNS", 5),
        })
      : undefined;
  const rows = parleyRows(results);
  if (rows.length > 1) printTable(rows);
  if (peers) {
    console.log("\nParley and its peers");
    printTable(peerTable(results, peers));
    for (const note of peerTableNotes(results, peers)) console.log(`  ${note}`);
  }
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), sizes: SIZES, results: peers ? { ...results, peers } : results }, null, 2));
  console.log(`wrote ${file}`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
