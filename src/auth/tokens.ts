import { sign, verify } from "hono/jwt";
import type { Env } from "../env";

/** Session tokens live a day; clients refresh them before then (POST /auth/refresh). */
export const TOKEN_TTL_SECONDS = 24 * 60 * 60;
const ALG = "HS256";

export interface TokenClaims {
  sub: string;
  username: string;
  iat: number;
  exp: number;
  /** This token's id: logging out revokes it (and closes the sockets it opened). */
  jti: string;
  /** The user's token generation when issued: "log out all devices" moves it on, voiding older tokens. */
  gen: number;
  /** The session (one login) this token belongs to, and its version: a refresh moves it on. Absent in older tokens. */
  sid?: string;
  ver?: number;
}

/** A session as the user object answers it: what a token for it carries. */
export interface SessionGrant {
  session_id: string;
  version: number;
  /** Its end (ms): no token outlives it. */
  expires_at: number;
  generation: number;
}

export class MisconfiguredError extends Error {}

/**
 * The signing secret. Production must set it (`wrangler secret put JWT_SECRET`); only a
 * development or test environment may run with the fallback written by `npm start`.
 */
export function signingSecret(env: Env): string {
  const secret = env.JWT_SECRET;
  if (!secret || secret.length < 32) {
    throw new MisconfiguredError("JWT_SECRET is missing or shorter than 32 characters");
  }
  return secret;
}

export async function issueToken(env: Env, user: { user_id: string; username: string }, session: SessionGrant, now = Date.now()) {
  const iat = Math.floor(now / 1000);
  const claims: TokenClaims = {
    sub: user.user_id,
    username: user.username,
    iat,
    exp: Math.min(iat + TOKEN_TTL_SECONDS, Math.floor(session.expires_at / 1000)),
    jti: crypto.randomUUID(),
    gen: session.generation,
    sid: session.session_id,
    ver: session.version,
  };
  return sign({ ...claims }, signingSecret(env), ALG);
}

/** Returns the claims of a valid, unexpired token, or null. */
export async function readToken(env: Env, token: string): Promise<TokenClaims | null> {
  try {
    const payload = await verify(token, signingSecret(env), ALG);
    if (typeof payload.sub !== "string" || typeof payload.username !== "string") return null;
    if (typeof payload.exp !== "number") return null;
    if (typeof payload.jti !== "string" || typeof payload.gen !== "number") return null;
    if (payload.sid !== undefined && (typeof payload.sid !== "string" || typeof payload.ver !== "number")) return null;
    return payload as unknown as TokenClaims;
  } catch (err) {
    if (err instanceof MisconfiguredError) throw err;
    return null;
  }
}
