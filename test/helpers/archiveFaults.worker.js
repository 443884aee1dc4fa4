// The tests' ARCHIVE binding (vitest.config.ts): the real R2 bucket behind a service that fails on
// demand. Plain JavaScript because Miniflare loads an auxiliary worker as it is, unbundled.
//
// The objects call it exactly as they call R2 (`put`, `get`), so production code carries no hook:
// a test plans failures for one conversation's keys through the ARCHIVE_FAULTS binding, and every
// other key passes straight through. A plan survives evictions and crashes of the objects, as an
// outage of R2 would.
import { WorkerEntrypoint } from "cloudflare:workers";

/**
 * @typedef {{ seed?: number; refuse?: number; tear?: number }} Plan
 *   Each write rolls a number in [0, 1) from the plan's PRNG: below `refuse` R2 refuses it; below
 *   `refuse + tear` R2 stores it and the answer is lost (a torn write); otherwise it is stored.
 * @typedef {{ refused: number; torn: number; stored: number; writes: string[] }} Stats
 */

/** Plans by key prefix, with their PRNG; module state, shared by both entrypoints of this isolate. */
const plans = new Map();
/** @type {Map<string, Stats>} */
const stats = new Map();

/** mulberry32, as the chaos test's schedule: the same rolls for the same seed everywhere. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function statsOf(prefix) {
  let s = stats.get(prefix);
  if (!s) stats.set(prefix, (s = { refused: 0, torn: 0, stored: 0, writes: [] }));
  return s;
}

/** Stands in for the R2 bucket: the subset of its API the archive uses. */
export class FlakyArchive extends WorkerEntrypoint {
  async put(key, body, options) {
    const prefix = [...plans.keys()].find((p) => key.startsWith(p));
    if (prefix === undefined) return summary(await this.env.BUCKET.put(key, body, options));
    const plan = plans.get(prefix);
    const s = statsOf(prefix);
    s.writes.push(key);
    const roll = plan.roll();
    if (roll < plan.refuse) {
      s.refused += 1;
      throw new Error("R2 unavailable (injected)");
    }
    const stored = await this.env.BUCKET.put(key, body, options);
    if (roll < plan.refuse + plan.tear) {
      s.torn += 1;
      throw new Error("connection reset after the write (injected)");
    }
    s.stored += 1;
    return summary(stored);
  }

  async get(key) {
    const object = await this.env.BUCKET.get(key);
    // A Response reads like R2's body (`text()`) and crosses RPC by value: an RpcTarget would stay a
    // stub the object holds, and an object holding stubs cannot be evicted.
    return object ? new Response(object.body) : null;
  }
}

function summary(stored) {
  return stored ? { key: stored.key, size: stored.size } : null;
}

/** The tests' control over FlakyArchive. */
export class ArchiveFaults extends WorkerEntrypoint {
  /** From now on, writes under `prefix` fail as `plan` says (replacing any plan it had). */
  fail(prefix, plan) {
    plans.set(prefix, { roll: prng(plan.seed ?? 1), refuse: plan.refuse ?? 0, tear: plan.tear ?? 0 });
  }

  /** R2 works again for `prefix`; returns what the plans under it did. */
  heal(prefix) {
    plans.delete(prefix);
    return statsOf(prefix);
  }

  /** What the plans under `prefix` have done so far (writes attempted, in order). */
  stats(prefix) {
    return statsOf(prefix);
  }
}

export default {
  fetch() {
    return new Response("the archive fault injector answers RPC only", { status: 404 });
  },
};
