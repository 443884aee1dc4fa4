import { User } from "../protocol";

/**
 * Profiles never change: a username and display name are fixed at registration, and there is no
 * rename or deletion. So a look-up by username or by id is kept in the location's cache (Cache API)
 * for a day: a name everyone looks up costs its directory object one request per location a day, not
 * one per look-up (docs/scaling.md, the user directory). Misses are not kept, so a name registered a
 * moment later is found. (On workers.dev the Cache API stores nothing, and every look-up is a miss.)
 */
const TTL_S = 86_400;

const keyOf = (by: "username" | "id", value: string) => new Request(`https://profiles.parley.invalid/${by}/${encodeURIComponent(value)}`);

export async function cachedProfile(
  by: "username" | "id",
  value: string,
  load: () => Promise<User | null>,
  ctx: { waitUntil(p: Promise<unknown>): void },
): Promise<User | null> {
  const key = keyOf(by, value);
  const hit = await caches.default.match(key);
  if (hit) {
    const parsed = User.safeParse(await hit.json());
    if (parsed.success) return parsed.data;
  }
  const user = await load();
  if (user) ctx.waitUntil(caches.default.put(key, Response.json(user, { headers: { "Cache-Control": `max-age=${TTL_S}` } })));
  return user;
}
