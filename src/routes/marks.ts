import { Hono } from "hono";
import type { Env } from "../env";
import { conversationIdPattern, seqOfServerMsgId } from "../lib/ids";
import { conversationHome, userHome } from "../objects/homes";
import type { MarkedMessage, StarredMark } from "../objects/user/marks";
import { ApiError, unwrap } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import { Endpoints, ErrorCode, isAction, type StarredMessage } from "../protocol";

/**
 * A user's own marks on messages: starring, and "delete for me" (hiding), kept in their user object
 * (objects/user/marks.ts) and shown on their devices only. Marking a message is checked with its
 * conversation first: the user is a member and can see it.
 */

/** The message, if the user may mark it: a message (not an action) of a conversation they are in, sent since they joined. */
async function markable(env: Env, userId: string, conversationId: string, serverMsgId: string): Promise<MarkedMessage> {
  if (!conversationIdPattern.test(conversationId)) throw new ApiError(ErrorCode.conversationNotFound, "no such conversation");
  const [message] = unwrap(await conversationHome(env, conversationId).messagesAt(conversationId, userId, [serverMsgId]));
  if (!message || isAction(message)) throw new ApiError(ErrorCode.messageNotFound, "no such message in this conversation");
  return { conversation_id: conversationId, server_msg_id: serverMsgId, seq: message.seq };
}

/**
 * Each starred message as it is now: one call per conversation, all at once. A message its
 * conversation no longer shows the user (they left it meanwhile) is left out.
 */
async function asTheyAreNow(env: Env, userId: string, marks: StarredMark[]): Promise<StarredMessage[]> {
  const byConversation = new Map<string, StarredMark[]>();
  for (const m of marks) {
    const some = byConversation.get(m.conversation_id);
    if (some) some.push(m);
    else byConversation.set(m.conversation_id, [m]);
  }
  const found = new Map<string, StarredMessage["message"]>();
  await Promise.all(
    [...byConversation].map(async ([conversationId, some]) => {
      const answer = await conversationHome(env, conversationId).messagesAt(conversationId, userId, some.map((m) => m.server_msg_id));
      if (!answer.ok) return;
      answer.value.forEach((message, i) => message && found.set(`${conversationId}\n${some[i]!.server_msg_id}`, message));
    }),
  );
  return marks.flatMap((m) => {
    const message = found.get(`${m.conversation_id}\n${m.server_msg_id}`);
    return message ? [{ message, starred_at: m.starred_at }] : [];
  });
}

/** `POST|DELETE /conversations/:conversation_id/messages/:server_msg_id/{star,hide}`. */
export const messageMarkRoutes = new Hono<AppEnv>()
  .post("/:conversation_id/messages/:server_msg_id/star", async (c) => {
    const me = c.var.userId;
    const message = await markable(c.env, me, c.req.param("conversation_id"), c.req.param("server_msg_id"));
    unwrap(await userHome(c.env, me).starMessage(me, message));
    return c.body(null, 204);
  })
  .delete("/:conversation_id/messages/:server_msg_id/star", async (c) => {
    // Only ever the caller's own star: no need to ask the conversation (and one they left can still be unstarred).
    const conversationId = c.req.param("conversation_id");
    const serverMsgId = c.req.param("server_msg_id");
    if (!conversationIdPattern.test(conversationId)) throw new ApiError(ErrorCode.conversationNotFound, "no such conversation");
    if (seqOfServerMsgId(serverMsgId) === null) throw new ApiError(ErrorCode.messageNotFound, "no such message in this conversation");
    await userHome(c.env, c.var.userId).unstarMessage(c.var.userId, conversationId, serverMsgId);
    return c.body(null, 204);
  })
  .post("/:conversation_id/messages/:server_msg_id/hide", async (c) => {
    const me = c.var.userId;
    const message = await markable(c.env, me, c.req.param("conversation_id"), c.req.param("server_msg_id"));
    unwrap(await userHome(c.env, me).hideMessage(me, message));
    return c.body(null, 204);
  });

/** `GET /users/me/starred` and `GET /users/me/marks`. */
export const myMarkRoutes = new Hono<AppEnv>()
  .get("/me/starred", validate("query", Endpoints.starred.query), async (c) => {
    const me = c.var.userId;
    const { before, limit } = c.req.valid("query");
    const page = await userHome(c.env, me).starredMarks(me, before, limit);
    return c.json({ starred: await asTheyAreNow(c.env, me, page.starred), has_more: page.has_more });
  })
  .get("/me/marks", validate("query", Endpoints.marks.query), async (c) => {
    const { after, limit } = c.req.valid("query");
    return c.json(await userHome(c.env, c.var.userId).markChanges(c.var.userId, after, limit));
  });
