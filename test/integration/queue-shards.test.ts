import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardOf } from "../../src/lib/placement";
import { queueFor, shardCount } from "../../src/queues/shards";
import { api, directConversation, quickUsers, type Account } from "../helpers/client";
import { png, upload } from "../helpers/media";
import { decryptPush, pushBrowser, recordedPushes, subscriptionOf } from "../helpers/webpush";

// vitest.config.ts gives the workers project a second shard of each queue: PUSH_JOBS_1 → parley-push-1,
// MEDIA_JOBS_1 → parley-media-jobs-1, each with its consumer.
const bindings = env as unknown as Record<string, unknown>;

async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Accounts until one lands on each shard of PUSH_JOBS. */
async function oneUserPerShard(shards: number): Promise<Account[]> {
  const found = new Map<number, Account>();
  for (let round = 0; found.size < shards && round < 20; round++) {
    for (const u of await quickUsers(4, `qs${round}_`)) {
      const shard = shardOf(u.user.user_id, shards);
      if (!found.has(shard)) found.set(shard, u);
    }
  }
  return [...found.entries()].sort(([a], [b]) => a - b).map(([, u]) => u);
}

describe("sharded queues", () => {
  it("count the extra bindings and spread keys evenly and stably over them", () => {
    expect(shardCount(env, "PUSH_JOBS")).toBe(2);
    expect(shardCount(env, "MEDIA_JOBS")).toBe(2);
    const ids = Array.from({ length: 10_000 }, (_, i) => `u_${i}_${(i * 2654435761) % 1_000_003}`);
    for (const shards of [2, 7, 250]) {
      const counts = new Array<number>(shards).fill(0);
      for (const id of ids) counts[shardOf(id, shards)]! += 1;
      // As even as random placement: every shard within five standard deviations of its share.
      const mean = ids.length / shards;
      for (const c of counts) expect(Math.abs(c - mean)).toBeLessThan(5 * Math.sqrt(mean));
    }
    expect(ids.map((id) => shardOf(id, 7))).toEqual(ids.map((id) => shardOf(id, 7)));
    expect(shardOf("anything", 1)).toBe(0);
    const users = ["a", "b", "c", "d", "e", "f"];
    expect(new Set(users.map((u) => queueFor(env, "PUSH_JOBS", u)))).toEqual(new Set([env.PUSH_JOBS, bindings.PUSH_JOBS_1]));
  });

  it("deliver pushes through every shard: each user's push goes to their queue and its consumer sends it", async () => {
    const [ana] = await quickUsers(1, "qsana");
    const recipients = await oneUserPerShard(2);
    expect(recipients).toHaveLength(2);
    expect(queueFor(env, "PUSH_JOBS", recipients[1]!.user.user_id)).toBe(bindings.PUSH_JOBS_1);
    const browsers = await Promise.all(recipients.map(() => pushBrowser()));
    for (const [i, bo] of recipients.entries()) {
      const conversation = await directConversation(ana!, bo);
      const sub = await api("POST", "/api/v1/push/subscriptions", { token: bo.token, body: { device_id: "phone", ...subscriptionOf(browsers[i]!) } });
      expect(sub.status).toBe(201);
      const sent = await api("POST", `/api/v1/conversations/${conversation}/messages`, {
        token: ana!.token,
        body: { content: `to shard ${i}`, content_type: "text", client_msg_id: `qs${i}` },
      });
      expect(sent.status).toBe(201);
      const [push] = await until(() => recordedPushes(browsers[i]!), (r) => r.length >= 1, `the push on shard ${i}`);
      expect(await decryptPush(browsers[i]!, push!.body)).toMatchObject({ conversation_id: conversation, body: `to shard ${i}` });
    }
  });

  it("make thumbnails through every shard", async () => {
    const [ana] = await quickUsers(1, "qsmedia");
    const made = new Set<number>();
    for (let i = 0; i < 20 && made.size < 2; i++) {
      const mediaId = await upload(ana!, png(64, 48), "image/png");
      const shard = shardOf(mediaId, 2);
      if (made.has(shard)) continue;
      const res = await until(
        () => exports.default.fetch(`http://parley.test/api/v1/media/${mediaId}/thumbnail`, { headers: { Authorization: `Bearer ${ana!.token}` } }),
        (r) => r.status === 200,
        `the thumbnail on shard ${shard}`,
      );
      expect(res.headers.get("Content-Type")).toBe("image/jpeg");
      await res.arrayBuffer();
      made.add(shard);
    }
    expect([...made].sort()).toEqual([0, 1]);
  });
});
