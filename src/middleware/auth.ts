import { createMiddleware } from "hono/factory";
import { readToken } from "../auth/tokens";
import type { Env } from "../env";
import { ErrorCode } from "../protocol";
import { errorResponse } from "./errors";

export interface AuthVariables {
  userId: string;
  username: string;
}
export type AppEnv = { Bindings: Env; Variables: AuthVariables };

const BEARER_PROTOCOL = "bearer.";

/**
 * Finds the token where each kind of client can put it: the Authorization header, `?token=`
 * for WebSockets, or a `bearer.<token>` entry in Sec-WebSocket-Protocol for clients that keep
 * tokens out of URLs.
 */
export function tokenFrom(req: Request): string | null {
  const header = req.headers.get("Authorization");
  if (header?.startsWith("Bearer ")) return header.slice(7).trim();
  const query = new URL(req.url).searchParams.get("token");
  if (query) return query;
  for (const protocol of subprotocols(req)) {
    if (protocol.startsWith(BEARER_PROTOCOL)) return protocol.slice(BEARER_PROTOCOL.length);
  }
  return null;
}

export function subprotocols(req: Request): string[] {
  const value = req.headers.get("Sec-WebSocket-Protocol");
  return value ? value.split(",").map((p) => p.trim()).filter(Boolean) : [];
}

/**
 * Requires a valid session token. For WebSocket upgrades this runs before the upgrade, so a bad
 * token is answered 401 and the socket is never accepted.
 */
export const requireAuth = createMiddleware<AppEnv>(async function requireAuth(c, next) {
  const token = tokenFrom(c.req.raw);
  if (!token) return errorResponse(c, ErrorCode.unauthorized, "a session token is required");
  const claims = await readToken(c.env, token);
  if (!claims) return errorResponse(c, ErrorCode.unauthorized, "the session token is invalid or expired");
  c.set("userId", claims.sub);
  c.set("username", claims.username);
  await next();
});
