import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { MisconfiguredError } from "../auth/tokens";
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
  if (err instanceof MisconfiguredError) {
    console.error(JSON.stringify({ level: "error", msg: "misconfigured", detail: err.message }));
    return errorResponse(c, ErrorCode.misconfigured, "the server is not configured; see docs/deploy.md");
  }
  console.error(
    JSON.stringify({
      level: "error",
      msg: "unhandled",
      request_id: c.get("requestId"),
      path: c.req.path,
      error: String(err),
      stack: (err as Error)?.stack,
    }),
  );
  count(c.env, "errors");
  return errorResponse(c, ErrorCode.internal, "internal error");
};

export const onNotFound: NotFoundHandler = (c) => errorResponse(c, ErrorCode.notFound, "no such route");
