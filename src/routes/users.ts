import { Hono } from "hono";
import { directoryStub, userStub } from "../env";
import { userIdPattern } from "../lib/ids";
import { cachedProfile } from "../lib/profileCache";
import { ApiError } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import { ErrorCode, UpdateMeBody, UserLookupQuery } from "../protocol";

export const userRoutes = new Hono<AppEnv>()
  .get("/me", async (c) => {
    const stub = userStub(c.env, c.var.userId);
    const user = await stub.profile();
    if (!user) throw new ApiError(ErrorCode.userNotFound, "your account no longer exists");
    return c.json({ user, settings: await stub.settings() });
  })
  .patch("/me", validate("json", UpdateMeBody), async (c) => {
    const stub = userStub(c.env, c.var.userId);
    const user = await stub.updateSettings(c.req.valid("json"));
    if (!user) throw new ApiError(ErrorCode.userNotFound, "your account no longer exists");
    return c.json({ user, settings: await stub.settings() });
  })
  .get("/:id", async (c) => {
    // Ids are unguessable and a profile is only a name: anyone signed in may resolve one (as a
    // client must, to name the members of its conversations).
    const id = c.req.param("id");
    const user = userIdPattern.test(id) ? await cachedProfile("id", id, () => userStub(c.env, id).profile(), c.executionCtx) : null;
    if (!user) throw new ApiError(ErrorCode.userNotFound, "no such user");
    return c.json({ user });
  })
  .get("/:id/presence", async (c) => {
    const result = await userStub(c.env, c.var.userId).presenceOf(c.req.param("id"));
    if (!result.ok) throw ApiError.from(result.error);
    return c.json(result.value);
  })
  .get("/", validate("query", UserLookupQuery), async (c) => {
    const { username } = c.req.valid("query");
    const user = await cachedProfile(
      "username",
      username,
      async () => {
        const account = await directoryStub(c.env, username).lookup();
        return account ? userStub(c.env, account.user_id).profile() : null;
      },
      c.executionCtx,
    );
    if (!user) throw new ApiError(ErrorCode.userNotFound, "no user with that username");
    return c.json({ user });
  });
