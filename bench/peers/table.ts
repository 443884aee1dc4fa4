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
  /** Parley's figure measures something else: shown, but no ratio. */
  notComparable?: string;
}

/** Reads a number at a dotted path, or undefined. */
function at(results: Results, path: string): number | undefined {
  let v: unknown = results;
  for (const key of path.split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** The first of `paths` that holds a number (Parley's idle result has had more than one shape). */
const first = (results: Results, paths: string[]) => paths.map((p) => at(results, p)).find((v) => v !== undefined);

const same = (path: string) => ({ parley: (r: Results) => at(r, path), peer: (r: Results) => at(r, path) });

// Parley's idle sockets: straight to the runtime where measured (as on Cloudflare, with no local
// proxy in front), else through wrangler's proxy, else the older single figure.
const parleyIdlePhases = ["idle_sockets.direct", "idle_sockets.proxied", "idle_sockets"];

function rowsFor(parley: Results, peers: Record<string, PeerReport>): Row[] {
  const members = at(parley, "group_fanout.members") ?? Object.values(peers).map((p) => at(p.results, "group_fanout.members")).find((m) => m !== undefined);
  const group = `${members ?? "?"}-member group`;
  return [
    { label: "1:1 send→receive p50 (100 msg/s, 20 pairs)", unit: "ms", better: "lower", ...same("direct_latency.deliver_ms.p50") },
    { label: "1:1 send→receive p95", unit: "ms", better: "lower", ...same("direct_latency.deliver_ms.p95") },
    { label: "1:1 send→receive p99", unit: "ms", better: "lower", ...same("direct_latency.deliver_ms.p99") },
    { label: "one conversation, received", unit: "msg/s", better: "higher", ...same("conversation_throughput.delivered_per_s") },
    { label: `${group}, send→last member p50`, unit: "ms", better: "lower", ...same("group_fanout.to_last_member_ms.p50") },
    { label: `${group}, send→last member p99`, unit: "ms", better: "lower", ...same("group_fanout.to_last_member_ms.p99") },
    { label: `${group}, send→first member p50`, unit: "ms", better: "lower", ...same("group_fanout.to_first_member_ms.p50") },
    { label: `${group}, deliveries`, unit: "/s", better: "higher", ...same("group_fanout.deliveries_per_s") },
    {
      label: "idle connection, server memory (RSS)",
      unit: "bytes",
      better: "lower",
      parley: (r) => first(r, parleyIdlePhases.map((p) => `${p}.bytes_per_socket_hibernated.rss`)),
      peer: (r) => at(r, "idle_sockets.bytes_per_connection"),
    },
    {
      label: "idle connections, server CPU",
      unit: "% core",
      better: "lower",
      parley: (r) => first(r, parleyIdlePhases.flatMap((p) => [`${p}.idle.server_core_percent`, `${p}.idle.core_percent`])),
      peer: (r) => at(r, "idle_sockets.idle_cpu_percent"),
    },
    { label: "catch-up of stored messages", unit: "msg/s", better: "higher", ...same("catch_up.msg_per_s") },
    {
      label: "cold start → first answer",
      unit: "ms",
      better: "lower",
      parley: (r) => at(r, "cold_start.after_restart.ready_ms"),
      peer: (r) => at(r, "cold_start.to_first_answer_ms.p50"),
      notComparable: "Parley: wrangler dev restart to ready, polled every 500 ms",
    },
  ];
}

const format = (n: number | undefined) => (n === undefined ? "–" : n >= 1000 ? Math.round(n).toLocaleString("en-US") : String(n));

/** "2.1× better" / "3.4× worse" (Parley against `other`). */
function ratio(better: "lower" | "higher", parley: number | undefined, other: number | undefined): string {
  if (parley === undefined || other === undefined || parley <= 0 || other <= 0) return "–";
  const factor = better === "lower" ? other / parley : parley / other;
  if (Math.abs(factor - 1) < 0.05) return "same";
  const times = (f: number) => (f >= 10 ? Math.round(f).toLocaleString("en-US") : f.toFixed(1));
  return factor > 1 ? `${times(factor)}× better` : `${times(1 / factor)}× worse`;
}

/**
 * Rows (header first) comparing Parley's results with each peer's. The floor is not a candidate for
 * "best peer": it stores nothing and checks nothing, so it has its own column.
 */
export function peerTable(parley: Results, peers: Record<string, PeerReport>): string[][] {
  const names = Object.keys(peers).filter((n) => !peers[n]!.skipped);
  const real = names.filter((n) => n !== "ws-floor");
  const header = ["figure", "unit", "Parley", ...names, "Parley vs best peer", ...(names.includes("ws-floor") ? ["Parley vs floor"] : [])];
  const out = [header];
  for (const row of rowsFor(parley, peers)) {
    const p = row.parley(parley);
    const values = names.map((n) => row.peer(peers[n]!.results));
    if (p === undefined && values.every((v) => v === undefined)) continue;
    const candidates = real.map((n) => ({ n, v: row.peer(peers[n]!.results) })).filter((c): c is { n: string; v: number } => c.v !== undefined);
    const best = candidates.sort((a, b) => (row.better === "lower" ? a.v - b.v : b.v - a.v))[0];
    const vsBest = row.notComparable ? "n/a" : best ? `${ratio(row.better, p, best.v)}${p === undefined ? "" : ` (${best.n})`}` : "–";
    const floor = names.includes("ws-floor") ? [row.notComparable ? "n/a" : ratio(row.better, p, row.peer(peers["ws-floor"]!.results))] : [];
    out.push([row.label, row.unit, format(p) + (row.notComparable && p !== undefined ? "*" : ""), ...values.map(format), vsBest, ...floor]);
  }
  return out;
}

/** Footnotes for the table: the direction of ratios and what is not comparable. */
export function peerTableNotes(peers: Record<string, PeerReport>): string[] {
  const notes = [
    "Ratios: Parley's figure against the best of Prosody and ejabberd (and against the ws floor), as \"N× better\" or \"N× worse\".",
    "* cold start: the peers are timed from process spawn (fresh data dir) to their first answer to a real request, polled every 20 ms; Parley's figure is a restart of wrangler dev to ready, polled every 500 ms (see cold_start in the results for its first-request-after-eviction figures): not a ratio.",
    "Peers are tuned for the bench: rate limits and shapers off, offline storage raised (see each peer's notes in the results file). None acknowledges a message to its sender; Parley commits every message to SQLite (one fsync per commit) before acking it.",
  ];
  for (const [name, report] of Object.entries(peers)) if (report.skipped) notes.push(`${name} skipped: ${report.skipped}`);
  return notes;
}
