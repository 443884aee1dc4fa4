import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { ZodType } from "zod";
import { describeIssues, ErrorCode } from "../protocol";
import { errorResponse } from "./errors";

/**
 * `zValidator` with Parley's error shape: a body or query that fails its schema is answered
 * 400 `{"error":{"code":"bad_request","message":…}}`; a body that is not JSON is `invalid_json`.
 */
export function validate<T extends ZodType, Target extends keyof ValidationTargets>(target: Target, schema: T) {
  return zValidator(target, schema, (result, c) => {
    if (!result.success) {
      return errorResponse(c, ErrorCode.badRequest, describeIssues(result.error as never));
    }
  });
}
