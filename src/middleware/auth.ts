import { createMiddleware } from "hono/factory";
import { readToken, type TokenClaims } from "../auth/tokens";
import type { Env } from "../env";
import type { Logger } from "../lib/log";
import { userHome } from "../objects/homes";
import { ErrorCode } from "../protocol";
import { errorResponse } from "./errors";

export interface AuthVariables {
  userId: string;
  username: string;
  /** The token's id. */
  tokenId: string;
  /** The token's claims, for refresh and logout. */
  claims: TokenClaims;
  /**
   * The session the request belongs to (the token id for tokens from before sessions): sockets are
   * tagged with it, so ending the session closes them, and push subscriptions belong to it.
   */
  sessionId: string;
  /** Set by hono's requestId middleware for every request (X-Request-Id). */
  requestId: string;
  /** The request's logger (requestLog): every line carries the request id, and the user id once authenticated. */
  log: Logger;
}
export type AppEnv = { Bindings: Env; Variables: AuthVariables };

const BEARER_PROTOCOL = "bearer.";

/**
 * Finds the token where each kind of client can put it: the Authorization header, `?token=`
 * on WebSocket upgrades only, or a `bearer.<token>` entry in Sec-WebSocket-Protocol for clients that keep
 * tokens out of URLs.
 */
export function tokenFrom(req: Request): string | null {
  const header = req.headers.get("Authorization");
  if (header?.startsWith("Bearer ")) return header.slice(7).trim();
  // Only upgrades get this far with one (src/worker.ts refuses it on REST).
  const query = new URL(req.url).searchParams.get("token");
  if (query && req.headers.get("Upgrade")?.toLowerCase() === "websocket") return query;
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
  if (!(await sessionStillValid(c.env, claims))) {
    return errorResponse(c, ErrorCode.unauthorized, "this session was logged out");
  }
  c.set("userId", claims.sub);
  c.set("username", claims.username);
  c.set("tokenId", claims.jti);
  c.set("claims", claims);
  c.set("sessionId", claims.sid ?? claims.jti);
  c.set("log", c.var.log.with({ user_id: claims.sub }));
  await next();
});

/**
 * Asks the user's object whether a token was logged out. A positive answer is remembered in this
 * isolate for a few seconds, so a burst of requests costs one check; a logout therefore takes at
 * most that long to reach REST calls (its sockets close at once).
 */
const REVOCATION_CACHE_MS = 5_000;
const recentlyValid = new Map<string, { userId: string; sessionId: string | undefined; until: number }>();

async function sessionStillValid(env: Env, claims: TokenClaims): Promise<boolean> {
  const now = Date.now();
  if ((recentlyValid.get(claims.jti)?.until ?? 0) > now) return true;
  const valid = await userHome(env, claims.sub).sessionValid(claims.sub, { jti: claims.jti, gen: claims.gen, sid: claims.sid, ver: claims.ver });
  if (valid) {
    if (recentlyValid.size > 10_000) recentlyValid.clear();
    recentlyValid.set(claims.jti, { userId: claims.sub, sessionId: claims.sid, until: now + REVOCATION_CACHE_MS });
  } else {
    recentlyValid.delete(claims.jti);
  }
  return valid;
}

/** Forgets cached validity after a logout or refresh handled here: one token, a session's, or all of a user's. */
export function forgetSession(jti: string, also: { user?: string; session?: string } = {}): void {
  recentlyValid.delete(jti);
  if (!also.user && !also.session) return;
  for (const [id, entry] of recentlyValid) {
    if ((also.user && entry.userId === also.user) || (also.session && entry.sessionId === also.session)) recentlyValid.delete(id);
  }
}
