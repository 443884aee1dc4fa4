import { PhotonImage } from "@cf-wasm/photon/workerd";
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bytesKey } from "../../src/media/records";
import { signUpload } from "../../src/media/uploadToken";
import { app } from "../../src/worker";
import { api, connect, directConversation, registerUser, TEST_JWT_SECRET, type Account } from "../helpers/client";
import { captureLogs } from "../helpers/logs";
import { png, put, requestUpload, upload } from "../helpers/media";

const PDF = new TextEncoder().encode("%PDF-1.7\n% a tiny document\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n");

async function download(who: Account, mediaId: string, headers: Record<string, string> = {}) {
  const res = await exports.default.fetch(`http://parley.test/api/v1/media/${mediaId}`, {
    headers: { Authorization: `Bearer ${who.token}`, ...headers },
  });
  return res;
}

/** The MEDIA bucket with some of its operations failing as they do when R2 is down; the rest reach the real bucket. */
function failingBucket(bucket: R2Bucket, failing: (keyof R2Bucket)[]): R2Bucket {
  return new Proxy(bucket, {
    get(target, name) {
      if (failing.includes(name as keyof R2Bucket)) {
        return async () => {
          throw new Error("R2 unavailable (injected by the test)");
        };
      }
      const value = Reflect.get(target, name);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A request to the Worker's app with its MEDIA bucket replaced. */
async function withBucket(bucket: R2Bucket, url: string, init: RequestInit) {
  const ctx = createExecutionContext();
  const res = await app.request(url, init, { ...env, MEDIA: bucket }, ctx);
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as any };
}

describe("media", () => {
  it("upload → message → a member downloads identical bytes; a non-member cannot", async () => {
    const [ana, bo, eve] = await Promise.all([registerUser("ana"), registerUser("bo"), registerUser("eve")]);
    const conversation = await directConversation(ana, bo);
    const bytes = png(64, 48);
    const mediaId = await upload(ana, bytes, "image/png", "../../holiday.png");

    const boSocket = await connect(bo.token, "bo-phone");
    const sent = await api("POST", `/api/v1/conversations/${conversation}/messages`, {
      token: ana.token,
      body: { content: "the view!", content_type: "image", client_msg_id: "img-1", media_id: mediaId },
    });
    expect(sent.status).toBe(201);
    const [frame] = await boSocket.next("new_message");
    expect(frame!.content_type).toBe("image");
    expect(frame!.media).toMatchObject({ media_id: mediaId, content_type: "image/png", size: bytes.length, filename: "holiday.png" });
    expect(frame!.media!.thumbnail).toBe(`/api/v1/media/${mediaId}/thumbnail`);
    boSocket.close();

    const got = await download(bo, mediaId);
    expect(got.status).toBe(200);
    expect(got.headers.get("Content-Type")).toBe("image/png");
    expect(got.headers.get("Cache-Control")).toContain("immutable");
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    expect((await download(ana, mediaId)).status).toBe(200);

    // Self-authorizing view URLs, for <img>/<video>: no token, exact bytes; tampering is refused.
    const view = await api("GET", `/api/v1/media/${mediaId}/url`, { token: bo.token });
    expect(view.status).toBe(200);
    // It lives minutes, not hours: a link copied out of the app soon stops working.
    expect(view.body.expires_at - Date.now()).toBeGreaterThan(4 * 60_000);
    expect(view.body.expires_at - Date.now()).toBeLessThanOrEqual(10 * 60_000);
    expect(view.body.url).not.toContain(bo.token);
    const viewed = await exports.default.fetch(view.body.url);
    expect(new Uint8Array(await viewed.arrayBuffer())).toEqual(bytes);
    expect((await exports.default.fetch(view.body.url.replace("variant=content", "variant=thumbnail"))).status).toBe(403);
    const forgedView = new URL(view.body.url);
    forgedView.searchParams.set("expires", String(Number(forgedView.searchParams.get("expires")) + 3_600_000));
    expect((await exports.default.fetch(forgedView.toString())).status).toBe(403);
    expect((await api("GET", `/api/v1/media/${mediaId}/url`, { token: eve.token })).status).toBe(404);

    const refused = await download(eve, mediaId);
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as any).error.code).toBe("media_not_found");
    expect((await api("GET", `/api/v1/media/${mediaId}`)).status).toBe(401);
  });

  it("serves byte ranges (for video seeking) and documents as attachments", async () => {
    const ana = await registerUser("ana");
    const mediaId = await upload(ana, PDF, "application/pdf", "minutes – march.pdf");
    const part = await download(ana, mediaId, { Range: "bytes=5-14" });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe(`bytes 5-14/${PDF.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(PDF.slice(5, 15));
    const whole = await download(ana, mediaId);
    expect(whole.headers.get("Content-Disposition")).toContain("attachment");
    expect(whole.headers.get("Content-Disposition")).toContain(encodeURIComponent("minutes – march.pdf"));
    await whole.arrayBuffer();
  });

  it("refuses what the limits forbid, before and after the upload", async () => {
    const ana = await registerUser("ana");
    const declare = (body: unknown) => requestUpload(ana, body);
    expect((await declare({ content_type: "application/x-msdownload", size: 10 })).body.error.code).toBe("unsupported_media_type");
    expect((await declare({ content_type: "image/png", size: 16 * 1024 * 1024 + 1 })).body.error.code).toBe("media_too_large");
    expect((await declare({ content_type: "video/mp4", size: 64 * 1024 * 1024 + 1 })).status).toBe(413);
    expect((await declare({ content_type: "application/pdf", size: 100 * 1024 * 1024 })).status).toBe(201);
    expect((await declare({ content_type: "image/png", size: 0 })).status).toBe(400);
    expect((await declare({ content_type: "not a type", size: 10 })).status).toBe(400);

    // Bytes that are not what was declared.
    const text = new TextEncoder().encode("MZ this is not a PNG at all, it only says it is....");
    const fake = await declare({ content_type: "image/png", size: text.length });
    const sniffed = await put(fake.body.upload_url, fake.body.headers, text);
    expect(sniffed).toMatchObject({ status: 422, body: { error: { code: "media_mismatch" } } });
    const notSent = await api("POST", `/api/v1/media/${fake.body.media_id}/complete`, { token: ana.token });
    expect(notSent.status).toBe(409); // the bytes were deleted: nothing is uploaded

    // A body shorter or longer than declared.
    const bytes = png(8, 8);
    const short = await declare({ content_type: "image/png", size: bytes.length + 10 });
    expect((await put(short.body.upload_url, short.body.headers, bytes)).status).toBe(422);
    const wrongType = await declare({ content_type: "image/png", size: bytes.length });
    expect((await put(wrongType.body.upload_url, { "Content-Type": "image/gif" }, bytes)).status).toBe(422);
  });

  it("refuses an upload URL that was tampered with or has expired", async () => {
    const ana = await registerUser("ana");
    const bytes = png(8, 8);
    const res = await requestUpload(ana, { content_type: "image/png", size: bytes.length });
    const url = new URL(res.body.upload_url);
    expect(url.searchParams.has("token")).toBe(false);

    const later = new URL(url);
    later.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 3_600_000));
    expect(await put(later.toString(), res.body.headers, bytes)).toMatchObject({ status: 403, body: { error: { code: "upload_url_invalid" } } });
    const forged = new URL(url);
    forged.searchParams.set("sig", "0".repeat(64));
    expect((await put(forged.toString(), res.body.headers, bytes)).status).toBe(403);
    const otherMedia = new URL(url.toString().replace(res.body.media_id, "md_AAAAAAAAAAAAAAAAAAAAAA"));
    expect((await put(otherMedia.toString(), res.body.headers, bytes)).status).toBe(403);

    // An expired grant, correctly signed: the record's expiry is in the past.
    const record = await (await env.MEDIA.get(`meta/${res.body.media_id}.json`))!.json<any>();
    const expired = { ...record, expires_at: Date.now() - 1000 };
    await env.MEDIA.put(`meta/${res.body.media_id}.json`, JSON.stringify(expired));
    const sig = await signUpload(TEST_JWT_SECRET, { ...expired, expires: expired.expires_at });
    const stale = new URL(url);
    stale.search = new URLSearchParams({ expires: String(expired.expires_at), sig }).toString();
    expect(await put(stale.toString(), res.body.headers, bytes)).toMatchObject({ status: 403, body: { error: { code: "upload_url_invalid" } } });

    // The original URL no longer matches the (now expired) record either.
    expect((await put(url.toString(), res.body.headers, bytes)).status).toBe(403);
  });

  it("sends media only as its uploader and with the matching kind", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const mine = await upload(ana, PDF, "application/pdf");
    const send = (who: Account, body: object) =>
      api("POST", `/api/v1/conversations/${conversation}/messages`, { token: who.token, body: { content: "", client_msg_id: crypto.randomUUID(), ...body } });
    expect((await send(bo, { content_type: "document", media_id: mine })).body.error.code).toBe("media_not_found");
    expect((await send(ana, { content_type: "image", media_id: mine })).body.error.code).toBe("media_mismatch");
    expect((await send(ana, { content_type: "image" })).status).toBe(400);
    expect((await send(ana, { content_type: "text", content: "hi", media_id: mine })).status).toBe(400);
    expect((await send(ana, { content_type: "document", media_id: mine })).status).toBe(201);
    // Bo can download it now that it was sent to him.
    expect((await download(bo, mine)).status).toBe(200);
  });

  it("makes a thumbnail off the request path: a valid, smaller JPEG, with the dimensions recorded", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const original = png(1200, 800);
    const mediaId = await upload(ana, original, "image/png");
    const thumbUrl = `http://parley.test/api/v1/media/${mediaId}/thumbnail`;

    let thumb: Response | null = null;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const res = await exports.default.fetch(thumbUrl, { headers: { Authorization: `Bearer ${ana.token}` } });
      if (res.status === 200) {
        thumb = res;
        break;
      }
      expect(res.status).toBe(404);
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(thumb, "the thumbnail job did not run").not.toBeNull();
    const bytes = new Uint8Array(await thumb!.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    expect(bytes.length).toBeLessThan(original.length);
    const decoded = PhotonImage.new_from_byteslice(bytes);
    expect([decoded.get_width(), decoded.get_height()]).toEqual([320, 213]);
    decoded.free();

    const sent = await api("POST", `/api/v1/conversations/${conversation}/messages`, {
      token: ana.token,
      body: { content: "", content_type: "image", client_msg_id: "big", media_id: mediaId },
    });
    expect(sent.status).toBe(201);
    const { body } = await api("GET", `/api/v1/conversations/${conversation}/messages`, { token: bo.token });
    expect(body.messages.at(-1).media).toMatchObject({ width: 1200, height: 800 });
    // Bo, a member now, sees the thumbnail too; the upload record itself is not served to others.
    expect((await exports.default.fetch(thumbUrl, { headers: { Authorization: `Bearer ${bo.token}` } })).status).toBe(200);
  });

  it("answers 503 storage_unavailable (and logs why) when the bucket fails, never media_mismatch; the same upload completes later", async () => {
    const ana = await registerUser("ana");
    const bytes = png(8, 8);
    const refusedGrant = await requestUpload(ana, { content_type: "image/png", size: bytes.length });
    const unreadGrant = await requestUpload(ana, { content_type: "image/png", size: bytes.length });
    const putTo = (bucket: R2Bucket, grant: typeof refusedGrant) =>
      withBucket(bucket, grant.body.upload_url, { method: "PUT", headers: { ...grant.body.headers, "Content-Length": String(bytes.length) }, body: bytes });

    const { result, lines } = await captureLogs(async () => ({
      // The bucket refuses the bytes…
      refused: await putTo(failingBucket(env.MEDIA, ["put"]), refusedGrant),
      // …or takes them, but cannot be read back to check them.
      unread: await putTo(failingBucket(env.MEDIA, ["head"]), unreadGrant),
    }));
    for (const answer of [result.refused, result.unread]) {
      expect(answer).toMatchObject({ status: 503, body: { error: { code: "storage_unavailable" } } });
      expect(JSON.stringify(answer.body)).not.toContain("injected"); // the detail is logged, not sent
    }
    const failures = lines.filter((l) => l.msg === "media storage failed");
    expect(failures.map((l) => [l.level, l.media_id, l.operation])).toEqual([
      ["error", refusedGrant.body.media_id, "put"],
      ["error", unreadGrant.body.media_id, "size"],
    ]);
    for (const l of failures) {
      expect(l.error).toMatchObject({ message: "R2 unavailable (injected by the test)" });
      expect(l.error!.stack).toContain("R2MediaStore");
      expect(l.request_id).toMatch(/^[0-9a-f-]{36}$/);
    }

    // Nothing was wrong with either upload: with the bucket back, the one that never landed is PUT
    // again, and the one that did is completed.
    expect((await put(refusedGrant.body.upload_url, refusedGrant.body.headers, bytes)).status).toBe(201);
    const completed = await api("POST", `/api/v1/media/${unreadGrant.body.media_id}/complete`, { token: ana.token });
    expect(completed).toMatchObject({ status: 200, body: { media: { media_id: unreadGrant.body.media_id, size: bytes.length } } });
  });

  it("answers 503 storage_unavailable when the bucket fails while media is asked for, and serves it once the bucket is back", async () => {
    const ana = await registerUser("ana");
    const bytes = png(8, 8);
    const mediaId = await upload(ana, bytes, "image/png", "x.png");
    const auth = { headers: { Authorization: `Bearer ${ana.token}` } };
    const broken = failingBucket(env.MEDIA, ["get", "head", "list"]);
    const { result, lines } = await captureLogs(async () => ({
      bytes: await withBucket(broken, `http://parley.test/api/v1/media/${mediaId}`, auth),
      url: await withBucket(broken, `http://parley.test/api/v1/media/${mediaId}/url`, auth),
      grant: await withBucket(failingBucket(env.MEDIA, ["put"]), "http://parley.test/api/v1/media/upload", {
        method: "POST",
        headers: { ...auth.headers, "Content-Type": "application/json" },
        body: JSON.stringify({ content_type: "image/png", size: bytes.length }),
      }),
    }));
    for (const answer of [result.bytes, result.url, result.grant]) expect(answer).toMatchObject({ status: 503, body: { error: { code: "storage_unavailable" } } });
    expect(lines.filter((l) => l.msg === "media storage failed").length).toBe(3);
    expect((await exports.default.fetch(`http://parley.test/api/v1/media/${mediaId}`, auth)).status).toBe(200);
  });

  it("answers media_not_found in the error shape for media whose bytes are gone from the bucket", async () => {
    const ana = await registerUser("ana");
    const mediaId = await upload(ana, png(8, 8), "image/png", "x.png");
    await env.MEDIA.delete(bytesKey(mediaId));
    const res = await api("GET", `/api/v1/media/${mediaId}`, { token: ana.token });
    expect(res).toMatchObject({ status: 404, body: { error: { code: "media_not_found" } } });
  });

  it("still calls a body that breaks off a media_mismatch", async () => {
    const ana = await registerUser("ana");
    const bytes = png(8, 8);
    const grant = await requestUpload(ana, { content_type: "image/png", size: bytes.length });
    const cut = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 10));
        controller.error(new Error("connection lost"));
      },
    });
    const { result, lines } = await captureLogs(() =>
      withBucket(env.MEDIA, grant.body.upload_url, { method: "PUT", headers: { ...grant.body.headers, "Content-Length": String(bytes.length) }, body: cut }),
    );
    expect(result).toMatchObject({ status: 422, body: { error: { code: "media_mismatch", message: `the body must be exactly the declared ${bytes.length} bytes` } } });
    expect(lines.filter((l) => l.msg === "media storage failed")).toEqual([]);
  });
});
