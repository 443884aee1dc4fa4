import { Hono } from "hono";
import { conversationHome, userHome } from "../objects/homes";
import { conversationIdPattern, directConversationId, newId } from "../lib/ids";
import type { Logger } from "../lib/log";
import { ApiError, unwrap } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import { actionOutgoing, checkOutgoing, Endpoints, ErrorCode, forwardOutgoing, Limits } from "../protocol";
import type { Env } from "../env";
import { ok, refuse, type Result } from "../lib/result";
import { historyRateLimited, sendRateLimited } from "../lib/sendRate";
import { admitJoins, releaseJoins, sendInvitations, settleVerdicts } from "./joins";

/** Many conversations at once, a bounded number in flight (each is a call to its object); one that fails is reported, not thrown. */
async function inBatches<T>(log: Logger, ids: string[], one: (id: string) => Promise<Result<T>>): Promise<Result<unknown>[]> {
  const outcomes: Result<unknown>[] = [];
  for (let i = 0; i < ids.length; i += 25) {
    const batch = ids.slice(i, i + 25).map((id) =>
      one(id).catch((error: unknown) => {
        log.error("conversation call failed", { conversation_id: id, error });
        return refuse(ErrorCode.internal, "try again");
      }),
    );
    outcomes.push(...(await Promise.all(batch)));
  }
  return outcomes;
}

function bulkResponse(ids: string[], outcomes: Result<unknown>[]) {
  return {
    done: ids.filter((_, i) => outcomes[i]!.ok),
    failed: ids.flatMap((conversation_id, i) => {
      const o = outcomes[i]!;
      return o.ok ? [] : [{ conversation_id, error: o.error }];
    }),
  };
}


/** The conversation id from the path; anything that is not one of ours is a plain 404. */
function conversationParam(id: string): string {
  if (!conversationIdPattern.test(id)) throw new ApiError(ErrorCode.conversationNotFound, "no such conversation");
  return id;
}

/** Creating groups and adding members draw on one rate per adder (Limits.groupChangeBurst). */
async function requireGroupChangeAllowed(env: Env, userId: string): Promise<void> {
  if (!(await userHome(env, userId).admitGroupChange(userId))) {
    throw new ApiError(ErrorCode.rateLimited, `slow down: at most ${Limits.groupChangeBurst} group creations or member adds at once, then one every ${Limits.groupChangeEverySeconds} s`);
  }
}

