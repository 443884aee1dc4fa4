import { Hono, type Context } from "hono";
import { signingSecret } from "../auth/tokens";
import type { Env } from "../env";
import { conversationHome, userHome } from "../objects/homes";
import { randomToken } from "../lib/ids";
import type { Logger } from "../lib/log";
import { checkDeclared } from "../media/policy";
import { grantedConversations, mediaIdPattern, readRecord, thumbnailKey, toMediaRef, writeRecord, type MediaRecord } from "../media/records";
import { matchesDeclaredType, SNIFF_BYTES } from "../media/sniff";
import { mediaStore } from "../media/storage";
import { signUpload, verifyUpload, verifyView, viewPath } from "../media/uploadToken";
import type { AppEnv } from "../middleware/auth";
import { ApiError, unwrap } from "../middleware/errors";
import { validate } from "../middleware/validate";
import { Endpoints, ErrorCode, Limits } from "../protocol";
import type { MediaJob } from "../queues/media";
import { queueFor } from "../queues/shards";

/** Downloads never change (a media id names one upload forever); only the user's own cache may keep them. */
const IMMUTABLE = "private, max-age=31536000, immutable";

function mediaParam(id: string): string {
  if (!mediaIdPattern.test(id)) throw new ApiError(ErrorCode.mediaNotFound, "no such media");
  return id;
}

/**
 * A call to the bucket (R2, or S3) whose failure is the server's trouble, not the upload's: logged
 * with its error and answered 503 `storage_unavailable`, so the client tries the same upload again
 * rather than being told its bytes are wrong.
 */
async function fromBucket<T>(log: Logger, operation: string, mediaId: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw bucketFailed(log, operation, mediaId, error);
  }
}

function bucketFailed(log: Logger, operation: string, mediaId: string, error: unknown): ApiError {
  log.error("media storage failed", { media_id: mediaId, operation, error });
  return new ApiError(ErrorCode.storageUnavailable, "media storage is unavailable; try again shortly");
}

type MediaContext = Context<AppEnv>;

/**
 * Checks what arrived against what was declared: the size exactly, the first bytes against the type.
 * A mismatch deletes the bytes. Then the media is ready to be sent, and images get a thumbnail job.
 */
async function completeUpload(c: MediaContext, record: MediaRecord): Promise<MediaRecord> {
  if (record.status === "ready") return record;
  const id = record.media_id;
  const log = c.var.log.with({ media_id: id });
  const store = await mediaStore(c.env);
  // A direct upload is checked where it landed (staging), then sealed where the media is served from.
  const staged = store.seal !== undefined;
  const size = await fromBucket(log, "size", id, store.size(id, staged));
  if (size === null) throw new ApiError(ErrorCode.mediaNotReady, "nothing has been uploaded yet");
  const refuse = async (message: string): Promise<never> => {
    // The answer is the mismatch either way: bytes left behind go with the unfinished upload (uploads.ts).
    await store.delete(id).catch((error: unknown) => log.warn("mismatched upload not deleted; the upload sweep will", { error }));
    throw new ApiError(ErrorCode.mediaMismatch, message);
  };
  if (size !== record.size) await refuse(`the upload is ${size} bytes, not the declared ${record.size}`);
  if (!matchesDeclaredType(record.content_type, await fromBucket(log, "read", id, store.readStart(id, SNIFF_BYTES, staged)))) {
    await refuse(`the bytes are not ${record.content_type}`);
  }
  if (store.seal) await fromBucket(log, "seal", id, store.seal(id));
  const ready: MediaRecord = { ...record, status: "ready" };
  await fromBucket(log, "write record", id, writeRecord(c.env, ready));
  await userHome(c.env, record.uploader).mediaUploaded(record.uploader, id);
  if (ready.kind === "image") {
    const job: MediaJob = { type: "thumbnail", media_id: id };
    // Without the job the image stays without a thumbnail (clients show a placeholder).
    c.executionCtx.waitUntil(queueFor(c.env, "MEDIA_JOBS", id).send(job).catch((error: unknown) => log.error("thumbnail job not queued", { error })));
  }
  return ready;
}

/**
 * The uploader may always see their media; others only as members of a conversation it was sent to
 * who joined before it was sent there, or as the owner of a photo lets them.
 */
async function mayView(c: MediaContext, record: MediaRecord, userId: string): Promise<boolean> {
  if (record.uploader === userId) return true;
  const env = c.env;
  // A profile photo as its owner's privacy settings allow; a group's photo to its members.
  const owner = record.photo_of;
  if (owner?.kind === "user" && (await userHome(env, owner.id).showsPhoto(owner.id, userId, record.media_id))) return true;
  if (owner?.kind === "group" && (await conversationHome(env, owner.id).showsGroupPhoto(owner.id, userId, record.media_id))) return true;
  for (const { conversation_id, seq } of await fromBucket(c.var.log, "list grants", record.media_id, grantedConversations(env, record.media_id))) {
    const joined = await conversationHome(env, conversation_id).joinedSeq(conversation_id, userId);
    if (joined !== null && (seq === null || joined < seq)) return true;
  }
  return false;
}

