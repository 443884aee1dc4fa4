import { PhotonImage } from "@cf-wasm/photon/workerd";
import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { api, type Account } from "./client";

/** A real PNG of `width`×`height` with a gradient (so it does not compress to nothing). */
export function png(width: number, height: number): Uint8Array {
  const pixels = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    pixels.set([(i % width) % 256, Math.floor(i / width) % 256, (i * 7) % 256, 255], i * 4);
  }
  const image = new PhotonImage(pixels, width, height);
  try {
    return image.get_bytes();
  } finally {
    image.free();
  }
}


export async function requestUpload(who: Account, body: unknown) {
  return api("POST", "/api/v1/media/upload", { token: who.token, body });
}

/** PUTs bytes to an upload URL exactly as a client would: absolute URL, returned headers, no token. */
export async function put(uploadUrl: string, headers: Record<string, string>, bytes: Uint8Array) {
  const res = await exports.default.fetch(uploadUrl, { method: "PUT", headers, body: bytes });
  return { status: res.status, body: (await res.json()) as any };
}

export async function upload(who: Account, bytes: Uint8Array, contentType: string, filename?: string) {
  const res = await requestUpload(who, { content_type: contentType, size: bytes.length, filename });
  expect(res.status).toBe(201);
  const done = await put(res.body.upload_url, res.body.headers, bytes);
  expect(done.status).toBe(201);
  return res.body.media_id as string;
}
