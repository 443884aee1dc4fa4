/**
 * The local upload URL authorizes itself: an HMAC over what was declared (media id, type, size,
 * uploader) and the expiry, keyed from the deployment's secret. Tampering with any of them, or using
 * it after `expires`, is refused.
 */
const encoder = new TextEncoder();

async function key(secret: string): Promise<CryptoKey> {
  // A key of its own, derived from JWT_SECRET, so an upload signature can never pass as a session token.
  const base = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const derived = await crypto.subtle.sign("HMAC", base, encoder.encode("parley/media-upload/v1"));
  return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

export interface UploadGrant {
  media_id: string;
  content_type: string;
  size: number;
  uploader: string;
  expires: number;
}

const message = (g: UploadGrant) => [g.media_id, g.content_type, g.size, g.uploader, g.expires].join("\n");

const toHex = (buf: ArrayBuffer) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");

export async function signUpload(secret: string, grant: UploadGrant): Promise<string> {
  return toHex(await crypto.subtle.sign("HMAC", await key(secret), encoder.encode(message(grant))));
}

export async function verifyUpload(secret: string, grant: UploadGrant, signature: string): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const bytes = new Uint8Array(signature.match(/../g)!.map((h) => parseInt(h, 16)));
  // crypto.subtle.verify compares in constant time.
  return crypto.subtle.verify("HMAC", await key(secret), bytes, encoder.encode(message(grant)));
}

/**
 * A view URL's grant: anyone holding it may read that media (or its thumbnail) until `expires`,
 * which is how <img> and <video> elements, which cannot send an Authorization header, load media.
 * The Worker hands it out only after checking the asker may see the media.
 */
export interface ViewGrant {
  media_id: string;
  variant: "content" | "thumbnail";
  expires: number;
}

const viewMessage = (g: ViewGrant) => ["view", g.media_id, g.variant, g.expires].join("\n");

export async function signView(secret: string, grant: ViewGrant): Promise<string> {
  return toHex(await crypto.subtle.sign("HMAC", await key(secret), encoder.encode(viewMessage(grant))));
}

/** The path of a view URL (same origin as the API): what push payloads carry, and what routes/media.ts hands out. */
export async function viewPath(secret: string, grant: ViewGrant): Promise<string> {
  const sig = await signView(secret, grant);
  return `/api/v1/media/${grant.media_id}/view?${new URLSearchParams({ variant: grant.variant, expires: String(grant.expires), sig }).toString()}`;
}

export async function verifyView(secret: string, grant: ViewGrant, signature: string): Promise<boolean> {
  if (!/^[0-9a-f]{64}$/.test(signature)) return false;
  const bytes = new Uint8Array(signature.match(/../g)!.map((h) => parseInt(h, 16)));
  return crypto.subtle.verify("HMAC", await key(secret), bytes, encoder.encode(viewMessage(grant)));
}
