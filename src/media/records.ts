import { z } from "zod";
import type { Env } from "../env";
import { ok, refuse, type Result } from "../lib/result";
import { ErrorCode, MediaKind, VoiceInfo, type MediaRef } from "../protocol";

/**
 * What Parley knows about one upload, kept beside the bytes in the MEDIA bucket (`meta/<id>.json`):
 * no object on the hot path, and one read answers "may this user see it". Who may see it beyond the
 * uploader is recorded as one empty object per conversation it was sent to (`grants/<id>/<conversation>`).
 */
export const MediaRecord = z.object({
  media_id: z.string(),
  uploader: z.string(),
  kind: MediaKind,
  content_type: z.string(),
  size: z.number().int().positive(),
  filename: z.string().nullable(),
  status: z.enum(["pending", "ready"]),
  created_at: z.number().int(),
  expires_at: z.number().int(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  thumbnail: z.boolean().optional(),
  /** A profile or group photo: whose. Who may see it is then the owner's to say (routes/media.ts mayView). */
  photo_of: z.object({ kind: z.enum(["user", "group"]), id: z.string() }).optional(),
  /** A voice message: what its recorder measured, given with the upload and carried by every message of it. */
  voice: VoiceInfo.optional(),
});
export type MediaRecord = z.infer<typeof MediaRecord>;
export type PhotoOwner = NonNullable<MediaRecord["photo_of"]>;

export const mediaIdPattern = /^md_[A-Za-z0-9_-]{16,40}$/;
export const bytesKey = (id: string) => `media/${id}`;
/**
 * Where a direct (S3) upload lands before it is checked: completing copies it to `bytesKey` and
 * deletes it, so the pre-signed PUT (valid 15 minutes) can never replace bytes that were checked.
 */
export const stagingKey = (id: string) => `uploads/${id}`;
export const thumbnailKey = (id: string) => `thumbs/${id}.jpg`;
const recordKey = (id: string) => `meta/${id}.json`;
const grantPrefix = (id: string) => `grants/${id}/`;

export async function readRecord(env: Env, mediaId: string): Promise<MediaRecord | null> {
  if (!mediaIdPattern.test(mediaId)) return null;
  const object = await env.MEDIA.get(recordKey(mediaId));
  if (!object) return null;
  const parsed = MediaRecord.safeParse(await object.json());
  return parsed.success ? parsed.data : null;
}

export async function writeRecord(env: Env, record: MediaRecord): Promise<void> {
  await env.MEDIA.put(recordKey(record.media_id), JSON.stringify(record), { httpMetadata: { contentType: "application/json" } });
}

/** Deletes an upload's record (its bytes are the store's: MediaStore.delete). */
export async function deleteRecord(env: Env, mediaId: string): Promise<void> {
  await env.MEDIA.delete(recordKey(mediaId));
}

/**
 * Members of `conversationId` may now fetch the media: those who joined before `seq`. Written before
 * the message is stored with the conversation's head then (the message's seq will be above it: a
 * member who joined before it sees the message), and again with the message's own seq once stored.
 * A member added later does not get media sent before they joined.
 */
export async function grant(env: Env, mediaId: string, conversationId: string, seq: number): Promise<void> {
  await env.MEDIA.put(`${grantPrefix(mediaId)}${conversationId}`, "", { customMetadata: { seq: String(seq) } });
}

/**
 * The conversations a media was sent to (a handful at most: a forward is a new send), each with the
 * seq its members must have joined before (null: a grant from before seqs were recorded).
 */
export async function grantedConversations(env: Env, mediaId: string): Promise<{ conversation_id: string; seq: number | null }[]> {
  const listed = await env.MEDIA.list({ prefix: grantPrefix(mediaId), limit: 1000, include: ["customMetadata"] });
  return listed.objects.map((o) => {
    const seq = Number(o.customMetadata?.seq);
    return { conversation_id: o.key.slice(grantPrefix(mediaId).length), seq: Number.isSafeInteger(seq) ? seq : null };
  });
}

/**
 * A message carrying the media was deleted for everyone in `conversationId`: its members lose
 * access, and once no conversation holds a message with it (forwards are grants of their own), the
 * bytes, the thumbnail and the record go. Every step is idempotent, so a retry after a failure
 * finishes what the first attempt began.
 */
export async function eraseMedia(env: Env, mediaId: string, conversationId: string): Promise<{ bytesDeleted: boolean }> {
  await env.MEDIA.delete(`${grantPrefix(mediaId)}${conversationId}`);
  const record = await readRecord(env, mediaId);
  // A photo sent in a chat as well stays while it is a photo (erasePhoto removes it then).
  if (record?.photo_of) return { bytesDeleted: false };
  return deleteUnlessGranted(env, mediaId, record);
}

/**
 * Makes an upload the photo of a user or a group: only the asker's own finished image, not sent in
 * any conversation nor another's photo. Its record names the owner from then on.
 */
export async function claimPhoto(env: Env, mediaId: string, askerId: string, owner: PhotoOwner): Promise<Result<void>> {
  const record = await readRecord(env, mediaId);
  if (!record || record.uploader !== askerId) return refuse(ErrorCode.invalidPhoto, "the photo must be an image you uploaded");
  if (record.kind !== "image" || record.status !== "ready") return refuse(ErrorCode.invalidPhoto, "the photo must be a finished image upload");
  if (record.photo_of && (record.photo_of.kind !== owner.kind || record.photo_of.id !== owner.id)) {
    return refuse(ErrorCode.invalidPhoto, "that image is already another photo");
  }
  if ((await grantedConversations(env, mediaId)).length > 0) return refuse(ErrorCode.invalidPhoto, "that image was sent in a chat; upload it again");
  await writeRecord(env, { ...record, photo_of: owner });
  return ok(undefined);
}

/** A photo was replaced or removed: its bytes, thumbnail and record go, and the uploader gets the size back. */
export async function erasePhoto(env: Env, mediaId: string): Promise<{ bytesDeleted: boolean }> {
  const record = await readRecord(env, mediaId);
  const erased = await deleteUnlessGranted(env, mediaId, record);
  // Sent in a chat as well: the bytes stay for it, as plain media a delete for everyone can erase.
  if (!erased.bytesDeleted && record?.photo_of) await writeRecord(env, { ...record, photo_of: undefined });
  return erased;
}

async function deleteUnlessGranted(env: Env, mediaId: string, record: MediaRecord | null): Promise<{ bytesDeleted: boolean }> {
  if ((await grantedConversations(env, mediaId)).length > 0) return { bytesDeleted: false };
  const { mediaStore } = await import("./storage");
  await (await mediaStore(env)).delete(mediaId);
  await env.MEDIA.delete(thumbnailKey(mediaId));
  // The uploader's quota gets the size back before the record (which names the uploader) goes: a
  // retry after a failure in between still finds whom to tell.
  if (record) {
    const { userHome } = await import("../objects/homes");
    await userHome(env, record.uploader).mediaErased(record.uploader, mediaId);
  }
  await env.MEDIA.delete(recordKey(mediaId));
  return { bytesDeleted: true };
}

/** What a message carries about its media. */
export function toMediaRef(record: MediaRecord): MediaRef {
  return {
    media_id: record.media_id,
    content_type: record.content_type,
    size: record.size,
    filename: record.filename,
    ...(record.width !== undefined ? { width: record.width } : {}),
    ...(record.height !== undefined ? { height: record.height } : {}),
    ...(record.kind === "image" ? { thumbnail: `/api/v1/media/${record.media_id}/thumbnail` } : {}),
    ...(record.voice ? { voice: true as const, duration_ms: record.voice.duration_ms, waveform: record.voice.waveform } : {}),
  };
}
