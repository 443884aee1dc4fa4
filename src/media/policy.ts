import type { Env } from "../env";
import { ErrorCode, mediaKindOf, defaultMediaLimits, type MediaKind, type MediaUploadBody } from "../protocol";
import { ok, refuse, type Result } from "../lib/result";

const limitVars: Record<MediaKind, "MEDIA_MAX_IMAGE_BYTES" | "MEDIA_MAX_VIDEO_BYTES" | "MEDIA_MAX_DOCUMENT_BYTES" | "MEDIA_MAX_AUDIO_BYTES"> = {
  image: "MEDIA_MAX_IMAGE_BYTES",
  video: "MEDIA_MAX_VIDEO_BYTES",
  document: "MEDIA_MAX_DOCUMENT_BYTES",
  audio: "MEDIA_MAX_AUDIO_BYTES",
};

/** The size limit of a kind: the default, or the deployment's `MEDIA_MAX_<KIND>_BYTES`. */
export function sizeLimit(env: Env, kind: MediaKind): number {
  const configured = Number(env[limitVars[kind]]);
  return Number.isSafeInteger(configured) && configured > 0 ? configured : defaultMediaLimits[kind];
}

/** Checks a declared upload against the allow-list and the limits, before any byte is sent. */
export function checkDeclared(env: Env, body: MediaUploadBody): Result<MediaKind> {
  const kind = mediaKindOf(body.content_type);
  if (!kind) return refuse(ErrorCode.unsupportedMediaType, `${body.content_type} is not an accepted media type`);
  if (body.voice && kind !== "audio") return refuse(ErrorCode.badRequest, "only audio can be a voice message");
  const limit = sizeLimit(env, kind);
  if (body.size > limit) {
    return refuse(ErrorCode.mediaTooLarge, `${kind === "audio" ? "audio file" : kind}s are limited to ${Math.floor(limit / (1024 * 1024))} MB`);
  }
  return ok(kind);
}
