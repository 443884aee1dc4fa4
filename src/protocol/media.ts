import { z } from "zod";
import { Limits } from "./limits";
import { MediaRef, Timestamp, VoiceInfo } from "./models";

export const MediaKind = z.enum(["image", "video", "document", "audio"]);
export type MediaKind = z.infer<typeof MediaKind>;

/** The allow-list: every MIME type Parley accepts, by kind. Anything else is `unsupported_media_type`. */
export const MediaTypes: Record<MediaKind, readonly string[]> = {
  image: ["image/jpeg", "image/png", "image/webp", "image/gif"],
  video: ["video/mp4", "video/webm", "video/quicktime"],
  /**
   * What browsers record and play: Chromium's MediaRecorder makes audio/webm (Opus), Firefox audio/ogg,
   * Safari audio/mp4 (AAC); audio/mpeg for attached MP3s.
   */
  audio: ["audio/webm", "audio/ogg", "audio/mp4", "audio/aac", "audio/mpeg"],
  document: [
    "application/pdf",
    "text/plain",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
  ],
};

export function mediaKindOf(mime: string): MediaKind | null {
  for (const kind of MediaKind.options) if (MediaTypes[kind].includes(mime)) return kind;
  return null;
}

export const defaultMediaLimits: Record<MediaKind, number> = {
  image: Limits.maxImageBytes,
  video: Limits.maxVideoBytes,
  document: Limits.maxDocumentBytes,
  audio: Limits.maxAudioBytes,
};

/** A MIME type as declared by a client: lower-cased, parameters (`; charset=…`) dropped. */
export const MimeType = z
  .string()
  .max(255)
  .transform((s) => s.split(";")[0]!.trim().toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/, "content_type must be a MIME type such as image/png"));

export const MediaUploadBody = z.object({
  content_type: MimeType,
  size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  filename: z
    .string()
    .trim()
    .min(1)
    .max(Limits.mediaFilenameMaxLength)
    // Only the name: no directories, no control characters.
    .transform((s) => s.replace(/^.*[\\/]/, "").replace(/[\u0000-\u001f\u007f]/g, ""))
    .pipe(z.string().min(1, "filename is empty"))
    .optional(),
  /** A voice message recorded in the app (audio only): its length and waveform, shown before it is played. */
  voice: VoiceInfo.optional(),
});
export type MediaUploadBody = z.infer<typeof MediaUploadBody>;

/** Where and how to PUT the bytes. `upload_url` is absolute and authorizes itself: no bearer token. */
export const MediaUploadResponse = z.object({
  media_id: z.string(),
  upload_url: z.string().url(),
  method: z.literal("PUT"),
  headers: z.record(z.string(), z.string()),
  expires_at: Timestamp,
});
export type MediaUploadResponse = z.infer<typeof MediaUploadResponse>;

/** The answer once the bytes are in and checked: what a message will carry. */
export const MediaResponse = z.object({ media: MediaRef });

/** URLs that need no token (for <img>/<video>), valid until `expires_at`. */
export const MediaUrlResponse = z.object({ url: z.string().url(), thumbnail_url: z.string().url().nullable(), expires_at: Timestamp });
export type MediaUrlResponse = z.infer<typeof MediaUrlResponse>;
