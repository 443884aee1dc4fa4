import { Hono } from "hono";
import { conversationStub, userStub } from "../env";
import { conversationIdPattern, directConversationId, userIdPattern } from "../lib/ids";
import { ApiError } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import { CreateConversationBody, ErrorCode, HistoryQuery, SendMessageBody } from "../protocol";
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

export const conversationRoutes = new Hono<AppEnv>()
  .post("/", validate("json", CreateConversationBody), async (c) => {
    const body = c.req.valid("json");
    const me = c.var.userId;
    const other = body.member_ids[0]!;
    if (other === me) throw new ApiError(ErrorCode.badRequest, "a direct conversation needs another user");
    if (!userIdPattern.test(other) || !(await userStub(c.env, other).profile())) {
      throw new ApiError(ErrorCode.userNotFound, "no such user");
    }
    const id = await directConversationId(me, other);
    const { conversation, created } = unwrap(await conversationStub(c.env, id).openDirect(id, me, other));
    return c.json({ conversation }, created ? 201 : 200);
  })
  .get("/", async (c) => {
    const conversations = await userStub(c.env, c.var.userId).listConversations();
    return c.json({ conversations });
  })
  .get("/:id", async (c) => {
    const id = conversationParam(c.req.param("id"));
    const conversation = unwrap(await conversationStub(c.env, id).describe(c.var.userId));
    return c.json({ conversation });
  })
  .get("/:id/messages", validate("query", HistoryQuery), async (c) => {
    const id = conversationParam(c.req.param("id"));
    const page = unwrap(await conversationStub(c.env, id).history(c.var.userId, c.req.valid("query")));
    return c.json(page);
  })
  .post("/:id/messages", validate("json", SendMessageBody), async (c) => {
    const id = conversationParam(c.req.param("id"));
    const [outcome] = unwrap(await conversationStub(c.env, id).sendMessages(c.var.userId, [c.req.valid("json")]));
    if (!outcome!.ok) throw ApiError.from(outcome!.error);
    return c.json(outcome!.ack, 201);
  });
