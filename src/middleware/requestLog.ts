import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./auth";

/**
 * One structured JSON line per request: request id (also sent back as X-Request-Id, and in every
 * error logged for the request), method, path, status, duration and user. Never the query string:
 * socket URLs may carry a token there. Quiet under tests, where it would only bury the output.
 */
export const requestLog = createMiddleware<AppEnv>(async function requestLog(c, next) {
  const start = Date.now();
  await next();
  if (c.env.ENVIRONMENT === "test") return;
  console.log(
    JSON.stringify({
      level: c.res.status >= 500 ? "error" : "info",
      msg: "request",
      request_id: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Date.now() - start,
      user: c.get("userId") ?? null,
    }),
  );
});