async function viewable(c: MediaContext, mediaId: string, userId: string): Promise<MediaRecord> {
  const id = mediaParam(mediaId);
  const record = await fromBucket(c.var.log, "read record", id, readRecord(c.env, id));
  // Not-yours and does-not-exist look the same: ids are not to be probed.
  if (!record || record.status !== "ready" || !(await mayView(c, record, userId))) {
    throw new ApiError(ErrorCode.mediaNotFound, "no such media");
  }
  return record;
}

/**
 * View URLs are rounded to this step and live two steps at most (5–10 minutes): short enough that a
 * URL copied out of the app stops working soon, rounded so a client's cache keeps hitting the same URL.
 * Clients ask again before `expires_at` (the SDK and web client 4–5 minutes early).
 */
const VIEW_URL_ROUNDING_MS = 5 * 60_000;

async function viewUrl(env: Env, requestUrl: string, mediaId: string, variant: "content" | "thumbnail", expires: number): Promise<string> {
  return new URL(await viewPath(signingSecret(env), { media_id: mediaId, variant, expires }), requestUrl).toString();
}

async function serveContent(c: MediaContext, record: MediaRecord): Promise<Response> {
  const headers = new Headers({ "Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff" });
  headers.set("Content-Type", record.content_type);
  if (record.kind === "document") {
    const name = (record.filename ?? "document").replace(/["\\]/g, "_");
    headers.set("Content-Disposition", `attachment; filename="${name.replace(/[^\x20-\x7e]/g, "_")}"; filename*=UTF-8''${encodeURIComponent(name)}`);
  }
  const store = await mediaStore(c.env);
  const answer = await fromBucket(c.var.log, "read", record.media_id, store.respond(record.media_id, c.req.raw, headers));
  // A ready record whose bytes are gone (deleted behind our back): the same answer as no such media.
  if (!answer) throw new ApiError(ErrorCode.mediaNotFound, "no such media");
  return answer;
}

async function serveThumbnail(c: MediaContext, record: MediaRecord): Promise<Response> {
  const object = record.thumbnail ? await fromBucket(c.var.log, "read thumbnail", record.media_id, c.env.MEDIA.get(thumbnailKey(record.media_id))) : null;
  // 404 until the thumbnail job has run: clients show a placeholder and try again.
  if (!object) throw new ApiError(ErrorCode.mediaNotFound, "the thumbnail is not made yet");
  return new Response(object.body, {
    headers: { "Content-Type": "image/jpeg", "Cache-Control": IMMUTABLE, ETag: object.httpEtag, "Content-Length": String(object.size) },
  });
}

/**
 * The Worker's own upload URL, used when no S3 credentials are configured: it authorizes itself
 * (signature and expiry in the query), so it is mounted before the session check.
 */
export const mediaUploadRoutes = new Hono<AppEnv>()
  .get("/:media_id/view", async (c) => {
    const id = mediaParam(c.req.param("media_id"));
    const variant = c.req.query("variant") === "thumbnail" ? "thumbnail" : "content";
    const expires = Number(c.req.query("expires"));
    const valid =
      Number.isSafeInteger(expires) &&
      Date.now() <= expires &&
      (await verifyView(signingSecret(c.env), { media_id: id, variant, expires }, c.req.query("sig") ?? ""));
    if (!valid) throw new ApiError(ErrorCode.uploadUrlInvalid, "this media URL is invalid or has expired");
    const record = await fromBucket(c.var.log, "read record", id, readRecord(c.env, id));
    if (!record || record.status !== "ready") throw new ApiError(ErrorCode.mediaNotFound, "no such media");
    return variant === "thumbnail" ? serveThumbnail(c, record) : serveContent(c, record);
  })
  .put("/:media_id/upload", async (c) => {
  const id = mediaParam(c.req.param("media_id"));
  const expires = Number(c.req.query("expires"));
  const signature = c.req.query("sig") ?? "";
  const record = await fromBucket(c.var.log, "read record", id, readRecord(c.env, id));
  const invalid = () => new ApiError(ErrorCode.uploadUrlInvalid, "this upload URL is invalid or has expired");
  if (!record || !Number.isSafeInteger(expires)) throw invalid();
  const grant = { media_id: id, content_type: record.content_type, size: record.size, uploader: record.uploader, expires };
  if (!(await verifyUpload(signingSecret(c.env), grant, signature)) || expires !== record.expires_at) throw invalid();
  if (Date.now() > expires) throw invalid();
  if (record.status === "ready") throw new ApiError(ErrorCode.mediaMismatch, "this media is already uploaded");
  const declaredType = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase();
  if (declaredType !== record.content_type) {
    throw new ApiError(ErrorCode.mediaMismatch, `send the bytes with Content-Type: ${record.content_type}`);
  }
  const mismatch = () => new ApiError(ErrorCode.mediaMismatch, `the body must be exactly the declared ${record.size} bytes`);
  if (Number(c.req.header("Content-Length")) !== record.size) throw mismatch();
  const body = c.req.raw.body;
  if (!body) throw new ApiError(ErrorCode.mediaMismatch, "the body is empty");
  // Streamed into R2 with its length fixed: a body that runs short or long fails the put.
  const sized = new FixedLengthStream(record.size);
  const piped = body.pipeTo(sized.writable);
  const store = await mediaStore(c.env);
  let bodyBroke = false;
  const received = piped.catch((error: unknown) => {
    bodyBroke = true;
    c.var.log.info("upload body refused", { media_id: id, error });
    throw mismatch();
  });
  // A body that breaks off (or runs long) fails the put too, after the pipe has seen it: that failure
  // is the client's. Any other is the bucket's.
  const stored = store.put(id, sized.readable, record.content_type).catch((error: unknown) => {
    throw bodyBroke ? mismatch() : bucketFailed(c.var.log, "put", id, error);
  });
  try {
    await Promise.all([stored, received]);
  } catch (err) {
    // Bytes of a failed upload must not be completed later: they go now (or with the upload sweep).
    await store.delete(id).catch((error: unknown) => c.var.log.warn("failed upload not deleted; the upload sweep will", { media_id: id, error }));
    throw err;
  }
  const ready = await completeUpload(c, record);
  return c.json({ media: toMediaRef(ready) }, 201);
});

export const mediaRoutes = new Hono<AppEnv>()
  .post("/upload", validate("json", Endpoints.mediaUpload.body), async (c) => {
    const body = c.req.valid("json");
    const kind = checkDeclared(c.env, body);
    if (!kind.ok) throw ApiError.from(kind.error);
    const now = Date.now();
    const record: MediaRecord = {
      media_id: `md_${randomToken(16)}`,
      uploader: c.var.userId,
      kind: kind.value,
      content_type: body.content_type,
      size: body.size,
      filename: body.filename ?? null,
      ...(body.voice ? { voice: body.voice } : {}),
      status: "pending",
      created_at: now,
      expires_at: now + Limits.uploadUrlTtlMs,
    };
    // Rate and quota, per user: the declared size counts from now (an unfinished upload is deleted later).
    unwrap(await userHome(c.env, c.var.userId).admitUpload(c.var.userId, record.media_id, record.size, record.expires_at));
    await fromBucket(c.var.log, "write record", record.media_id, writeRecord(c.env, record));
    const store = await mediaStore(c.env);
    let upload: { url: string; headers: Record<string, string> };
    if (store.presignPut) {
      upload = await store.presignPut(record.media_id, record.content_type, record.size, Math.floor(Limits.uploadUrlTtlMs / 1000));
    } else {
      const sig = await signUpload(signingSecret(c.env), { ...record, expires: record.expires_at });
      const url = new URL(`/api/v1/media/${record.media_id}/upload`, c.req.url);
      url.search = new URLSearchParams({ expires: String(record.expires_at), sig }).toString();
      upload = { url: url.toString(), headers: { "Content-Type": record.content_type } };
    }
    return c.json(
      { media_id: record.media_id, upload_url: upload.url, method: "PUT" as const, headers: upload.headers, expires_at: record.expires_at },
      201,
    );
  })
  // With S3, the client tells us when its PUT is done; locally the upload route completes by itself.
  .post("/:media_id/complete", async (c) => {
    const id = mediaParam(c.req.param("media_id"));
    const record = await fromBucket(c.var.log, "read record", id, readRecord(c.env, id));
    if (!record || record.uploader !== c.var.userId) throw new ApiError(ErrorCode.mediaNotFound, "no such media");
    const ready = await completeUpload(c, record);
    return c.json({ media: toMediaRef(ready) });
  })
  .get("/:media_id", async (c) => {
    const record = await viewable(c, c.req.param("media_id"), c.var.userId);
    return serveContent(c, record);
  })
  /**
   * URLs that authorize themselves, for <img> and <video> (which cannot send a token): valid for
   * minutes (VIEW_URL_ROUNDING_MS).
   */
  .get("/:media_id/url", async (c) => {
    const record = await viewable(c, c.req.param("media_id"), c.var.userId);
    const expires = (Math.floor(Date.now() / VIEW_URL_ROUNDING_MS) + 2) * VIEW_URL_ROUNDING_MS;
    const store = await mediaStore(c.env);
    const url = store.presignGet
      ? await store.presignGet(record.media_id, Math.floor((expires - Date.now()) / 1000))
      : await viewUrl(c.env, c.req.url, record.media_id, "content", expires);
    const thumbnail_url = record.kind === "image" ? await viewUrl(c.env, c.req.url, record.media_id, "thumbnail", expires) : null;
    return c.json({ url, thumbnail_url, expires_at: expires });
  })
  .get("/:media_id/thumbnail", async (c) => {
    const record = await viewable(c, c.req.param("media_id"), c.var.userId);
    return serveThumbnail(c, record);
  });
