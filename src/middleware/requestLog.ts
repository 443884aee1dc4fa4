import { createMiddleware } from "hono/factory";
import { log, setLogLevel } from "../lib/log";
import type { AppEnv } from "./auth";

/**
 * One structured line per request: request id (also sent back as X-Request-Id), method, path,
 * status, duration and user. Never the query string: socket URLs may carry a token there. Gives the
 * request its logger (`c.var.log`), so every line logged for it carries the request id. Quiet under
 * tests, where a line per request would only bury the output.
 */
export const requestLog = createMiddleware<AppEnv>(async function requestLog(c, next) {
  setLogLevel(c.env.LOG_LEVEL);
  const start = Date.now();
  c.set("log", log.with({ request_id: c.get("requestId") }));
  await next();
  if (c.env.ENVIRONMENT === "test") return;
  const fields = { method: c.req.method, path: c.req.path, status: c.res.status, ms: Date.now() - start };
  // The route's logger, bound to the user once the session check has run.
  if (c.res.status >= 500) c.var.log.error("request", fields);
  else c.var.log.info("request", fields);
});
