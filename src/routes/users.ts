import { Hono, type Context } from "hono";
import { directoryStub } from "../env";
import { conversationHome, userHome } from "../objects/homes";
import { directConversationId, userIdPattern } from "../lib/ids";
import { cachedProfile } from "../lib/profileCache";
import { ApiError, unwrap } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import { Endpoints, ErrorCode } from "../protocol";

/**
 * Blocks or unblocks a user: kept in the blocker's user object (adds, invitations, presence), and
 * told to their direct chat if there is one (its messages and typing: conversation/withheld.ts).
 */
async function setBlocked(c: Context<AppEnv>, blocked: boolean) {
  const me = c.var.userId;
  const other = c.req.param("user_id")!;
  if (other === me) throw new ApiError(ErrorCode.badRequest, "you cannot block yourself");
  const user = userIdPattern.test(other) ? await cachedProfile("id", other, () => userHome(c.env, other).profile(other), c.executionCtx) : null;
  if (!user) throw new ApiError(ErrorCode.userNotFound, "no such user");
  const directId = await directConversationId(me, other);
  const outcome = await userHome(c.env, me).setBlocked(me, other, blocked, directId);
  if (!outcome) throw new ApiError(ErrorCode.userNotFound, "your account no longer exists");
  if (outcome.direct) await conversationHome(c.env, directId).setBlocked(directId, me, other, blocked);
  return c.body(null, 204);
}

export const userRoutes = new Hono<AppEnv>()
  .get("/me", async (c) => {
    const me = c.var.userId;
    const home = userHome(c.env, me);
    const [user, settings] = await Promise.all([home.profile(me), home.settings(me)]);
    if (!user) throw new ApiError(ErrorCode.userNotFound, "your account no longer exists");
    return c.json({ user, settings });
  })
  .patch("/me", validate("json", Endpoints.updateMe.body), async (c) => {
    const me = c.var.userId;
    const home = userHome(c.env, me);
    const user = await home.updateSettings(me, c.req.valid("json"));
    if (!user) throw new ApiError(ErrorCode.userNotFound, "your account no longer exists");
    return c.json({ user, settings: await home.settings(me) });
  })
  .get("/me/blocked", async (c) => c.json({ user_ids: await userHome(c.env, c.var.userId).blocked(c.var.userId) }))
  .post("/:user_id/block", (c) => setBlocked(c, true))
  .delete("/:user_id/block", (c) => setBlocked(c, false))
  .get("/:user_id", async (c) => {
    // Ids are unguessable and a profile is only a name: anyone signed in may resolve one (as a
    // client must, to name the members of its conversations).
    const id = c.req.param("user_id");
    const user = userIdPattern.test(id) ? await cachedProfile("id", id, () => userHome(c.env, id).profile(id), c.executionCtx) : null;
    if (!user) throw new ApiError(ErrorCode.userNotFound, "no such user");
    return c.json({ user });
  })
  .get("/:user_id/presence", async (c) => {
    return c.json(unwrap(await userHome(c.env, c.var.userId).presenceOf(c.var.userId, c.req.param("user_id"))));
  })
  .get("/", validate("query", Endpoints.findUser.query), async (c) => {
    const { username } = c.req.valid("query");
    const user = await cachedProfile(
      "username",
      username,
      async () => {
        const account = await directoryStub(c.env, username).lookup();
        return account ? userHome(c.env, account.user_id).profile(account.user_id) : null;
      },
      c.executionCtx,
    );
    if (!user) throw new ApiError(ErrorCode.userNotFound, "no user with that username");
    return c.json({ user });
  });
