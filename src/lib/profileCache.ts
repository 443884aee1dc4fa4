/**
 * A username names one account forever (there is no rename of usernames, and no deletion), so a
 * look-up of the user id behind a username is kept in the location's cache (Cache API) for a day: a
 * name everyone looks up costs its directory object one request per location a day, not one per
 * look-up (docs/scaling.md, the user directory). Misses are not kept, so a name registered a moment
 * later is found. Profiles themselves are not cached here: display names, photos and "about" change,
 * and what a viewer may see of them depends on the viewer. (On workers.dev the Cache API stores
 * nothing, and every look-up is a miss.)
 */
const TTL_S = 86_400;

const keyOf = (username: string) => new Request(`https://profiles.parley.invalid/username-id/${encodeURIComponent(username)}`);

export async function cachedUserId(username: string, load: () => Promise<string | null>, ctx: { waitUntil(p: Promise<unknown>): void }): Promise<string | null> {
  const key = keyOf(username);
  const hit = await caches.default.match(key);
  if (hit) {
    const id: unknown = await hit.json();
    if (typeof id === "string") return id;
  }
  const id = await load();
  if (id) ctx.waitUntil(caches.default.put(key, Response.json(id, { headers: { "Cache-Control": `max-age=${TTL_S}` } })));
  return id;
}
