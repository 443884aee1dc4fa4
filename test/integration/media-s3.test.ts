import { AwsV4Signer } from "aws4fetch";
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { app } from "../../src/worker";
import { directConversation, registerUser, type Account } from "../helpers/client";
import { captureLogs } from "../helpers/logs";

/**
 * The deployed media path: S3 credentials configured, so the client PUTs straight to the bucket with
 * a URL pre-signed by @aws-sdk, and downloads are redirects to pre-signed GETs. The bucket is a real
 * S3 endpoint (s3rver on loopback, started by test/helpers/globalS3.ts). s3rver does not check
 * signatures, so the test checks them with aws4fetch, an independent SigV4 implementation.
 */
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
const s3Env = {
  ...env,
  S3_ENDPOINT: `http://127.0.0.1:${inject("s3Port")}`,
  S3_BUCKET: "parley-media-s3",
  S3_REGION: "us-east-1",
  S3_ACCESS_KEY_ID: credentials.accessKeyId,
  S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
};

async function call(method: string, path: string, who: Account, body?: unknown, withEnv: object = s3Env) {
  const ctx = createExecutionContext();
  const res = await app.request(
    `http://parley.test${path}`,
    {
      method,
      headers: { Authorization: `Bearer ${who.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      redirect: "manual",
    },
    withEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

/** Re-signs the pre-signed request independently and compares the signatures. */
async function expectValidSignature(presigned: string, method: string, headers: Record<string, string>) {
  const url = new URL(presigned);
  const given = url.searchParams.get("X-Amz-Signature");
  const datetime = url.searchParams.get("X-Amz-Date")!;
  const expires = url.searchParams.get("X-Amz-Expires")!;
  const signedHeaders = url.searchParams.get("X-Amz-SignedHeaders")!.split(";");
  // Everything but what the signer adds itself is part of the canonical request (x-id, expiry, …).
  const unsigned = new URL(url);
  for (const added of ["X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders"]) {
    unsigned.searchParams.delete(added);
  }
  expect(unsigned.searchParams.get("X-Amz-Expires")).toBe(expires);
  expect([...unsigned.searchParams.keys()].filter((k) => k.toLowerCase().startsWith("x-amz-checksum"))).toEqual([]);
  const signer = new AwsV4Signer({
    ...credentials,
    url: unsigned.toString(),
    method,
    headers: Object.fromEntries(Object.entries(headers).filter(([k]) => signedHeaders.includes(k.toLowerCase()))),
    service: "s3",
    region: "us-east-1",
    signQuery: true,
    datetime,
    allHeaders: true,
  });
  const signed = await signer.sign();
  expect(signed.url.searchParams.get("X-Amz-SignedHeaders")).toBe(url.searchParams.get("X-Amz-SignedHeaders"));
  expect(signed.url.searchParams.get("X-Amz-Signature")).toBe(given);
  // And a tampered request would not match: the check can fail.
  const tampered = new AwsV4Signer({ ...credentials, url: unsigned.toString().replace("/media/", "/medib/"), method, headers: {}, service: "s3", region: "us-east-1", signQuery: true, datetime });
  expect((await tampered.sign()).url.searchParams.get("X-Amz-Signature")).not.toBe(given);
}

describe("media through S3 pre-signed URLs", () => {
  it("uploads straight to S3, completes, and serves members by redirect to a pre-signed GET", async () => {
    const [ana, bo, eve] = await Promise.all([registerUser("ana"), registerUser("bo"), registerUser("eve")]);
    const conversation = await directConversation(ana, bo);
    const bytes = new TextEncoder().encode("Meeting notes\n- ship media\n- then push\n");

    const res = await call("POST", "/api/v1/media/upload", ana, { content_type: "text/plain", size: bytes.length, filename: "notes.txt" });
    expect(res.status).toBe(201);
    const upload = (await res.json()) as { media_id: string; upload_url: string; headers: Record<string, string> };
    // To a staging key: completion copies the checked bytes to where they are served from.
    expect(upload.upload_url.startsWith(`${s3Env.S3_ENDPOINT}/parley-media-s3/uploads/${upload.media_id}?`)).toBe(true);
    await expectValidSignature(upload.upload_url, "PUT", { ...upload.headers, "content-length": String(bytes.length) });

    const stored = await fetch(upload.upload_url, { method: "PUT", headers: upload.headers, body: bytes });
    expect(stored.status).toBe(200);
    await stored.arrayBuffer();

    // Before completion it cannot be sent; completion checks size and type against S3.
    const send = (mediaId: string) =>
      call("POST", `/api/v1/conversations/${conversation}/messages`, ana, { content: "", content_type: "document", client_msg_id: crypto.randomUUID(), media_id: mediaId });
    expect(((await (await send(upload.media_id)).json()) as any).error.code).toBe("media_not_ready");
    const completed = await call("POST", `/api/v1/media/${upload.media_id}/complete`, ana);
    expect(completed.status).toBe(200);
    expect(((await completed.json()) as any).media).toMatchObject({ media_id: upload.media_id, size: bytes.length, filename: "notes.txt" });
    expect((await send(upload.media_id)).status).toBe(201);

    const redirect = await call("GET", `/api/v1/media/${upload.media_id}`, bo);
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get("Location")!;
    await expectValidSignature(location, "GET", {});
    const got = await fetch(location);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    expect((await call("GET", `/api/v1/media/${upload.media_id}`, eve)).status).toBe(404);

    // The upload URL still works for 15 minutes, but what it writes is never what is served.
    const swapped = new TextEncoder().encode("Meeting notes\n- SEND MONEY\n- then push\n");
    expect(swapped.length).toBe(bytes.length);
    await (await fetch(upload.upload_url, { method: "PUT", headers: upload.headers, body: swapped })).arrayBuffer();
    const again = await call("GET", `/api/v1/media/${upload.media_id}`, bo);
    expect(new Uint8Array(await (await fetch(again.headers.get("Location")!)).arrayBuffer())).toEqual(bytes);
  });

  it("deletes an S3 upload whose bytes do not match what was declared", async () => {
    const ana = await registerUser("ana");
    const bytes = new TextEncoder().encode("%PDF-1.4 but declared as a PNG");
    const res = await call("POST", "/api/v1/media/upload", ana, { content_type: "image/png", size: bytes.length });
    const upload = (await res.json()) as { media_id: string; upload_url: string; headers: Record<string, string> };
    await (await fetch(upload.upload_url, { method: "PUT", headers: upload.headers, body: bytes })).arrayBuffer();
    const completed = await call("POST", `/api/v1/media/${upload.media_id}/complete`, ana);
    expect(completed.status).toBe(422);
    expect(((await completed.json()) as any).error.code).toBe("media_mismatch");
    // Gone from the bucket: completing again finds nothing.
    expect((await call("POST", `/api/v1/media/${upload.media_id}/complete`, ana)).status).toBe(409);
  });

  it("answers 503 storage_unavailable (and logs why) when S3 cannot be reached at completion; completing again once it can succeeds", async () => {
    const ana = await registerUser("ana");
    const bytes = new TextEncoder().encode("notes that arrived whole\n");
    const res = await call("POST", "/api/v1/media/upload", ana, { content_type: "text/plain", size: bytes.length });
    const upload = (await res.json()) as { media_id: string; upload_url: string; headers: Record<string, string> };
    await (await fetch(upload.upload_url, { method: "PUT", headers: upload.headers, body: bytes })).arrayBuffer();

    // Nothing listens on port 1: every request to the bucket is refused.
    const unreachable = { ...s3Env, S3_ENDPOINT: "http://127.0.0.1:1" };
    const { result, lines } = await captureLogs(async () => {
      const answer = await call("POST", `/api/v1/media/${upload.media_id}/complete`, ana, undefined, unreachable);
      return { status: answer.status, body: (await answer.json()) as any };
    });
    expect(result).toMatchObject({ status: 503, body: { error: { code: "storage_unavailable" } } });
    const failure = lines.find((l) => l.msg === "media storage failed");
    expect(failure).toMatchObject({ level: "error", media_id: upload.media_id, operation: "size", error: { stack: expect.any(String) } });

    const completed = await call("POST", `/api/v1/media/${upload.media_id}/complete`, ana);
    expect(completed.status).toBe(200);
    expect(((await completed.json()) as any).media).toMatchObject({ media_id: upload.media_id, size: bytes.length });
  });
});