export const conversationRoutes = new Hono<AppEnv>()
  .post("/", validate("json", Endpoints.createConversation.body), async (c) => {
    const body = c.req.valid("json");
    const me = c.var.userId;
    if (body.type === "group") {
      await requireGroupChangeAllowed(c.env, me);
      const others = [...new Set(body.member_ids)].filter((id) => id !== me);
      if (others.length + 1 > Limits.groupMaxMembers) {
        throw new ApiError(ErrorCode.groupTooLarge, `a group has at most ${Limits.groupMaxMembers} members`);
      }
      const id = newId("g");
      // The creator's own place, and each other's by the creator's hand: consent and caps decide.
      const requests = [me, ...others].map((user_id) => ({ user_id, conversation_id: id, adder_id: me, group: true }));
      const { held, invite } = await settleVerdicts(c.env, requests, await admitJoins(c.env, requests));
      const added = held.map((r) => r.user_id).filter((u) => u !== me);
      const created = await conversationHome(c.env, id).createGroup(id, me, body.name, added);
      if (!created.ok) await releaseJoins(c.env, held);
      const conversation = unwrap(created);
      await userHome(c.env, me).noteContacts(me, added);
      const invited = invite.length > 0 ? await sendInvitations(c.env, invite, id, conversation.name, me) : [];
      return c.json({ conversation, ...(invited.length > 0 ? { invited } : {}) }, 201);
    }
    const other = body.member_ids[0]!;
    if (other === me) throw new ApiError(ErrorCode.badRequest, "a direct conversation needs another user");
    const id = await directConversationId(me, other);
    // Anyone may write to anyone (no consent for direct chats), but the chat counts toward the other's cap.
    const requests = [me, other].map((user_id) => ({ user_id, conversation_id: id, adder_id: me, group: false }));
    const { held } = await settleVerdicts(c.env, requests, await admitJoins(c.env, requests));
    const opened = await conversationHome(c.env, id).openDirect(id, me, other);
    if (!opened.ok) await releaseJoins(c.env, held);
    const { conversation, created } = unwrap(opened);
    await userHome(c.env, me).noteContacts(me, [other]);
    if (created) {
      // A block made before the chat existed applies to it from its first message (either way round).
      const [iBlock, theyBlock] = await Promise.all([userHome(c.env, me).blocks(me, other), userHome(c.env, other).blocks(other, me)]);
      if (iBlock) await conversationHome(c.env, id).setBlocked(id, me, other, true);
      if (theyBlock) await conversationHome(c.env, id).setBlocked(id, other, me, true);
    }
    return c.json({ conversation }, created ? 201 : 200);
  })
  .post("/leave", validate("json", Endpoints.leaveMany.body), async (c) => {
    const me = c.var.userId;
    const ids = [...new Set(c.req.valid("json").conversation_ids)];
    const outcomes = await inBatches(c.var.log, ids, async (id) =>
      conversationIdPattern.test(id) ? conversationHome(c.env, id).removeMember(id, me, me) : refuse(ErrorCode.conversationNotFound, "no such conversation"),
    );
    return c.json(bulkResponse(ids, outcomes));
  })
  .post("/archive", validate("json", Endpoints.archiveMany.body), async (c) => {
    const me = c.var.userId;
    const { conversation_ids, archived } = c.req.valid("json");
    const ids = [...new Set(conversation_ids)];
    const done = new Set(await userHome(c.env, me).archiveConversations(me, ids, archived));
    return c.json(bulkResponse(ids, ids.map((id) => (done.has(id) ? ok(null) : refuse(ErrorCode.conversationNotFound, "not in your conversation list")))));
  })
  .patch("/:conversation_id/settings", validate("json", Endpoints.conversationSettings.body), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const me = c.var.userId;
    const settings = unwrap(await userHome(c.env, me).updateConversationSettings(me, id, c.req.valid("json")));
    return c.json({ settings });
  })
  .post("/:conversation_id/report", validate("json", Endpoints.report.body), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const me = c.var.userId;
    const { reason, leave } = c.req.valid("json");
    const home = conversationHome(c.env, id);
    // What the reporter sees of the conversation now: its newest messages (membership is checked here).
    const { messages } = unwrap(await home.history(id, me, { limit: Limits.reportMessages }));
    const at = Date.now();
    const reportId = `${new Date(at).toISOString()}-${me}`;
    const report = { report_id: reportId, conversation_id: id, reporter_id: me, reason: reason ?? null, at, messages };
    try {
      await c.env.ARCHIVE.put(`reports/${id}/${reportId}.json`, JSON.stringify(report), { httpMetadata: { contentType: "application/json" } });
    } catch (error) {
      c.var.log.error("report not stored", { conversation_id: id, error });
      throw new ApiError(ErrorCode.storageUnavailable, "the report could not be stored; try again");
    }
    const left = leave ? (await home.removeMember(id, me, me)).ok : false;
    return c.json({ report_id: reportId, left }, 201);
  })
  .patch("/:conversation_id", validate("json", Endpoints.updateGroup.body), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const change = c.req.valid("json");
    const conversation = unwrap(await conversationHome(c.env, id).updateGroup(id, c.var.userId, change));
    return c.json({ conversation });
  })
  .post("/:conversation_id/members", validate("json", Endpoints.addMembers.body), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const me = c.var.userId;
    const userIds = [...new Set(c.req.valid("json").user_ids)];
    if (userIds.length > Limits.groupMaxMembers) {
      throw new ApiError(ErrorCode.groupTooLarge, `a group has at most ${Limits.groupMaxMembers} members`);
    }
    await requireGroupChangeAllowed(c.env, me);
    const requests = userIds.map((user_id) => ({ user_id, conversation_id: id, adder_id: me, group: true }));
    const { held, invite, members } = await settleVerdicts(c.env, requests, await admitJoins(c.env, requests));
    // The conversation checks that the adder is an admin, even when nobody is added directly, before any invitation goes.
    const result = await conversationHome(c.env, id).addMembers(id, me, [...held.map((r) => r.user_id), ...members]);
    if (!result.ok) await releaseJoins(c.env, held);
    const conversation = unwrap(result);
    await userHome(c.env, me).noteContacts(me, held.map((r) => r.user_id));
    const invited = invite.length > 0 ? await sendInvitations(c.env, invite, id, conversation.name, me) : [];
    return c.json({ conversation, ...(invited.length > 0 ? { invited } : {}) });
  })
  .post("/:conversation_id/invite-link", async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const token = unwrap(await conversationHome(c.env, id).inviteLink(id, c.var.userId, "get"));
    return c.json({ token: token! });
  })
  .delete("/:conversation_id/invite-link", async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    unwrap(await conversationHome(c.env, id).inviteLink(id, c.var.userId, "revoke"));
    return c.body(null, 204);
  })
  .delete("/:conversation_id/members/:user_id", async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const conversation = unwrap(await conversationHome(c.env, id).removeMember(id, c.var.userId, c.req.param("user_id")));
    return c.json({ conversation });
  })
  .patch("/:conversation_id/members/:user_id", validate("json", Endpoints.setRole.body), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const { role } = c.req.valid("json");
    const conversation = unwrap(await conversationHome(c.env, id).setRole(id, c.var.userId, c.req.param("user_id"), role));
    return c.json({ conversation });
  })
  .get("/:conversation_id/messages/:server_msg_id/receipts", async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const receipts = unwrap(await conversationHome(c.env, id).receipts(id, c.var.userId, c.req.param("server_msg_id")));
    return c.json({ receipts });
  })
  .get("/", validate("query", Endpoints.listConversations.query), async (c) => {
    return c.json(await userHome(c.env, c.var.userId).listConversations(c.var.userId, c.req.valid("query")));
  })
  .get("/:conversation_id", async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const conversation = unwrap(await conversationHome(c.env, id).describe(id, c.var.userId));
    return c.json({ conversation });
  })
  .get("/:conversation_id/members/history", validate("query", Endpoints.memberHistory.query), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    return c.json(unwrap(await conversationHome(c.env, id).memberHistory(id, c.var.userId, c.req.valid("query"))));
  })
  .get("/:conversation_id/messages", validate("query", Endpoints.history.query), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    if (!(await userHome(c.env, c.var.userId).admitHistory(c.var.userId))) {
      throw ApiError.from(historyRateLimited);
    }
    const page = unwrap(await conversationHome(c.env, id).history(id, c.var.userId, c.req.valid("query")));
    return c.json(page);
  })
  .post("/:conversation_id/messages", validate("json", Endpoints.sendMessage.body), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    if ((await userHome(c.env, c.var.userId).admitSendsUpTo(c.var.userId, 1, id)) === 0) {
      throw ApiError.from(sendRateLimited);
    }
    const [outcome] = unwrap(await conversationHome(c.env, id).sendMessages(id, c.var.userId, [c.req.valid("json")]));
    if (!outcome!.ok) throw ApiError.from(outcome!.error);
    return c.json(outcome!.ack, 201);
  })
  .post("/:conversation_id/messages/:server_msg_id/actions", validate("json", Endpoints.messageAction.body), async (c) => {
    const id = conversationParam(c.req.param("conversation_id"));
    const action = actionOutgoing(c.req.valid("json"), c.req.param("server_msg_id"));
    const refused = checkOutgoing(action);
    if (refused) throw ApiError.from(refused);
    if ((await userHome(c.env, c.var.userId).admitSendsUpTo(c.var.userId, 1, id)) === 0) {
      throw ApiError.from(sendRateLimited);
    }
    const [outcome] = unwrap(await conversationHome(c.env, id).sendMessages(id, c.var.userId, [action]));
    if (!outcome!.ok) throw ApiError.from(outcome!.error);
    return c.json(outcome!.ack, 201);
  })
  .post("/:conversation_id/messages/:server_msg_id/forward", validate("json", Endpoints.forward.body), async (c) => {
    const from = { conversation_id: conversationParam(c.req.param("conversation_id")), server_msg_id: c.req.param("server_msg_id") };
    const { conversation_ids, client_msg_id } = c.req.valid("json");
    // The original is checked first, so a forward of something the sender cannot read is refused as a whole.
    unwrap(await conversationHome(c.env, from.conversation_id).forwardable(from.conversation_id, c.var.userId, from.server_msg_id));
    const targets = [...new Set(conversation_ids)];
    const admitted = await userHome(c.env, c.var.userId).admitSendsUpTo(c.var.userId, targets.length);
    const results = await Promise.all(
      targets.map(async (conversation_id, i) => {
        if (i >= admitted) return { conversation_id, error: sendRateLimited };
        if (!conversationIdPattern.test(conversation_id)) return { conversation_id, error: { code: ErrorCode.conversationNotFound, message: "no such conversation" } };
        const sent = await conversationHome(c.env, conversation_id).sendMessages(conversation_id, c.var.userId, [forwardOutgoing(client_msg_id, from)]);
        if (!sent.ok) return { conversation_id, error: sent.error };
        const outcome = sent.value[0]!;
        return outcome.ok ? { conversation_id, ack: outcome.ack } : { conversation_id, error: outcome.error };
      }),
    );
    return c.json({ results });
  });
