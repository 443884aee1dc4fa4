import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MisconfiguredError } from "../auth/tokens";
import { log } from "../lib/log";
import { count } from "../lib/metrics";
import { ErrorCode, errorStatus, type ProtocolError } from "../protocol";

/** An error a route means to show the client: its code and message are safe to send. */
export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
  static from(e: ProtocolError): ApiError {
    return new ApiError(e.code, e.message);
  }
}

/** An object's answer, or its refusal thrown as the HTTP error shape. */
export function unwrap<T>(result: { ok: true; value: T } | { ok: false; error: ProtocolError }): T {
  if (!result.ok) throw ApiError.from(result.error);
  return result.value;
}

export function errorResponse(c: Context, code: ErrorCode, message: string) {
  return c.json({ error: { code, message } }, errorStatus[code] as ContentfulStatusCode);
}

/** Maps every thrown error to the error shape; internal details are logged, never sent. */
export const onError: ErrorHandler = (err, c) => {
  if (err instanceof ApiError) return errorResponse(c, err.code, err.message);
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own validators throw these, e.g. for a body that is not JSON.
    const code = /json/i.test(err.message) ? ErrorCode.invalidJson : ErrorCode.badRequest;
    return errorResponse(c, code, err.message || "bad request");
  }
  // The request's logger, or the plain one for an error thrown before requestLog ran.
  const logger = c.get("log") ?? log;
  if (err instanceof MisconfiguredError) {
    logger.error("misconfigured", { detail: err.message });
    return errorResponse(c, ErrorCode.misconfigured, "the server is not configured; see docs/deploy.md");
  }
  logger.error("unhandled", { method: c.req.method, path: c.req.path, error: err });
  count(c.env, "errors");
  return errorResponse(c, ErrorCode.internal, "internal error");
};

export const onNotFound: NotFoundHandler = (c) => errorResponse(c, ErrorCode.notFound, "no such route");
