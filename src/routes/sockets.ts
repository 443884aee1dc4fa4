import { Hono } from "hono";
import { userStub } from "../env";
import { errorResponse } from "../middleware/errors";
import { subprotocols, type AppEnv } from "../middleware/auth";
import { SUBPROTOCOL_HEADER, USER_ID_HEADER } from "../objects/user/UserObject";
import { ErrorCode } from "../protocol";

/**
 * The device socket. The route authenticates (requireAuth ran before this) and forwards the raw
 * upgrade to the user's object, which accepts it as a hibernatable socket. Hono's
 * upgradeWebSocket is deliberately not used: it would accept the socket here, in the Worker.
 */
export const socketRoutes = new Hono<AppEnv>().get("/ws", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(c, ErrorCode.badRequest, "expected a WebSocket upgrade");
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set(USER_ID_HEADER, c.var.userId);
  // A browser that offered subprotocols fails the handshake unless one is echoed back.
  const offered = subprotocols(c.req.raw);
  const chosen = offered.find((p) => !p.startsWith("bearer.")) ?? offered[0];
  if (chosen) headers.set(SUBPROTOCOL_HEADER, chosen);
  else headers.delete(SUBPROTOCOL_HEADER);
  return userStub(c.env, c.var.userId).fetch(new Request(c.req.raw, { headers }));
});
