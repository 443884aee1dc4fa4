import { inject } from "vitest";

/**
 * A browser's side of Web Push for workerd tests: its own key pair and auth secret, a subscription
 * endpoint on the local push service (test/helpers/globalPush.ts), and RFC 8291 decryption with
 * WebCrypto, independent of the web-push library that encrypted the message.
 */
const enc = new TextEncoder();
const pushBase = () => `http://127.0.0.1:${inject("pushPort")}`;
export const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const fromB64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

export interface PushBrowser {
  id: string;
  endpoint: string;
  keys: CryptoKeyPair;
  publicKey: Uint8Array;
  auth: Uint8Array;
}

/** A browser's subscription whose push service answers `status`, after `delayMs`. */
export async function pushBrowser(status = 201, delayMs = 0): Promise<PushBrowser> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", keys.publicKey)) as ArrayBuffer);
  const id = crypto.randomUUID();
  return { id, endpoint: `${pushBase()}/push/${id}?status=${status}&delay=${delayMs}`, keys, publicKey, auth: crypto.getRandomValues(new Uint8Array(16)) };
}

export const subscriptionOf = (b: PushBrowser) => ({ endpoint: b.endpoint, keys: { p256dh: b64url(b.publicKey), auth: b64url(b.auth) } });

/** What the push service received for this browser, in arrival order. */
export async function recordedPushes(b: PushBrowser): Promise<{ at: number; headers: Record<string, string>; body: string }[]> {
  return (await (await fetch(`${pushBase()}/recorded/${b.id}`)).json()) as { at: number; headers: Record<string, string>; body: string }[];
}

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8));
}

/** RFC 8291 (aes128gcm, RFC 8188), as the receiving browser does it; `body` is base64 as recorded. */
export async function decryptPush(b: PushBrowser, base64Body: string): Promise<unknown> {
  const body = fromB64(base64Body);
  const salt = body.slice(0, 16);
  const recordSize = new DataView(body.buffer, body.byteOffset + 16, 4).getUint32(0);
  const idLength = body[20]!;
  const senderKey = body.slice(21, 21 + idLength);
  const ciphertext = body.slice(21 + idLength);
  if (idLength !== 65) throw new Error(`the header's key id is ${idLength} bytes, not a 65-byte P-256 key`);
  if (ciphertext.length > recordSize) throw new Error("the record is larger than the header's record size");
  const sender = await crypto.subtle.importKey("raw", senderKey, { name: "ECDH", namedCurve: "P-256" }, false, []);
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: sender } as unknown as SubtleCryptoDeriveKeyAlgorithm, b.keys.privateKey, 256));
  const ikm = await hkdf(b.auth, shared, concat(enc.encode("WebPush: info\0"), b.publicKey, senderKey), 32);
  const cek = await hkdf(salt, ikm, enc.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, enc.encode("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, ciphertext));
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("no last-record delimiter (0x02) after the plaintext");
  return JSON.parse(new TextDecoder().decode(padded.slice(0, end)));
}
