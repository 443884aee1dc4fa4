import type { Env } from "../env";
import { shardOf } from "../lib/placement";

/**
 * Which object holds a user, or a conversation: its *home*. `USER_SHARDS` and `CONVERSATION_SHARDS`
 * say how many objects share them:
 *
 * - unset: one object each, named by the id. Right on Cloudflare: each object is created near the
 *   people who use it, a busy one slows nobody else, and calls between objects run in parallel.
 * - n: spread over n objects, `users/0` … `users/<n-1>` (or `conversations/…`), by consistent
 *   hashing (the seed's "consistent hashing assigns users to chat servers"). Right on one machine,
 *   where every object shares one thread and one disk: a 500-member fan-out is one call per user
 *   object touched, and the messages of many conversations share one call and one commit.
 *
 * The same code serves both: every table is keyed by user (or conversation), every socket tagged.
 */
export type Placement = { kind: "each"; prefix: string } | { kind: "sharded"; prefix: string; shards: number };
export type HomeKind = "users" | "conversations";

/** At most this many shards: each is one object, and a fan-out calls each user object it touches. */
export const MAX_SHARDS = 16_777_216;

const placements = new WeakMap<object, Map<HomeKind, Placement>>();
const homeNames = new Map<string, string>();

/** `""`/unset: one object each; `1`…`16777216`: that many shards. A bad value is refused loudly. */
export function parsePlacement(kind: HomeKind, raw: string | undefined): Placement {
  if (raw === undefined || raw.trim() === "") return { kind: "each", prefix: kind };
  const n = Number(raw);
  const variable = kind === "users" ? "USER_SHARDS" : "CONVERSATION_SHARDS";
  if (!Number.isInteger(n) || n < 1 || n > MAX_SHARDS) {
    throw new Error(`${variable} must be an integer from 1 to ${MAX_SHARDS}, or unset for one object each; got "${raw}"`);
  }
  return { kind: "sharded", prefix: kind, shards: n };
}

export function placementOf(env: Env, kind: HomeKind): Placement {
  let byKind = placements.get(env);
  if (!byKind) placements.set(env, (byKind = new Map()));
  let placement = byKind.get(kind);
  if (!placement) byKind.set(kind, (placement = parsePlacement(kind, kind === "users" ? env.USER_SHARDS : env.CONVERSATION_SHARDS)));
  return placement;
}

/** The name of the object holding `id` under `placement`. */
export function homeNameIn(placement: Placement, id: string): string {
  if (placement.kind === "each") return id;
  const key = `${placement.prefix}\n${placement.shards}\n${id}`;
  let name = homeNames.get(key);
  if (name === undefined) {
    if (homeNames.size > 100_000) homeNames.clear();
    homeNames.set(key, (name = `${placement.prefix}/${shardOf(id, placement.shards)}`));
  }
  return name;
}

export const userHomeName = (env: Env, userId: string) => homeNameIn(placementOf(env, "users"), userId);
export const conversationHomeName = (env: Env, conversationId: string) => homeNameIn(placementOf(env, "conversations"), conversationId);

export function userHomeStub(env: Env, name: string) {
  return env.USERS.get(env.USERS.idFromName(name));
}
export function conversationHomeStub(env: Env, name: string) {
  return env.CONVERSATIONS.get(env.CONVERSATIONS.idFromName(name));
}

/** The object holding `userId`. */
export function userHome(env: Env, userId: string) {
  return userHomeStub(env, userHomeName(env, userId));
}

/** The object holding `conversationId`. */
export function conversationHome(env: Env, conversationId: string) {
  return conversationHomeStub(env, conversationHomeName(env, conversationId));
}

/** Items grouped by the object that holds the user each is about: one call per object, not per user. */
export function byUserHome<T>(env: Env, items: Iterable<T>, userOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = userHomeName(env, userOf(item));
    const group = groups.get(name);
    if (group) group.push(item);
    else groups.set(name, [item]);
  }
  return groups;
}

/** Conversation ids grouped by the object that holds them: one call per object, not per conversation. */
export function byConversationHome(env: Env, conversationIds: Iterable<string>): Map<string, string[]> {
  const placement = placementOf(env, "conversations");
  const groups = new Map<string, string[]>();
  for (const id of conversationIds) {
    const name = homeNameIn(placement, id);
    const group = groups.get(name);
    if (group) group.push(id);
    else groups.set(name, [id]);
  }
  return groups;
}
