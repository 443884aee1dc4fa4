import { Hono } from "hono";
import { decoyRecord, hashPassword, verifyPassword } from "../auth/password";
import { issueToken } from "../auth/tokens";
import { directoryStub, type Env } from "../env";
import { userHome } from "../objects/homes";
import { newId } from "../lib/ids";
import { ApiError } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import { forgetSession } from "../middleware/auth";
import { describeIssues, ErrorCode, LoginBody, LogoutBody, RegisterBody, type User } from "../protocol";

/**
 * Password guessing is slowed per username (wherever the attempts come from) and per client IP
 * (whichever names it tries). The IP is Cloudflare's `CF-Connecting-IP`; a request without it did not
 * come through Cloudflare (local development), where only the per-username limit applies.
 */
async function limitLoginAttempts(env: Env, ip: string | undefined, username: string): Promise<void> {
  const [byIp, byName] = await Promise.all([
    ip && env.LOGIN_BY_IP ? env.LOGIN_BY_IP.limit({ key: ip }) : { success: true },
    env.LOGIN_BY_USERNAME ? env.LOGIN_BY_USERNAME.limit({ key: username }) : { success: true },
  ]);
  if (!byIp.success || !byName.success) {
    throw new ApiError(ErrorCode.rateLimited, "too many login attempts; wait a minute and try again");
  }
}

/** Registration and login: the only routes that take no token. */
export const authRoutes = new Hono<AppEnv>()
  .post("/register", validate("json", RegisterBody), async (c) => {
    const body = c.req.valid("json");
    const user: User = { user_id: newId("u"), username: body.username, display_name: body.display_name ?? body.username };
    const password = await hashPassword(body.password);
    // The profile is written first: if the name turns out to be taken, the orphan is unreachable.
    await userHome(c.env, user.user_id).createProfile(user);
    const claimed = await directoryStub(c.env, user.username).claim({ username: user.username, user_id: user.user_id, password });
    if (!claimed) throw new ApiError(ErrorCode.usernameTaken, "that username is taken");
    return c.json({ user, token: await issueToken(c.env, user, 0) }, 201);
  })
  .post("/login", validate("json", LoginBody), async (c) => {
    const body = c.req.valid("json");
    await limitLoginAttempts(c.env, c.req.header("CF-Connecting-IP"), body.username);
    const account = await directoryStub(c.env, body.username).lookup();
    // Verify against a decoy when the name is unknown so the response time does not tell.
    const valid = await verifyPassword(body.password, account?.password ?? decoyRecord);
    if (!account || !valid) throw new ApiError(ErrorCode.invalidCredentials, "wrong username or password");
    const home = userHome(c.env, account.user_id);
    const [user, generation] = await Promise.all([home.profile(account.user_id), home.tokenGeneration(account.user_id)]);
    if (!user) throw new ApiError(ErrorCode.internal, "account has no profile");
    return c.json({ user, token: await issueToken(c.env, user, generation) });
  });

/** Refresh and logout: these need a valid session, so they are mounted after the session check. */
export const sessionRoutes = new Hono<AppEnv>()
  // A new token for the same session generation; the old one still works until it expires.
  .post("/refresh", async (c) => {
    const home = userHome(c.env, c.var.userId);
    const [user, generation] = await Promise.all([home.profile(c.var.userId), home.tokenGeneration(c.var.userId)]);
    if (!user) throw new ApiError(ErrorCode.userNotFound, "your account no longer exists");
    return c.json({ user, token: await issueToken(c.env, user, generation) });
  })
  // `{all: true}` logs out every device of the user; otherwise only this token.
  .post("/logout", async (c) => {
    const text = await c.req.text();
    let json: unknown = {};
    try {
      if (text.trim()) json = JSON.parse(text);
    } catch {
      throw new ApiError(ErrorCode.invalidJson, "the body is not JSON");
    }
    const body = LogoutBody.safeParse(json);
    if (!body.success) throw new ApiError(ErrorCode.badRequest, describeIssues(body.error));
    const home = userHome(c.env, c.var.userId);
    if (body.data.all) await home.logoutEverywhere(c.var.userId);
    else await home.logout(c.var.userId, c.var.tokenId, c.var.tokenExp * 1000);
    forgetSession(c.var.tokenId, body.data.all ? c.var.userId : undefined);
    return c.body(null, 204);
  });
