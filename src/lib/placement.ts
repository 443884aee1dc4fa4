/**
 * Where a key lives among a fixed number of shards: jump consistent hashing (Lamping & Veach, 2014)
 * over a 64-bit FNV-1a hash of the key. "Consistent" is why it is used: going from n shards to
 * n + 1 moves only 1/(n + 1) of the keys (all of them to the new shard), so a deployment that adds
 * shards moves as few users (or queue keys) as it can.
 */

const MASK_64 = (1n << 64n) - 1n;
const FNV_OFFSET_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 0x100000001b3n;
const JUMP_MULTIPLIER = 2862933555777941757n;

/** FNV-1a, 64 bits, over the key's UTF-16 code units (ids are ASCII). */
export function fnv1a64(key: string): bigint {
  let h = FNV_OFFSET_64;
  for (let i = 0; i < key.length; i++) h = ((h ^ BigInt(key.charCodeAt(i))) * FNV_PRIME_64) & MASK_64;
  return h;
}

/** The bucket in [0, buckets) that a 64-bit key falls in. */
export function jumpHash(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * JUMP_MULTIPLIER + 1n) & MASK_64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(key >> 33n) + 1)));
  }
  return b;
}

/** The shard in [0, shards) of `key`; 0 when there is only one. */
export function shardOf(key: string, shards: number): number {
  return shards <= 1 ? 0 : jumpHash(fnv1a64(key), shards);
}
