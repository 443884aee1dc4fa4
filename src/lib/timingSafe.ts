const encoder = new TextEncoder();

/**
 * Whether two secrets are equal, in time that does not depend on where they differ (the runtime's
 * `crypto.subtle.timingSafeEqual`; lengths are not secret). One helper for passwords, the admin secret
 * and invite-link tokens.
 */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

export function sameSecret(given: string, expected: string): boolean {
  return sameBytes(encoder.encode(given), encoder.encode(expected));
}
