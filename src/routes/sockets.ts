import { Hono, type Context } from "hono";
import { conversationStub, userStub } from "../env";
import { conversationIdPattern } from "../lib/ids";
import { errorResponse } from "../middleware/errors";
import { subprotocols, type AppEnv } from "../middleware/auth";
import { SUBPROTOCOL_HEADER, TOKEN_ID_HEADER, USER_ID_HEADER } from "../objects/upgrade";
import { ErrorCode } from "../protocol";

/**
 * Forwards an authenticated upgrade to the object that will own the socket (requireAuth ran
 * first, so a bad token was already answered 401 and nothing was accepted).
 */
function forwardUpgrade(c: Context<AppEnv>, stub: { fetch(request: Request): Promise<Response> }) {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(c, ErrorCode.badRequest, "expected a WebSocket upgrade");
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set(USER_ID_HEADER, c.var.userId);
  headers.set(TOKEN_ID_HEADER, c.var.tokenId);
  // A browser that offered subprotocols fails the handshake unless one is echoed back.
  const offered = subprotocols(c.req.raw);
  const chosen = offered.find((p) => !p.startsWith("bearer.")) ?? offered[0];
  if (chosen) headers.set(SUBPROTOCOL_HEADER, chosen);
  else headers.delete(SUBPROTOCOL_HEADER);
  return stub.fetch(new Request(c.req.raw, { headers }));
}

/**
 * The device socket. The route authenticates (requireAuth ran before this) and forwards the raw
 * upgrade to the user's object, which accepts it as a hibernatable socket. Hono's
 * upgradeWebSocket is deliberately not used: it would accept the socket here, in the Worker.
 */
export const socketRoutes = new Hono<AppEnv>()
  .get("/ws", (c) => forwardUpgrade(c, userStub(c.env, c.var.userId)))
  /** The live socket of one open conversation, served by the conversation object itself. */
  .get("/conversations/:id/ws", (c) => {
    const id = c.req.param("id");
    if (!conversationIdPattern.test(id)) return errorResponse(c, ErrorCode.conversationNotFound, "no such conversation");
    return forwardUpgrade(c, conversationStub(c.env, id));
  });
