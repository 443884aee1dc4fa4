import { z } from "zod";

/**
 * Operator endpoints (`/api/v1/admin/*`), for running a deployment rather than using it: not in the
 * SDK's endpoint table, authorized by the `ADMIN_SECRET` secret instead of a user's session, and absent
 * (404) where that secret is not set.
 */

/** A Durable Object id as the Cloudflare API lists it: 64 hex digits. */
export const ObjectId = z.string().regex(/^[0-9a-f]{64}$/, "a Durable Object id: 64 lowercase hex digits");

/**
 * Moves what some user or conversation objects hold, but should not under the deployment's current
 * USER_SHARDS / CONVERSATION_SHARDS, to the objects that should (docs/deploy.md, "Changing USER_SHARDS").
 */
export const RehomeBody = z.object({
  kind: z.enum(["users", "conversations"]),
  object_ids: z.array(ObjectId).min(1).max(50),
});
export type RehomeBody = z.infer<typeof RehomeBody>;

export const RehomeResponse = z.object({
  /** Per object, in the order asked: how many users or conversations it handed over. */
  moved: z.array(z.object({ object_id: ObjectId, moved: z.number().int().nonnegative() })),
});
export type RehomeResponse = z.infer<typeof RehomeResponse>;
