import { ErrorCode } from "../protocol/errors";
import { mediaKindOf, type MediaKind, type MediaUploadResponse, type MediaUrlResponse } from "../protocol/media";
import type { MediaRef, VoiceInfo } from "../protocol/models";
import { ErrorBody } from "../protocol/rest";
import type { ClientContext } from "./context";
import { ParleyApiError } from "./rest";
import { newClientMsgId } from "./sending";

/** A media upload in progress, before its message joins the outbox. */
export interface UploadInProgress {
  key: string;
  conversation_id: string;
  content_type: MediaRef["content_type"];
  kind: MediaKind;
  filename: string | null;
  loaded: number;
  total: number;
  created_at: number;
  caption: string;
}

/** What `sendMedia` takes besides the bytes. */
export interface MediaOptions {
  filename?: string;
  caption?: string;
  /** A voice message recorded in the app: its length and waveform (audio only). */
  voice?: VoiceInfo;
}

/** URLs are fetched again this long before they expire, so a page never shows one that just lapsed. */
const URL_REFRESH_MARGIN_MS = 5 * 60_000;

/** Uploads under way (each a row in its chat until its message takes over) and the media URL cache. */
export class Media {
  private readonly uploads = new Map<string, UploadInProgress>();
  private readonly urlCache = new Map<string, Promise<MediaUrlResponse>>();

  constructor(private readonly ctx: ClientContext) {}

  /**
   * Uploads a file's bytes (progress on `upload` events); resolves with the upload, whose key becomes
   * its message's client_msg_id, and what the message will carry. Its row stays until `finished`, so
   * the message row can take over in one step. Throws ParleyApiError when the server refuses the file
   * (type, size) or the upload fails.
   */
  async upload(conversationId: string, file: Blob, options: MediaOptions): Promise<{ upload: UploadInProgress; media: MediaRef }> {
    const contentType = (file.type || "application/octet-stream").split(";")[0]!.toLowerCase();
    const kind = mediaKindOf(contentType);
    if (!kind) throw new ParleyApiError(415, ErrorCode.unsupportedMediaType, `${contentType} files cannot be sent`);
    const filename = options.filename ?? (file as { name?: string }).name ?? null;
    const upload: UploadInProgress = {
      key: newClientMsgId(),
      conversation_id: conversationId,
      content_type: contentType,
      kind,
      filename,
      loaded: 0,
      total: file.size,
      created_at: Date.now(),
      caption: options.caption ?? "",
    };
    this.uploads.set(upload.key, upload);
    this.progressed(upload, false);
    try {
      const slot = await this.ctx.rest.call("mediaUpload", {
        body: { content_type: contentType, size: file.size, ...(filename ? { filename } : {}), ...(options.voice ? { voice: options.voice } : {}) },
      });
      await putBytes(slot.upload_url, slot.headers, file, (loaded, total) => {
        upload.loaded = loaded;
        upload.total = total;
        this.progressed(upload, false);
      });
      const { media } = await this.ctx.rest.call("mediaComplete", { media_id: slot.media_id });
      return { upload, media };
    } catch (err) {
      this.finished(upload);
      if (err instanceof ParleyApiError) throw err;
      throw new ParleyApiError(0, "upload_failed", err instanceof Error ? err.message : "the upload failed");
    }
  }

  /**
   * Uploads an image to be a profile or group photo (no message carries it): resolves with its
   * media id once the server has checked it.
   */
  async uploadPhoto(file: Blob): Promise<string> {
    const contentType = (file.type || "application/octet-stream").split(";")[0]!.toLowerCase();
    if (mediaKindOf(contentType) !== "image") throw new ParleyApiError(415, ErrorCode.unsupportedMediaType, "a photo must be an image");
    try {
      const slot = await this.ctx.rest.call("mediaUpload", { body: { content_type: contentType, size: file.size } });
      await putBytes(slot.upload_url, slot.headers, file, () => {});
      return (await this.ctx.rest.call("mediaComplete", { media_id: slot.media_id })).media.media_id;
    } catch (err) {
      if (err instanceof ParleyApiError) throw err;
      throw new ParleyApiError(0, "upload_failed", err instanceof Error ? err.message : "the upload failed");
    }
  }

  /** The upload's row goes (its message's row, if any, is already there). */
  finished(upload: UploadInProgress): void {
    this.uploads.delete(upload.key);
    this.progressed(upload, true);
  }

  /** Uploads under way, oldest first. */
  uploadsIn(conversationId: string): UploadInProgress[] {
    return [...this.uploads.values()].filter((u) => u.conversation_id === conversationId);
  }

  /**
   * URLs for a media's bytes and thumbnail that need no token (for <img>, <video>, download links),
   * fetched once and reused until shortly before they expire.
   */
  urls(mediaId: string): Promise<MediaUrlResponse> {
    const cached = this.urlCache.get(mediaId);
    if (cached) return cached;
    const fetching = this.ctx.rest.call("mediaUrl", { media_id: mediaId });
    this.urlCache.set(mediaId, fetching);
    fetching.then(
      (urls) => setTimeout(() => this.urlCache.delete(mediaId), Math.max(0, urls.expires_at - Date.now() - URL_REFRESH_MARGIN_MS)),
      () => this.urlCache.delete(mediaId),
    );
    return fetching;
  }

  private progressed(upload: UploadInProgress, done: boolean): void {
    this.ctx.emit("upload", { ...upload, done });
    this.ctx.emit("conversation", upload.conversation_id);
  }
}

/**
 * Puts bytes to a pre-signed upload URL, reporting progress where the platform can: browsers via
 * XMLHttpRequest's upload events; elsewhere (Node, workerd) with fetch, reporting only the end.
 */
export async function putBytes(
  url: string,
  headers: MediaUploadResponse["headers"],
  body: Blob,
  onProgress: (loaded: number, total: number) => void,
): Promise<void> {
  const XHR = (globalThis as { XMLHttpRequest?: new () => XhrLike }).XMLHttpRequest;
  if (XHR) {
    await new Promise<void>((resolve, reject) => {
      const xhr = new XHR();
      xhr.open("PUT", url);
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (e: { loaded: number; total: number; lengthComputable: boolean }) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size);
      xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(uploadError(xhr.status, xhr.responseText)));
      xhr.onerror = () => reject(new ParleyApiError(0, "upload_failed", "the upload failed: network error"));
      xhr.send(body);
    });
  } else {
    const res = await fetch(url, { method: "PUT", headers, body });
    const text = await res.text();
    if (!res.ok) throw uploadError(res.status, text);
  }
  onProgress(body.size, body.size);
}

/** The part of XMLHttpRequest used here (the SDK compiles without DOM types, for workerd and Node). */
interface XhrLike {
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  upload: { onprogress: ((e: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  status: number;
  responseText: string;
  send(body: Blob): void;
}

/** The server's error body when the Worker took the bytes; S3 answers XML, which keeps the generic message. */
function uploadError(status: number, text: string): ParleyApiError {
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  const parsed = ErrorBody.safeParse(json);
  if (parsed.success) return new ParleyApiError(status, parsed.data.error.code, parsed.data.error.message);
  return new ParleyApiError(status, "upload_failed", `the upload failed (${status})`);
}
