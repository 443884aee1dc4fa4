/**
 * `npm run bench -- --peers`: the same scenarios against Prosody, ejabberd and a plain `ws`
 * broadcast server (the floor), each started here as a child process on loopback with its own
 * config, a fresh server for every scenario. A peer that is not installed is skipped with the
 * command that installs it; a scenario that fails is recorded as an error, never the whole run.
 */
import { ejabberd } from "./ejabberd";
import type { Peer, RunningPeer } from "./peer";
import { prosody } from "./prosody";
import { catchUp, coldStart, conversationThroughput, directLatency, groupFanout, idleConnections } from "./scenarios";
import { wsFloor } from "./wsFloorPeer";

export const PEERS: Peer[] = [prosody, ejabberd, wsFloor];

/** Scenario names as `--only=` knows them, in the order they run. */
export const PEER_SCENARIOS = ["latency", "throughput", "group", "idle", "catchup", "cold"] as const;

export interface PeerOptions {
  /** Peer names to run (default: all). */
  peers?: string[];
  /** Whether a scenario (a `PEER_SCENARIOS` name) runs. */
  wanted: (scenario: string) => boolean;
  group: { members: number; messages: number; intervalMs: number };
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
  /** Scenario results keyed like Parley's (`direct_latency`, `group_fanout`, …), or `{ error }`. */
  results: Record<string, unknown>;
}

/** Each scenario: its `--only` name, its results key (as Parley's), a label, and how to run it. */
function plan(opts: PeerOptions) {
  const onFreshServer =
    <T>(run: (server: RunningPeer) => Promise<T>) =>
    async (peer: Peer) => {
      const server = await peer.start();
      try {
        return await run(server);
      } finally {
        await server.stop();
      }
    };
  const g = opts.group;
  return [
    { name: "latency", key: "direct_latency", label: "1:1 latency, 100 msg/s over 20 pairs", run: onFreshServer((s) => directLatency(s)) },
    { name: "throughput", key: "conversation_throughput", label: "one conversation, highest sustained rate", run: onFreshServer((s) => conversationThroughput(s)) },
    { name: "group", key: "group_fanout", label: `${g.members}-member group fan-out, ${g.messages} messages ${g.intervalMs} ms apart`, run: onFreshServer((s) => groupFanout(s, g)) },
    {
      name: "idle",
      key: "idle_sockets",
      label: `idle connections: ${opts.idle.users} users × ${opts.idle.devicesPerUser} devices, memory and ${opts.idle.idleSeconds} s of idle CPU`,
      run: onFreshServer((s) => idleConnections(s, opts.idle)),
    },
    { name: "catchup", key: "catch_up", label: `catch-up of ${opts.catchUpMessages} stored messages`, run: onFreshServer((s) => catchUp(s, { messages: opts.catchUpMessages })) },
    { name: "cold", key: "cold_start", label: `cold start, ${opts.coldStartRuns} runs`, run: (p: Peer) => coldStart(p, { runs: opts.coldStartRuns }) },
  ] satisfies { name: (typeof PEER_SCENARIOS)[number]; key: string; label: string; run: (p: Peer) => Promise<unknown> }[];
}

export async function runPeers(opts: PeerOptions): Promise<Record<string, PeerReport>> {
  const reports: Record<string, PeerReport> = {};
  const scenarios = plan(opts).filter((s) => opts.wanted(s.name));
  for (const peer of PEERS) {
    if (opts.peers && !opts.peers.includes(peer.name)) continue;
    const missing = peer.missing();
    if (missing) {
      console.log(`peer ${peer.name} skipped: ${missing}`);
      reports[peer.name] = { notes: peer.notes, skipped: missing, results: {} };
      continue;
    }
    const report: PeerReport = { version: peer.version(), notes: peer.notes, results: {} };
    reports[peer.name] = report;
    console.log(`peer ${peer.name} ${report.version}`);
    for (const s of scenarios) {
      console.log(`  ${peer.name}: ${s.label} …`);
      try {
        report.results[s.key] = await s.run(peer);
      } catch (err) {
        const message = (err as Error).message || String(err);
        console.log(`  ${peer.name}: ${s.name} failed: ${message}`);
        report.results[s.key] = { error: message };
      }
    }
  }
  return reports;
}

export { peerTable, peerTableNotes } from "./table";
