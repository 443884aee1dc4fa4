import { base64url } from "../lib/ids";

/** workerd caps PBKDF2 at 100,000 iterations; use all of them. */
const ITERATIONS = 100_000;
const encoder = new TextEncoder();

export interface PasswordRecord {
  algorithm: "pbkdf2-sha256";
  iterations: number;
  salt: string;
  hash: string;
}

export async function hashPassword(password: string): Promise<PasswordRecord> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, ITERATIONS);
  return { algorithm: "pbkdf2-sha256", iterations: ITERATIONS, salt: base64url(salt), hash: base64url(hash) };
}

export async function verifyPassword(password: string, record: PasswordRecord): Promise<boolean> {
  const salt = fromBase64url(record.salt);
  const actual = await derive(password, salt, record.iterations);
  const expected = fromBase64url(record.hash);
  return timingSafeEqual(actual, expected);
}

/** A record to verify against when the username does not exist, so timing does not reveal it. */
export const decoyRecord: PasswordRecord = {
  algorithm: "pbkdf2-sha256",
  iterations: ITERATIONS,
  salt: "AAAAAAAAAAAAAAAAAAAAAA",
  hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function fromBase64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
