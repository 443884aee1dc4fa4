import { Hono, type Context } from "hono";
import { directoryStub } from "../env";
import { conversationHome, userHome } from "../objects/homes";
import { directConversationId, userIdPattern } from "../lib/ids";
import { cachedUserId } from "../lib/profileCache";
import { claimPhoto } from "../media/records";
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
  const user = userIdPattern.test(other) ? await userHome(c.env, other).profile(other) : null;
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
    const changes = c.req.valid("json");
    const home = userHome(c.env, me);
    if (changes.photo_media_id) unwrap(await claimPhoto(c.env, changes.photo_media_id, me, { kind: "user", id: me }));
    const user = await home.updateSettings(me, changes);
    if (!user) throw new ApiError(ErrorCode.userNotFound, "your account no longer exists");
    return c.json({ user, settings: await home.settings(me) });
  })
  .get("/me/blocked", async (c) => c.json({ user_ids: await userHome(c.env, c.var.userId).blocked(c.var.userId) }))
  .post("/:user_id/block", (c) => setBlocked(c, true))
  .delete("/:user_id/block", (c) => setBlocked(c, false))
  .get("/:user_id", async (c) => {
    // Ids are unguessable: anyone signed in may resolve one (as a client must, to name the members
    // of its conversations), and gets what the user's privacy settings show them.
    const id = c.req.param("user_id");
    const user = userIdPattern.test(id) ? await userHome(c.env, id).profileFor(id, c.var.userId) : null;
    if (!user) throw new ApiError(ErrorCode.userNotFound, "no such user");
    return c.json({ user });
  })
  .get("/:user_id/presence", async (c) => {
    return c.json(unwrap(await userHome(c.env, c.var.userId).presenceOf(c.var.userId, c.req.param("user_id"))));
  })
  .get("/", validate("query", Endpoints.findUser.query), async (c) => {
    const { username } = c.req.valid("query");
    const id = await cachedUserId(username, async () => (await directoryStub(c.env, username).lookup())?.user_id ?? null, c.executionCtx);
    const user = id ? await userHome(c.env, id).profileFor(id, c.var.userId) : null;
    if (!user) throw new ApiError(ErrorCode.userNotFound, "no user with that username");
    return c.json({ user });
  });
