import type { Env } from "../../env";
import { shardOf } from "../../lib/placement";

/**
 * Which user object holds a user: their *home*. A user object serves a shard of users, and
 * `USER_SHARDS` says how many shards there are:
 *
 * - unset: one object per user, named by the user id. Right on Cloudflare: each object is created
 *   near its user, a busy user slows nobody else, and a fan-out's calls run in parallel anyway.
 * - n: users are spread over n objects, `users/0` … `users/<n-1>`, by consistent hashing (the seed's
 *   "consistent hashing assigns users to chat servers"). Right on one machine, where every object
 *   shares one thread: a 500-member fan-out round is one call per shard touched, not per member.
 *
 * The same code serves both: every table is keyed by user, every socket is tagged with its user.
 */
export type UserPlacement = { kind: "per-user" } | { kind: "sharded"; shards: number };

/** At most this many shards: each is one object, and fan-out calls each shard a conversation touches. */
export const MAX_USER_SHARDS = 1_024;

const placements = new WeakMap<object, UserPlacement>();
const homeNames = new Map<string, string>();

/** Reads USER_SHARDS (`""`/unset: per user; `1`…`1024`: that many shards). A bad value is refused loudly. */
export function parsePlacement(raw: string | undefined): UserPlacement {
  if (raw === undefined || raw.trim() === "") return { kind: "per-user" };
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_USER_SHARDS) {
    throw new Error(`USER_SHARDS must be an integer from 1 to ${MAX_USER_SHARDS}, or unset for one object per user; got "${raw}"`);
  }
  return { kind: "sharded", shards: n };
}

export function placementOf(env: Env): UserPlacement {
  let placement = placements.get(env);
  if (!placement) placements.set(env, (placement = parsePlacement(env.USER_SHARDS)));
  return placement;
}

/** The name of the object holding `userId` under `placement`. */
export function homeNameIn(placement: UserPlacement, userId: string): string {
  if (placement.kind === "per-user") return userId;
  const key = `${placement.shards}\n${userId}`;
  let name = homeNames.get(key);
  if (name === undefined) {
    if (homeNames.size > 100_000) homeNames.clear();
    homeNames.set(key, (name = `users/${shardOf(userId, placement.shards)}`));
  }
  return name;
}

export function homeName(env: Env, userId: string): string {
  return homeNameIn(placementOf(env), userId);
}

/** The object holding `userId`. */
export function userHome(env: Env, userId: string) {
  return homeStub(env, homeName(env, userId));
}

export function homeStub(env: Env, name: string) {
  return env.USERS.get(env.USERS.idFromName(name));
}

/** Users grouped by the object that holds them: one call per home instead of one per user. */
export function byHome<T>(env: Env, items: Iterable<T>, userOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = homeName(env, userOf(item));
    const group = groups.get(name);
    if (group) group.push(item);
    else groups.set(name, [item]);
  }
  return groups;
}
