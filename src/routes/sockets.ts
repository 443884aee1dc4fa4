import { Hono, type Context } from "hono";
import type { Env } from "../env";
import { conversationHome, userHome } from "../objects/homes";
import { conversationIdPattern } from "../lib/ids";
import { errorResponse } from "../middleware/errors";
import { subprotocols, type AppEnv } from "../middleware/auth";
import { CONVERSATION_ID_HEADER, SUBPROTOCOL_HEADER, TOKEN_ID_HEADER, USER_ID_HEADER } from "../objects/upgrade";
import { ErrorCode } from "../protocol";

/**
 * The page's origin must be the server's own, or one listed in ALLOWED_ORIGINS (comma-separated,
 * e.g. a separately hosted web client). Requests without an Origin header (native apps, servers,
 * the SDK in Node) are not browsers and are not subject to this check.
 */
export function originAllowed(env: Env, origin: string, requestUrl: string): boolean {
  if (origin === new URL(requestUrl).origin) return true;
  const allowed = (env.ALLOWED_ORIGINS ?? "").split(",").map((o) => o.trim()).filter(Boolean);
  return allowed.includes(origin);
}

/**
 * Forwards an authenticated upgrade to the object that will own the socket (requireAuth ran
 * first, so a bad token was already answered 401 and nothing was accepted).
 */
function forwardUpgrade(c: Context<AppEnv>, stub: { fetch(request: Request): Promise<Response> }, conversationId?: string) {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(c, ErrorCode.badRequest, "expected a WebSocket upgrade");
  }
  // Cross-site WebSocket hijacking: browsers send the page's Origin and cookies are not our auth,
  // but a token in a URL could be replayed from another site; only our own pages may open sockets.
  const origin = c.req.header("Origin");
  if (origin !== undefined && !originAllowed(c.env, origin, c.req.url)) {
    return errorResponse(c, ErrorCode.forbidden, "this origin may not open Parley sockets");
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set(USER_ID_HEADER, c.var.userId);
  headers.set(TOKEN_ID_HEADER, c.var.sessionId);
  if (conversationId) headers.set(CONVERSATION_ID_HEADER, conversationId);
  else headers.delete(CONVERSATION_ID_HEADER);
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
  .get("/ws", (c) => forwardUpgrade(c, userHome(c.env, c.var.userId)))
  /** The live socket of one open conversation, served by the conversation object itself. */
  .get("/conversations/:conversation_id/ws", (c) => {
    const id = c.req.param("conversation_id");
    if (!conversationIdPattern.test(id)) return errorResponse(c, ErrorCode.conversationNotFound, "no such conversation");
    return forwardUpgrade(c, conversationHome(c.env, id), id);
  });
