import { Hono } from "hono";
import { userHome } from "../objects/homes";
import type { AppEnv } from "../middleware/auth";
import { ApiError, unwrap } from "../middleware/errors";
import { validate } from "../middleware/validate";
import { Endpoints, ErrorCode, Limits } from "../protocol";

/** Web Push: the server's public key, and each device's subscription. */
export const pushRoutes = new Hono<AppEnv>()
  .get("/vapid-public-key", (c) => {
    if (!c.env.VAPID_PUBLIC_KEY) throw new ApiError(ErrorCode.misconfigured, "push is not configured; see docs/deploy.md");
    return c.json({ key: c.env.VAPID_PUBLIC_KEY });
  })
  .post("/subscriptions", validate("json", Endpoints.subscribePush.body), async (c) => {
    unwrap(await userHome(c.env, c.var.userId).subscribePush(c.var.userId, c.req.valid("json"), c.var.sessionId));
    return c.body(null, 201);
  })
  .delete("/subscriptions/:device_id", async (c) => {
    const deviceId = c.req.param("device_id");
    if (!Limits.deviceIdPattern.test(deviceId) || !(await userHome(c.env, c.var.userId).unsubscribePush(c.var.userId, deviceId))) {
      throw new ApiError(ErrorCode.notFound, "no subscription for that device");
    }
    return c.body(null, 204);
  });
