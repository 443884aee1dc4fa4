import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../middleware/auth";
import { sameSecret } from "../lib/timingSafe";
import { ApiError } from "../middleware/errors";
import { validate } from "../middleware/validate";
import { ErrorCode, RehomeBody, type RehomeResponse } from "../protocol";


/** Only with ADMIN_SECRET set, and only for a request that carries it as its bearer token. */
const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const secret = c.env.ADMIN_SECRET;
  if (!secret) throw new ApiError(ErrorCode.notFound, "no such route");
  const header = c.req.header("Authorization") ?? "";
  if (!header.startsWith("Bearer ") || !sameSecret(header.slice(7).trim(), secret)) {
    throw new ApiError(ErrorCode.unauthorized, "admin routes need the ADMIN_SECRET as a bearer token");
  }
  await next();
});

/**
 * Operator routes. `POST /rehome` asks each named user or conversation object to hand what it should
 * no longer hold, under the deployment's current shard counts, to its new home (docs/deploy.md). An
 * object that holds nothing to move answers 0, so a list may be sent again after an interruption.
 */
export const adminRoutes = new Hono<AppEnv>().use("*", requireAdmin).post("/rehome", validate("json", RehomeBody), async (c) => {
  const { kind, object_ids } = c.req.valid("json");
  const moved: RehomeResponse["moved"] = [];
  // One object after another: each move is a call into the new home per user or conversation.
  for (const objectId of object_ids) {
    const namespace = kind === "users" ? c.env.USERS : c.env.CONVERSATIONS;
    let id: DurableObjectId;
    try {
      id = namespace.idFromString(objectId);
    } catch {
      // An id of another namespace (or made up) is refused by the runtime.
      throw new ApiError(ErrorCode.badRequest, `${objectId} is not an object of the ${kind} namespace`);
    }
    moved.push({ object_id: objectId, moved: await namespace.get(id).rehome() });
  }
  return c.json({ moved } satisfies RehomeResponse);
});
