import type { Env } from "../env";
import { shardOf } from "../lib/placement";

/**
 * A queue takes about 5,000 messages a second, and at the peak Parley's pushes need about 250 queues
 * and its thumbnail jobs about 8 (docs/scaling.md). A deployment adds shards as more producer bindings
 * named `<BINDING>_1`, `<BINDING>_2`, … (each queue with its consumer; docs/deploy.md); a producer
 * picks one by a consistent hash of a key (src/lib/placement.ts), so one user's pushes (or one
 * upload's jobs) always share a queue.
 * With no extra bindings, as locally, everything goes to the one.
 */
export type ShardedQueue = "PUSH_JOBS" | "MEDIA_JOBS";

const shardCounts = new WeakMap<object, Map<ShardedQueue, number>>();

/** How many queues `binding` has in this environment: itself and `<binding>_1` … without a gap. */
export function shardCount(env: Env, binding: ShardedQueue): number {
  let counts = shardCounts.get(env);
  if (!counts) shardCounts.set(env, (counts = new Map()));
  let n = counts.get(binding);
  if (n === undefined) {
    const bindings = env as unknown as Record<string, unknown>;
    for (n = 1; bindings[`${binding}_${n}`] !== undefined; n++);
    counts.set(binding, n);
  }
  return n;
}

/** The queue `key`'s jobs go to. */
export function queueFor<B extends ShardedQueue>(env: Env, binding: B, key: string): Env[B] {
  const shard = shardOf(key, shardCount(env, binding));
  return (shard === 0 ? env[binding] : (env as unknown as Record<string, unknown>)[`${binding}_${shard}`]) as Env[B];
}
