import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Env } from "../env";
import type { MediaStore } from "./storage";
import { bytesKey, stagingKey } from "./records";

/** Media in any S3-compatible bucket (R2's S3 API in production), behind pre-signed URLs. */
export class S3MediaStore implements MediaStore {
  readonly direct = true;
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(env: Env) {
    this.bucket = env.S3_BUCKET!;
    this.client = new S3Client({
      region: env.S3_REGION || "auto",
      endpoint: env.S3_ENDPOINT,
      forcePathStyle: true,
      // Otherwise the SDK signs a CRC32 of the (empty) presigning body into the URL, and S3 refuses
      // the client's real upload as a checksum mismatch.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      credentials: { accessKeyId: env.S3_ACCESS_KEY_ID!, secretAccessKey: env.S3_SECRET_ACCESS_KEY! },
    });
  }

  async presignPut(mediaId: string, contentType: string, size: number, expiresIn: number) {
    // To the staging key: the URL stays valid after completion, and must not reach checked bytes.
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: stagingKey(mediaId), ContentType: contentType, ContentLength: size });
    // Type and length are signed: the store refuses a PUT with other values.
    const url = await getSignedUrl(this.client, command, {
      expiresIn,
      signableHeaders: new Set(["content-type", "content-length"]),
    });
    return { url, headers: { "Content-Type": contentType } };
  }

  async put(mediaId: string, body: ReadableStream, contentType: string): Promise<void> {
    const bytes = new Uint8Array(await new Response(body).arrayBuffer());
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: bytesKey(mediaId), Body: bytes, ContentType: contentType }));
  }

  async size(mediaId: string, staged = false): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: staged ? stagingKey(mediaId) : bytesKey(mediaId) }));
      return head.ContentLength ?? null;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
      throw err;
    }
  }

  async readStart(mediaId: string, length: number, staged = false): Promise<Uint8Array> {
    const key = staged ? stagingKey(mediaId) : bytesKey(mediaId);
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=0-${length - 1}` }));
    return object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
  }

  async readAll(mediaId: string): Promise<Uint8Array> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: bytesKey(mediaId) }));
    if (!object.Body) throw new Error(`media ${mediaId} has no bytes`);
    return object.Body.transformToByteArray();
  }

  async delete(mediaId: string): Promise<void> {
    await Promise.all([bytesKey(mediaId), stagingKey(mediaId)].map((Key) => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }))));
  }

  async seal(mediaId: string): Promise<void> {
    await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: bytesKey(mediaId), CopySource: `${this.bucket}/${stagingKey(mediaId)}` }));
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: stagingKey(mediaId) }));
  }

  presignGet(mediaId: string, expiresIn: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: bytesKey(mediaId) }), { expiresIn });
  }

  async respond(mediaId: string, _request: Request, headers: Headers): Promise<Response> {
    const url = await this.presignGet(mediaId, 300);
    // The redirect itself is per-user (it checked membership): never cache it in shared caches.
    headers.set("Cache-Control", "private, max-age=240");
    headers.set("Location", url);
    return new Response(null, { status: 302, headers });
  }
}
