/**
 * The comparison table: one row per figure, one column per system, and how Parley stands against
 * the best real peer (Prosody or ejabberd) and against the floor. A ratio says "N× better" or
 * "N× worse" so its direction never has to be remembered.
 */
import type { PeerReport } from "./index";

type Results = Record<string, unknown>;

interface Row {
  label: string;
  unit: string;
  better: "lower" | "higher";
  parley: (r: Results) => number | undefined;
  peer: (r: Results) => number | undefined;
}

/** Reads a number at a dotted path, or undefined. */
function at(results: Results, path: string): number | undefined {
  let v: unknown = results;
  for (const key of path.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Parley's figure at one path, the peers' at the first of the others that a peer has (or none). */
const paths = (parley: string, ...peer: string[]) => ({
  parley: (r: Results) => at(r, parley),
  peer: (r: Results) => peer.map((path) => at(r, path)).find((v) => v !== undefined),
});
const same = (path: string) => paths(path, path);
const parleyOnly = (path: string) => paths(path);

function rowsFor(parley: Results, peers: Record<string, PeerReport>): Row[] {
  const fromAny = (path: string) => at(parley, path) ?? Object.values(peers).map((p) => at(p.results, path)).find((m) => m !== undefined);
  const group = `${fromAny("group_fanout.members") ?? "?"}-member group`;
  const perSecond = (key: string) => {
    const interval = fromAny(`${key}.interval_ms`);
    return interval ? `${Math.round(1000 / interval)} msg/s` : "";
  };
  const pairs = `${fromAny("pairs_throughput.pairs") ?? "?"} pairs, ${fromAny("pairs_throughput.window") ?? "?"} in flight each`;
  return [
    { label: "1:1 send→receive p50 (100 msg/s, 20 pairs)", unit: "ms", better: "lower", ...same("direct_latency.deliver_ms.p50") },
    { label: "1:1 send→receive p95", unit: "ms", better: "lower", ...same("direct_latency.deliver_ms.p95") },
    { label: "1:1 send→receive p99", unit: "ms", better: "lower", ...same("direct_latency.deliver_ms.p99") },
    { label: "1:1 send→ack p99 (the same run; acked after the commit)", unit: "ms", better: "lower", ...same("direct_latency.ack_ms.p99") },
    {
      label: `1:1 throughput (${pairs}), acked†`,
      unit: "msg/s",
      better: "higher",
      ...paths("pairs_throughput.acked_per_s", "pairs_throughput.acked_per_s", "pairs_throughput.delivered_per_s"),
    },
    { label: `1:1 throughput (${pairs}), delivered`, unit: "msg/s", better: "higher", ...same("pairs_throughput.delivered_per_s") },
    { label: "server CPU per 1:1 message (same run)", unit: "µs", better: "lower", ...same("pairs_throughput.server_cpu_us_per_message") },
    { label: "commits (fsync) per 1:1 message, 100 msg/s run", unit: "per msg", better: "lower", ...parleyOnly("direct_latency.commits.per_message") },
    { label: `commits (fsync) per 1:1 message, ${pairs}`, unit: "per msg", better: "lower", ...parleyOnly("pairs_throughput.commits.per_message") },
    { label: "one conversation, one frame per message, received", unit: "msg/s", better: "higher", ...same("conversation_throughput.delivered_per_s") },
    { label: "one conversation, SDK batching (50 per socket message), received", unit: "msg/s", better: "higher", ...paths("conversation_throughput_batched.delivered_per_s", "conversation_throughput.delivered_per_s") },
    { label: `${group}, ${perSecond("group_fanout")}, send→last member p50`, unit: "ms", better: "lower", ...same("group_fanout.to_last_member_ms.p50") },
    { label: `${group}, ${perSecond("group_fanout")}, send→last member p99`, unit: "ms", better: "lower", ...same("group_fanout.to_last_member_ms.p99") },
    { label: `${group}, ${perSecond("group_fanout")}, send→first member p50`, unit: "ms", better: "lower", ...same("group_fanout.to_first_member_ms.p50") },
    { label: `${group}, ${perSecond("group_fanout")}, deliveries`, unit: "/s", better: "higher", ...same("group_fanout.deliveries_per_s") },
    { label: `${group}, ${perSecond("group_fanout_fast")}, send→last member p50`, unit: "ms", better: "lower", ...same("group_fanout_fast.to_last_member_ms.p50") },
    { label: `${group}, ${perSecond("group_fanout_fast")}, send→last member p99`, unit: "ms", better: "lower", ...same("group_fanout_fast.to_last_member_ms.p99") },
    { label: "idle socket, server RSS (compression refused)", unit: "bytes", better: "lower", ...paths("idle_sockets.refused.bytes_per_socket.rss", "idle_sockets.bytes_per_connection") },
    { label: "idle socket, server RSS (permessage-deflate)", unit: "bytes", better: "lower", ...parleyOnly("idle_sockets.deflate.bytes_per_socket.rss") },
    { label: "idle sockets, server CPU", unit: "% core", better: "lower", ...paths("idle_sockets.refused.idle.server_core_percent", "idle_sockets.idle_cpu_percent") },
    { label: "catch-up of stored messages", unit: "msg/s", better: "higher", ...same("catch_up.msg_per_s") },
    { label: "catch-up, bytes on the wire per message (uncompressed)", unit: "bytes", better: "lower", ...same("catch_up.wire_bytes_per_message") },
    { label: "catch-up, bytes on the wire per message (permessage-deflate)", unit: "bytes", better: "lower", ...parleyOnly("catch_up_deflate.wire_bytes_per_message") },
    { label: "restart → ready‡", unit: "ms", better: "lower", ...paths("cold_start.after_restart.ready_ms", "cold_start.to_first_answer_ms.p50") },
  ];
}

const format = (n: number | undefined) => (n === undefined ? "–" : n >= 1000 ? Math.round(n).toLocaleString("en-US") : String(n));

/** "2.1× better" / "3.4× worse" (Parley against `other`). */
function ratio(better: "lower" | "higher", parley: number | undefined, other: number | undefined): string {
  if (parley === undefined || other === undefined || parley < 0 || other < 0) return "–";
  if (parley === 0 || other === 0) return parley === other ? "same" : (parley < other) === (better === "lower") ? "better" : "worse";
  const factor = better === "lower" ? other / parley : parley / other;
  if (Math.abs(factor - 1) < 0.05) return "same";
  const times = (f: number) => (f >= 10 ? Math.round(f).toLocaleString("en-US") : f.toFixed(1));
  return factor > 1 ? `${times(factor)}× better` : `${times(1 / factor)}× worse`;
}

/** Peers that are floors, not competitors: what a runtime does with no product logic. */
const FLOORS = ["ws-floor", "workerd-floor"];

/**
 * Rows (header first) comparing Parley's results with each peer's. The floors are not candidates
 * for "best peer": they check nothing (and the ws floor stores nothing), so each has its own column.
 */
export function peerTable(parley: Results, peers: Record<string, PeerReport>): string[][] {
  const names = Object.keys(peers).filter((n) => !peers[n]!.skipped);
  const real = names.filter((n) => !FLOORS.includes(n));
  const floors = names.filter((n) => FLOORS.includes(n));
  const header = ["figure", "unit", "Parley", ...names, "Parley vs best peer", ...floors.map((n) => `Parley vs ${n}`)];
  const out = [header];
  for (const row of rowsFor(parley, peers)) {
    const p = row.parley(parley);
    const values = names.map((n) => row.peer(peers[n]!.results));
    if (p === undefined && values.every((v) => v === undefined)) continue;
    const candidates = real.map((n) => ({ n, v: row.peer(peers[n]!.results) })).filter((c): c is { n: string; v: number } => c.v !== undefined);
    const best = candidates.sort((a, b) => (row.better === "lower" ? a.v - b.v : b.v - a.v))[0];
    const vsBest = best ? `${ratio(row.better, p, best.v)}${p === undefined ? "" : ` (${best.n})`}` : "–";
    const vsFloors = floors.map((n) => ratio(row.better, p, row.peer(peers[n]!.results)));
    out.push([row.label, row.unit, format(p), ...values.map(format), vsBest, ...vsFloors]);
  }
  return out;
}

/** Footnotes for the table: the direction of ratios, what differs, Parley's configuration. */
export function peerTableNotes(parley: Results, peers: Record<string, PeerReport>): string[] {
  const server = parley.server as { url: string | null; shards: string | null; raised_limits: Record<string, string>; defaults: string } | undefined;
  const raised = Object.entries(server?.raised_limits ?? {}).map(([k, v]) => `${k}=${Number(v).toLocaleString("en-US")}`);
  const notes = [
    "Ratios: Parley's figure against the best of Prosody and ejabberd (and against each floor), as \"N× better\" or \"N× worse\".",
    ...(server
      ? [
          server.url
            ? `Parley: the server at ${server.url}, as it was configured.`
            : `Parley: started by the bench as \`npm start\` runs it (scripts/server.ts: one workerd process, state on disk, ${server.shards}); limits raised for the bench: ${raised.join(", ")} (${server.defaults}).`,
        ]
      : []),
    "† Parley and the workerd floor: messages acknowledged to the sender after their commit; the other peers do not acknowledge, so their figure is delivery to the receiver, which also bounds their flight.",
    "‡ Parley: the server stopped and started again on the same state (warm build), from spawn to the first 401 from /api/v1/users/me; the peers: from spawn on a fresh data dir to their first answer to a real request (an in-band registration; a room on the ws floor; a ping answered by an object on the workerd floor). Both polled every 20 ms.",
    "Commits: fsync + fdatasync calls of Parley's runtime per message, counted with strace over a second pass of the same traffic (strace slows what it traces). Peers are tuned for the bench: rate limits and shapers off, offline storage raised (see each peer's notes in the results file). None of Prosody, ejabberd and the ws floor acknowledges a message to its sender or fsyncs it; the workerd floor commits each message (one INSERT) before its ack and its frames, as Parley does.",
  ];
  for (const [name, report] of Object.entries(peers)) {
    if (report.skipped) notes.push(`${name} skipped: ${report.skipped}`);
    for (const e of report.errors) notes.push(`${name}: ${e.scenario} failed: ${e.error.split("\n")[0]}`);
  }
  return notes;
}
