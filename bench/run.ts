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
import { Server, sleep } from "./lib";

const args = process.argv.slice(2);
const urlArg = args.find((a) => a.startsWith("--url="))?.slice(6);
const only = args.find((a) => a.startsWith("--only="))?.slice(7).split(",");
const wanted = (name: string) => !only || only.includes(name);

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const port = 8790 + Math.floor(Math.random() * 100);
  const state = mkdtempSync(join(tmpdir(), "parley-bench-"));
  await new Promise<void>((resolve, reject) => {
    const setup = spawn(process.execPath, ["scripts/dev-setup.mjs"], { stdio: "inherit" });
    setup.on("exit", (code) => (code === 0 ? resolve() : reject(new Error("dev-setup failed"))));
  });
  // The per-user send limit (20/s) would cap every scenario at one user's rate: raise it to measure
  // the system's capacity. (`--url` measures a server as it is configured.)
  const vars = ["--var", "SEND_BURST:1000000", "SEND_PER_SECOND:1000000"];
  const child = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--log-level", "warn", ...vars], {
    stdio: ["ignore", "inherit", "inherit"],
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    try {
      const res = await fetch(`${url}/api/v1/users/me`);
      if (res.status === 401) return { url, child };
    } catch {
      /* not up yet */
    }
    await sleep(500);
  }
  throw new Error("wrangler dev did not start within 60 s");
}

const defaultsOfGroup = () => ({
  members: Number(process.env.BENCH_GROUP_MEMBERS ?? 500),
  messages: Number(process.env.BENCH_GROUP_MESSAGES ?? 30),
  intervalMs: Number(process.env.BENCH_GROUP_INTERVAL_MS ?? 200),
});

async function main() {
  const started = urlArg ? null : await startServer();
  const server = new Server(urlArg ?? started!.url);
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
      results.group_fanout = await groupFanout(server, { ...defaultsOfGroup(), live: false });
      console.log("the same, members also watching the group's live socket …");
      results.group_fanout_live = await groupFanout(server, { ...defaultsOfGroup(), live: true });
    }
  } finally {
    if (started?.child.pid) process.kill(-started.child.pid, "SIGTERM");
  }
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
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
  writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
  console.log(`wrote ${file}`);
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
