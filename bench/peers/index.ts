/**
 * `npm run bench -- --peers`: the same scenarios against Prosody, ejabberd, a plain `ws` broadcast
 * server (the ws floor) and bare Durable Objects on Parley's runtime (the workerd floor), each
 * started here as a child process on loopback with its own config, a fresh server for every
 * scenario. A peer that is not installed is skipped with the command that installs it; a scenario
 * that fails is recorded as an error, never the whole run.
 */
import { ejabberd } from "./ejabberd";
import type { Peer, RunningPeer } from "./peer";
import { prosody } from "./prosody";
import { catchUp, coldStart, conversationThroughput, directLatency, groupFanout, idleConnections, pairsThroughput } from "./scenarios";
import { workerdFloor } from "./workerdFloorPeer";
import { wsFloor } from "./wsFloorPeer";

export const PEERS: Peer[] = [prosody, ejabberd, wsFloor, workerdFloor];

/** Scenario names as `--only=` knows them, in the order they run. */
export const PEER_SCENARIOS = ["latency", "throughput", "group", "idle", "catchup", "cold"] as const;

export interface PeerOptions {
  /** Peer names to run (default: all). */
  peers?: string[];
  /** Whether a scenario (a `PEER_SCENARIOS` name) runs. */
  wanted: (scenario: string) => boolean;
  pairs: { pairs: number; window: number; perPair: number };
  /** Messages in the one-conversation throughput run. */
  conversationMessages: number;
  /** The group and its timed phases, keyed as Parley's results (`group_fanout`, `group_fanout_fast`). */
  group: { members: number; phases: { key: string; messages: number; intervalMs: number }[] };
  idle: { users: number; devicesPerUser: number; idleSeconds: number };
  catchUpMessages: number;
  coldStartRuns: number;
}

export interface PeerReport {
  version?: string;
  /** What the peer persists and what the bench changed in its defaults. */
  notes: string[];
  /** Why it did not run, when it did not. */
  skipped?: string;
  /** Scenario results keyed like Parley's (`direct_latency`, `group_fanout`, …). */
  results: Record<string, unknown>;
  /** Scenarios that failed, and why. */
  errors: { scenario: string; error: string }[];
}

/**
 * Each scenario: its `--only` name, a label, and how to run it; it gives results keyed like
 * Parley's (`direct_latency`, `group_fanout`, …).
 */
function plan(opts: PeerOptions) {
  const onFreshServer =
    (key: string | null, run: (server: RunningPeer) => Promise<unknown>) =>
    async (peer: Peer): Promise<Record<string, unknown>> => {
      const server = await peer.start();
      try {
        const result = await run(server);
        return key ? { [key]: result } : (result as Record<string, unknown>);
      } finally {
        await server.stop();
      }
    };
  const g = opts.group;
  const p = opts.pairs;
  const phases = g.phases.map((ph) => `${ph.messages} messages ${ph.intervalMs} ms apart`).join(", then ");
  return [
    { name: "latency", label: "1:1 latency, 100 msg/s over 20 pairs", run: onFreshServer("direct_latency", (s) => directLatency(s)) },
    { name: "throughput", label: `1:1 throughput, ${p.pairs} pairs, ${p.window} in flight each, ${p.perPair} messages each`, run: onFreshServer("pairs_throughput", (s) => pairsThroughput(s, p)) },
    { name: "throughput", label: "one conversation, highest sustained rate", run: onFreshServer("conversation_throughput", (s) => conversationThroughput(s, { messages: opts.conversationMessages, window: 2_000 })) },
    { name: "group", label: `${g.members}-member group fan-out, ${phases}`, run: onFreshServer(null, (s) => groupFanout(s, g)) },
    {
      name: "idle",
      label: `idle connections: ${opts.idle.users} users × ${opts.idle.devicesPerUser} devices, memory and ${opts.idle.idleSeconds} s of idle CPU`,
      run: onFreshServer("idle_sockets", (s) => idleConnections(s, opts.idle)),
    },
    { name: "catchup", label: `catch-up of ${opts.catchUpMessages} stored messages`, run: onFreshServer("catch_up", (s) => catchUp(s, { messages: opts.catchUpMessages })) },
    { name: "cold", label: `cold start, ${opts.coldStartRuns} runs`, run: async (peer: Peer) => ({ cold_start: await coldStart(peer, { runs: opts.coldStartRuns }) }) },
  ] satisfies { name: (typeof PEER_SCENARIOS)[number]; label: string; run: (p: Peer) => Promise<Record<string, unknown>> }[];
}

export async function runPeers(opts: PeerOptions): Promise<Record<string, PeerReport>> {
  const reports: Record<string, PeerReport> = {};
  const scenarios = plan(opts).filter((s) => opts.wanted(s.name));
  for (const peer of PEERS) {
    if (opts.peers && !opts.peers.includes(peer.name)) continue;
    const missing = peer.missing();
    if (missing) {
      console.log(`peer ${peer.name} skipped: ${missing}`);
      reports[peer.name] = { notes: peer.notes, skipped: missing, results: {}, errors: [] };
      continue;
    }
    const report: PeerReport = { version: peer.version(), notes: peer.notes, results: {}, errors: [] };
    reports[peer.name] = report;
    console.log(`peer ${peer.name} ${report.version}`);
    for (const s of scenarios) {
      if (peer.runs && !peer.runs.includes(s.name)) continue;
      console.log(`  ${peer.name}: ${s.label} …`);
      try {
        Object.assign(report.results, await s.run(peer));
      } catch (err) {
        const message = (err as Error).message || String(err);
        console.log(`  ${peer.name}: ${s.label} failed: ${message}`);
        report.errors.push({ scenario: s.label, error: message });
      }
    }
  }
  return reports;
}

export { peerTable, peerTableNotes } from "./table";
