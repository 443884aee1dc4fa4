import { Hono } from "hono";
import { conversationHome, userHome } from "../objects/homes";
import { conversationIdPattern } from "../lib/ids";
import { ApiError, unwrap } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { ErrorCode, Limits } from "../protocol";
import { admitJoins, releaseJoins, settleVerdicts } from "./joins";

/**
 * The two ways into a group besides being added: accepting an invitation (sent when the user's
 * "who can add me" setting did not allow the adder) and a group's invite link.
 */


export const invitationRoutes = new Hono<AppEnv>()
  .get("/", async (c) => c.json({ invitations: await userHome(c.env, c.var.userId).invitations(c.var.userId) }))
  .post("/:conversation_id/accept", async (c) => {
    const me = c.var.userId;
    const id = c.req.param("conversation_id");
    if (!conversationIdPattern.test(id)) throw new ApiError(ErrorCode.invitationNotFound, "no pending invitation to that conversation");
    const invitation = unwrap(await userHome(c.env, me).acceptInvitation(me, id));
    const joined = await conversationHome(c.env, id).join(id, me, { invitation: invitation.inviter_id });
    if (!joined.ok) {
      await releaseJoins(c.env, [{ user_id: me, conversation_id: id }]);
      // The group is gone or the inviter lost the right to invite: the invitation is spent.
      if (joined.error.code === ErrorCode.invitationNotFound) await userHome(c.env, me).declineInvitation(me, id);
    }
    return c.json({ conversation: unwrap(joined) });
  })
  .delete("/:conversation_id", async (c) => {
    const me = c.var.userId;
    if (!(await userHome(c.env, me).declineInvitation(me, c.req.param("conversation_id")))) {
      throw new ApiError(ErrorCode.invitationNotFound, "no pending invitation to that conversation");
    }
    return c.body(null, 204);
  });

/** A link's token is `<conversation id>.<secret>`: the id names the object to ask. */
function linkTarget(token: string): string {
  const id = token.slice(0, token.lastIndexOf("."));
  if (token.length > 200 || !conversationIdPattern.test(id)) throw new ApiError(ErrorCode.inviteLinkInvalid, "this invite link is not valid");
  return id;
}

export const inviteLinkRoutes = new Hono<AppEnv>()
  .get("/:token", async (c) => {
    const token = c.req.param("token");
    const id = linkTarget(token);
    const preview = await conversationHome(c.env, id).previewInvite(id, token);
    if (!preview) throw new ApiError(ErrorCode.inviteLinkInvalid, "this invite link was revoked or is not valid");
    return c.json(preview);
  })
  .post("/:token/join", async (c) => {
    const me = c.var.userId;
    const token = c.req.param("token");
    const id = linkTarget(token);
    // Joining draws on the same rate as creating groups: tokens cannot be tried at speed.
    if (!(await userHome(c.env, me).admitGroupChange(me))) {
      throw new ApiError(ErrorCode.rateLimited, `slow down: at most ${Limits.groupChangeBurst} group joins or changes at once, then one every ${Limits.groupChangeEverySeconds} s`);
    }
    // Joining by link is the user's own doing: it counts toward their own cap.
    const requests = [{ user_id: me, conversation_id: id, adder_id: me, group: true }];
    const { held } = await settleVerdicts(c.env, requests, await admitJoins(c.env, requests));
    const joined = await conversationHome(c.env, id).join(id, me, { token });
    if (!joined.ok) await releaseJoins(c.env, held);
    return c.json({ conversation: unwrap(joined) });
  });
