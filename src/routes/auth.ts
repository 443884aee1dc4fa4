import { Hono } from "hono";
import { decoyRecord, hashPassword, needsRehash, verifyPassword } from "../auth/password";
import { issueToken, readToken } from "../auth/tokens";
import { directoryStub, type Env } from "../env";
import { userHome } from "../objects/homes";
import { newId } from "../lib/ids";
import { ApiError } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import { forgetSession, tokenFrom } from "../middleware/auth";
import { describeIssues, Endpoints, ErrorCode, type User } from "../protocol";

/**
 * Where a request comes from: Cloudflare's `CF-Connecting-IP`. A request without it did not come
 * through Cloudflare (local development); those all count as one client.
 */
const clientOf = (header: string | undefined) => header ?? "local";

/**
 * Password guessing is slowed per client IP (whichever names it tries) by the rate limiter, and per
 * (username, client) by growing delays kept in the name's directory object: the owner, logging in
 * from anywhere else, is never locked out by someone else's guesses.
 */
async function limitLoginAttempts(env: Env, ip: string | undefined): Promise<void> {
  const byIp = ip && env.LOGIN_BY_IP ? await env.LOGIN_BY_IP.limit({ key: ip }) : { success: true };
  if (!byIp.success) throw new ApiError(ErrorCode.rateLimited, "too many login attempts from this address; wait a minute and try again");
}

/** Registration and login: the only routes that take no token. */
export const authRoutes = new Hono<AppEnv>()
  .post("/register", validate("json", Endpoints.register.body), async (c) => {
    const ip = c.req.header("CF-Connecting-IP");
    if (ip && c.env.REGISTER_BY_IP && !(await c.env.REGISTER_BY_IP.limit({ key: ip })).success) {
      throw new ApiError(ErrorCode.rateLimited, "too many accounts registered from this address; wait a minute and try again");
    }
    const body = c.req.valid("json");
    const user: User = { user_id: newId("u"), username: body.username, display_name: body.display_name ?? body.username };
    const password = await hashPassword(body.password);
    // The profile is written first: if the name turns out to be taken, the orphan is unreachable.
    await userHome(c.env, user.user_id).createProfile(user);
    const claimed = await directoryStub(c.env, user.username).claim({ username: user.username, user_id: user.user_id, password });
    if (!claimed) throw new ApiError(ErrorCode.usernameTaken, "that username is taken");
    const session = await userHome(c.env, user.user_id).startSession(user.user_id);
    if (!session) throw new ApiError(ErrorCode.internal, "account has no profile");
    return c.json({ user, token: await issueToken(c.env, user, session) }, 201);
  })
  .post("/login", validate("json", Endpoints.login.body), async (c) => {
    const body = c.req.valid("json");
    const ip = c.req.header("CF-Connecting-IP");
    await limitLoginAttempts(c.env, ip);
    const client = clientOf(ip);
    const directory = directoryStub(c.env, body.username);
    const attempt = await directory.loginAttempt(client);
    if (attempt.waitMs > 0) {
      // Even the right password waits: the answer must not tell whether it was right.
      const seconds = Math.ceil(attempt.waitMs / 1000);
      c.header("Retry-After", String(seconds));
      throw new ApiError(ErrorCode.rateLimited, `too many failed logins from here; try again in ${seconds} s`);
    }
    const account = attempt.account;
    // Verify against a decoy when the name is unknown so the response time does not tell.
    const valid = await verifyPassword(body.password, account?.password ?? decoyRecord);
    if (!account || !valid) {
      if (account) await directory.loginFailed(client);
      throw new ApiError(ErrorCode.invalidCredentials, "wrong username or password");
    }
    if (attempt.failures > 0) await directory.loginSucceeded(client);
    // A record from before today's cost: rehash now that the password is known right.
    if (needsRehash(account.password)) await directory.setPassword(await hashPassword(body.password));
    const home = userHome(c.env, account.user_id);
    const [user, session] = await Promise.all([home.profile(account.user_id), home.startSession(account.user_id)]);
    if (!user || !session) throw new ApiError(ErrorCode.internal, "account has no profile");
    return c.json({ user, token: await issueToken(c.env, user, session) });
  })
  /**
   * The session's next token; the one it replaces stops working. Mounted before the session check:
   * a replaced token must reach the session's object to be recognised as a stolen copy (it then ends
   * the session), where the check would only have refused it.
   */
  .post("/refresh", async (c) => {
    const token = tokenFrom(c.req.raw);
    const claims = token ? await readToken(c.env, token) : null;
    if (!claims) throw new ApiError(ErrorCode.unauthorized, "a valid session token is required");
    const home = userHome(c.env, claims.sub);
    const [user, session] = await Promise.all([home.profile(claims.sub), home.refreshSession(claims.sub, claims)]);
    if (!session.ok) {
      forgetSession(claims.jti, { session: claims.sid });
      throw ApiError.from(session.error);
    }
    if (!user) throw new ApiError(ErrorCode.unauthorized, "your account no longer exists");
    forgetSession(claims.jti);
    return c.json({ user, token: await issueToken(c.env, user, session.value) });
  });

/** Logout: needs a valid session, so it is mounted after the session check. */
export const sessionRoutes = new Hono<AppEnv>()
  // `{all: true}` logs out every device of the user; otherwise only this token.
  .post("/logout", async (c) => {
    const text = await c.req.text();
    let json: unknown = {};
    try {
      if (text.trim()) json = JSON.parse(text);
    } catch {
      throw new ApiError(ErrorCode.invalidJson, "the body is not JSON");
    }
    const body = Endpoints.logout.body.safeParse(json);
    if (!body.success) throw new ApiError(ErrorCode.badRequest, describeIssues(body.error));
    const home = userHome(c.env, c.var.userId);
    if (body.data.all) await home.logoutEverywhere(c.var.userId);
    else await home.logout(c.var.userId, c.var.claims);
    forgetSession(c.var.tokenId, body.data.all ? { user: c.var.userId } : { session: c.var.claims.sid });
    return c.body(null, 204);
  });
