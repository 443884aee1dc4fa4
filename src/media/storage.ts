import type { Env } from "../env";
import { bytesKey } from "./records";

/**
 * Where media bytes live. Locally (no S3 credentials) the MEDIA R2 binding, written through the
 * Worker's own signed upload URL. Deployed with S3 credentials (R2's S3 API or any S3), the client
 * PUTs straight to the bucket with a pre-signed URL and downloads are redirected to pre-signed GETs,
 * so no media byte passes through the Worker.
 */
export interface MediaStore {
  readonly direct: boolean;
  /** A pre-signed PUT for the client, when the store takes uploads directly. */
  presignPut?(mediaId: string, contentType: string, size: number, expiresInSeconds: number): Promise<{ url: string; headers: Record<string, string> }>;
  /** A pre-signed GET, when the store serves downloads directly. */
  presignGet?(mediaId: string, expiresInSeconds: number): Promise<string>;
  /** Stores an upload that came through the Worker (the local path). */
  put(mediaId: string, body: ReadableStream, contentType: string): Promise<void>;
  /** Size in bytes, or null when nothing was uploaded (`staged`: where an unchecked direct upload is). */
  size(mediaId: string, staged?: boolean): Promise<number | null>;
  readStart(mediaId: string, length: number, staged?: boolean): Promise<Uint8Array>;
  readAll(mediaId: string): Promise<Uint8Array>;
  /** Deletes the bytes, checked and unchecked. */
  delete(mediaId: string): Promise<void>;
  /** A checked direct upload becomes the media's bytes; its staging copy goes. */
  seal?(mediaId: string): Promise<void>;
  /** The download: the bytes (with Range support) or a redirect to a pre-signed GET. */
  /** The bytes (or a redirect to them) as an answer; null when the bucket has none under this id. */
  respond(mediaId: string, request: Request, headers: Headers): Promise<Response | null>;
}

export function s3Configured(env: Env): boolean {
  return Boolean(env.S3_ENDPOINT && env.S3_BUCKET && env.S3_ACCESS_KEY_ID && env.S3_SECRET_ACCESS_KEY);
}

export async function mediaStore(env: Env): Promise<MediaStore> {
  if (s3Configured(env)) {
    const { S3MediaStore } = await import("./s3");
    return new S3MediaStore(env);
  }
  return new R2MediaStore(env.MEDIA);
}

export class R2MediaStore implements MediaStore {
  readonly direct = false;
  constructor(private readonly bucket: R2Bucket) {}

  async put(mediaId: string, body: ReadableStream, contentType: string): Promise<void> {
    await this.bucket.put(bytesKey(mediaId), body, { httpMetadata: { contentType } });
  }

  async size(mediaId: string): Promise<number | null> {
    return (await this.bucket.head(bytesKey(mediaId)))?.size ?? null;
  }

  async readStart(mediaId: string, length: number): Promise<Uint8Array> {
    const object = await this.bucket.get(bytesKey(mediaId), { range: { offset: 0, length } });
    return object ? new Uint8Array(await object.arrayBuffer()) : new Uint8Array();
  }

  async readAll(mediaId: string): Promise<Uint8Array> {
    const object = await this.bucket.get(bytesKey(mediaId));
    if (!object) throw new Error(`media ${mediaId} has no bytes`);
    return new Uint8Array(await object.arrayBuffer());
  }

  async delete(mediaId: string): Promise<void> {
    await this.bucket.delete(bytesKey(mediaId));
  }

  async respond(mediaId: string, request: Request, headers: Headers): Promise<Response | null> {
    const object = await this.bucket.get(bytesKey(mediaId), { range: request.headers, onlyIf: request.headers });
    if (!object) return null;
    headers.set("ETag", object.httpEtag);
    headers.set("Accept-Ranges", "bytes");
    if (!("body" in object)) return new Response(null, { status: 304, headers });
    object.writeHttpMetadata(headers);
    const range = object.range as { offset: number; length: number } | undefined;
    if (range && request.headers.has("range")) {
      headers.set("Content-Range", `bytes ${range.offset}-${range.offset + range.length - 1}/${object.size}`);
      headers.set("Content-Length", String(range.length));
      return new Response(object.body, { status: 206, headers });
    }
    headers.set("Content-Length", String(object.size));
    return new Response(object.body, { status: 200, headers });
  }
}
