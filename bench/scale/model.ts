/**
 * Parley at 2 billion users: a seeded Monte Carlo model of a scaled-down population, rated with the
 * per-operation costs of Parley's code, scaled to full size, plus the hot spots it cannot produce.
 *
 *   npx tsx bench/scale/model.ts                     # 1M users (1/2,000), prints the tables
 *   npx tsx bench/scale/model.ts --json              # … and writes everything to bench/results/scale.json
 *   npx tsx bench/scale/model.ts --users=2000000 --seed=7 --messages-per-day=60e9
 *   npx tsx bench/scale/model.ts --user-shards=1e5,1e6 --conversation-shards=1e6,1e7   # … and rates shards (shards.ts)
 *
 * Per-object rates do not depend on the population's size (each object serves its own users and
 * conversations), so a 1/2,000 sample gives the full-scale distribution; only the extremes grow with
 * the number of objects. Counts above a threshold scale by 2,000; the maximum is extrapolated from
 * the sample's tail two ways (stats.ts: Hill's estimator; the trend of block maxima). See docs/scaling.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { calibrate } from "./diurnal";
import { hotSpots } from "./hotspots";
import { parseArgs, type Params, type ShardCounts } from "./params";
import { generate } from "./population";
import { printReport } from "./report";
import { printShards, rateShards } from "./shards";
import { simulate, type PerObject } from "./simulate";

/** The upper end of the seed's range: 60B messages a day, from the same people. */
const UPPER_MESSAGES_PER_DAY = 60e9;

function run(p: Params, shardCounts: ShardCounts) {
  const started = Date.now();
  const diurnal = calibrate(p.localPeakFactor);
  const perDay = p.messagesPerDay ?? (p.peakMessagesPerSecond / diurnal.globalPeakFactor) * 86_400;
  const population = generate(p, diurnal, perDay);
  const wantShards = shardCounts.users.length > 0 || shardCounts.conversations.length > 0;
  const kept: { objects?: PerObject } = {};
  const main = simulate(population, diurnal, p, 1, wantShards ? (o) => (kept.objects = o) : undefined);
  const upperPerDay = Math.max(UPPER_MESSAGES_PER_DAY, perDay);
  const upper = simulate(population, diurnal, p, upperPerDay / perDay);
  const spots = hotSpots(p, main.fleet);
  // Only with --user-shards / --conversation-shards: without them, output and JSON are as before.
  const shards = kept.objects ? { shards: rateShards(p, population, main, kept.objects, shardCounts) } : {};
  return { diurnal, perDay, main, upper, upperPerDay, spots, ...shards, seconds: (Date.now() - started) / 1000 };
}

function cli() {
  const { params, json, quiet, shards } = parseArgs(process.argv.slice(2));
  const result = run(params, shards);
  if (!quiet) {
    printReport(params, result.diurnal, result.main, result.upper, result.upperPerDay, result.spots);
    if (result.shards) printShards(result.shards);
    console.log(`\n(${result.seconds.toFixed(1)} s)`);
  }
  if (json) {
    mkdirSync(dirname(json), { recursive: true });
    writeFileSync(json, JSON.stringify({ params, ...result }, null, 2) + "\n");
    console.log(`wrote ${json}`);
  }
}

try {
  cli();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
