import { base64url } from "../lib/ids";
import { sameBytes } from "../lib/timingSafe";

/**
 * Password hashing at OWASP's 2023 cost for PBKDF2-SHA256: 600,000 HMAC iterations. workerd caps one
 * PBKDF2 call at 100,000 iterations, and Workers forbid compiling WebAssembly at run time (so no
 * argon2id from hash-wasm), so the cost is reached by chaining: each round's 256-bit output is the next
 * round's password, with the same salt. A guess costs the same 600,000 sequential HMACs (the time is in
 * docs/performance.md); each record says its rounds, so the cost can rise later and older records are
 * upgraded at their next login.
 */
const ITERATIONS_PER_ROUND = 100_000;
export const PASSWORD_ROUNDS = 6;
const encoder = new TextEncoder();

export interface PasswordRecord {
  algorithm: "pbkdf2-sha256";
  /** Iterations per PBKDF2 call (100,000: workerd's cap). */
  iterations: number;
  /** Chained calls (absent in records written before chaining: one). */
  rounds?: number;
  salt: string;
  hash: string;
}

export async function hashPassword(password: string): Promise<PasswordRecord> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const hash = await derive(password, salt, ITERATIONS_PER_ROUND, PASSWORD_ROUNDS);
  return { algorithm: "pbkdf2-sha256", iterations: ITERATIONS_PER_ROUND, rounds: PASSWORD_ROUNDS, salt: base64url(salt), hash: base64url(hash) };
}

/** Whether a record was written at less than today's cost (rehash it once the password is known right). */
export function needsRehash(record: PasswordRecord): boolean {
  return record.iterations * (record.rounds ?? 1) < ITERATIONS_PER_ROUND * PASSWORD_ROUNDS;
}

export async function verifyPassword(password: string, record: PasswordRecord): Promise<boolean> {
  const salt = fromBase64url(record.salt);
  const actual = await derive(password, salt, record.iterations, record.rounds ?? 1);
  const expected = fromBase64url(record.hash);
  return sameBytes(actual, expected);
}

/** A record to verify against when the username does not exist, so timing does not reveal it. */
export const decoyRecord: PasswordRecord = {
  algorithm: "pbkdf2-sha256",
  iterations: ITERATIONS_PER_ROUND,
  rounds: PASSWORD_ROUNDS,
  salt: "AAAAAAAAAAAAAAAAAAAAAA",
  hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
};

async function derive(password: string, salt: Uint8Array, iterations: number, rounds: number): Promise<Uint8Array> {
  let secret: Uint8Array = encoder.encode(password);
  for (let i = 0; i < rounds; i++) {
    const key = await crypto.subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
    secret = new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256));
  }
  return secret;
}

function fromBase64url(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}
