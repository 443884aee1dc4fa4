import { Hono } from "hono";
import { conversationHome, userHome } from "../objects/homes";
import { conversationIdPattern, directConversationId, newId, userIdPattern } from "../lib/ids";
import { ApiError } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import {
  AddMembersBody,
  CreateConversationBody,
  ErrorCode,
  HistoryQuery,
  Limits,
  RenameBody,
  SendMessageBody,
  SetRoleBody,
} from "../protocol";
import type { Env } from "../env";
import type { Result } from "../lib/result";

/** Unwraps an object's answer, turning a refusal into the HTTP error shape. */
function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw ApiError.from(result.error);
  return result.value;
}

/** The conversation id from the path; anything that is not one of ours is a plain 404. */
function conversationParam(id: string): string {
  if (!conversationIdPattern.test(id)) throw new ApiError(ErrorCode.conversationNotFound, "no such conversation");
  return id;
}

/**
 * Every id must be a registered user with room for one more conversation (or in this one already);
 * checked concurrently, one user object each. Without the second check a user could be added to
 * any number of groups, and every group's traffic lands on that one user object.
 */
async function requireJoinable(env: Env, ids: string[], conversationId: string | null): Promise<void> {
  const unique = [...new Set(ids)];
  const answers = await Promise.all(unique.map((id) => (userIdPattern.test(id) ? userHome(env, id).joinable(id, conversationId) : null)));
  const missing = unique.filter((_, i) => answers[i] === null);
  if (missing.length > 0) throw new ApiError(ErrorCode.userNotFound, `no such user: ${missing.slice(0, 3).join(", ")}`);
  const full = unique.filter((_, i) => !answers[i]!.member && answers[i]!.conversations >= Limits.conversationsPerUser);
  if (full.length > 0) {
    throw new ApiError(ErrorCode.tooManyConversations, `already in ${Limits.conversationsPerUser} conversations: ${full.slice(0, 3).join(", ")}`);
  }
}

/** Creating groups and adding members draw on one rate per adder (Limits.groupChangeBurst). */
async function requireGroupChangeAllowed(env: Env, userId: string): Promise<void> {
  if (!(await userHome(env, userId).admitGroupChange(userId))) {
    throw new ApiError(ErrorCode.rateLimited, `slow down: at most ${Limits.groupChangeBurst} group creations or member adds at once, then one every ${Limits.groupChangeEverySeconds} s`);
  }
}

export const conversationRoutes = new Hono<AppEnv>()
  .post("/", validate("json", CreateConversationBody), async (c) => {
    const body = c.req.valid("json");
    const me = c.var.userId;
    if ((await userHome(c.env, me).conversationCount(me)) >= Limits.conversationsPerUser) {
      throw new ApiError(ErrorCode.rateLimited, `at most ${Limits.conversationsPerUser} conversations per account`);
    }
    if (body.type === "group") {
      await requireGroupChangeAllowed(c.env, me);
      const others = [...new Set(body.member_ids)].filter((id) => id !== me);
      if (others.length + 1 > Limits.groupMaxMembers) {
        throw new ApiError(ErrorCode.groupTooLarge, `a group has at most ${Limits.groupMaxMembers} members`);
      }
      await requireJoinable(c.env, others, null);
      const id = newId("g");
      const conversation = unwrap(await conversationHome(c.env, id).createGroup(id, me, body.name, others));
      return c.json({ conversation }, 201);
    }
    const other = body.member_ids[0]!;
    if (other === me) throw new ApiError(ErrorCode.badRequest, "a direct conversation needs another user");
    const id = await directConversationId(me, other);
    await requireJoinable(c.env, [other], id);
    const { conversation, created } = unwrap(await conversationHome(c.env, id).openDirect(id, me, other));
    return c.json({ conversation }, created ? 201 : 200);
  })
  .patch("/:id", validate("json", RenameBody), async (c) => {
    const id = conversationParam(c.req.param("id"));
    const conversation = unwrap(await conversationHome(c.env, id).renameGroup(id, c.var.userId, c.req.valid("json").name));
    return c.json({ conversation });
  })
  .post("/:id/members", validate("json", AddMembersBody), async (c) => {
    const id = conversationParam(c.req.param("id"));
    const { user_ids } = c.req.valid("json");
    if (new Set(user_ids).size > Limits.groupMaxMembers) {
      throw new ApiError(ErrorCode.groupTooLarge, `a group has at most ${Limits.groupMaxMembers} members`);
    }
    await requireGroupChangeAllowed(c.env, c.var.userId);
    await requireJoinable(c.env, user_ids, id);
    const conversation = unwrap(await conversationHome(c.env, id).addMembers(id, c.var.userId, user_ids));
    return c.json({ conversation });
  })
  .delete("/:id/members/:user_id", async (c) => {
    const id = conversationParam(c.req.param("id"));
    const conversation = unwrap(await conversationHome(c.env, id).removeMember(id, c.var.userId, c.req.param("user_id")));
    return c.json({ conversation });
  })
  .patch("/:id/members/:user_id", validate("json", SetRoleBody), async (c) => {
    const id = conversationParam(c.req.param("id"));
    const { role } = c.req.valid("json");
    const conversation = unwrap(await conversationHome(c.env, id).setRole(id, c.var.userId, c.req.param("user_id"), role));
    return c.json({ conversation });
  })
  .get("/:id/messages/:server_msg_id/receipts", async (c) => {
    const id = conversationParam(c.req.param("id"));
    const receipts = unwrap(await conversationHome(c.env, id).receipts(id, c.var.userId, c.req.param("server_msg_id")));
    return c.json({ receipts });
  })
  .get("/", async (c) => {
    const conversations = await userHome(c.env, c.var.userId).listConversations(c.var.userId);
    return c.json({ conversations });
  })
  .get("/:id", async (c) => {
    const id = conversationParam(c.req.param("id"));
    const conversation = unwrap(await conversationHome(c.env, id).describe(id, c.var.userId));
    return c.json({ conversation });
  })
  .get("/:id/messages", validate("query", HistoryQuery), async (c) => {
    const id = conversationParam(c.req.param("id"));
    if (!(await userHome(c.env, c.var.userId).admitHistory(c.var.userId))) {
      throw new ApiError(ErrorCode.rateLimited, `slow down: at most ${Limits.historyPerSecond} history requests a second (bursts of ${Limits.historyBurst})`);
    }
    const page = unwrap(await conversationHome(c.env, id).history(id, c.var.userId, c.req.valid("query")));
    return c.json(page);
  })
  .post("/:id/messages", validate("json", SendMessageBody), async (c) => {
    const id = conversationParam(c.req.param("id"));
    if ((await userHome(c.env, c.var.userId).admitSendsUpTo(c.var.userId, 1)) === 0) {
      throw new ApiError(ErrorCode.rateLimited, `slow down: at most ${Limits.sendPerSecond} messages a second; retry shortly`);
    }
    const [outcome] = unwrap(await conversationHome(c.env, id).sendMessages(id, c.var.userId, [c.req.valid("json")]));
    if (!outcome!.ok) throw ApiError.from(outcome!.error);
    return c.json(outcome!.ack, 201);
  });
