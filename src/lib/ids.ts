/** Server-minted identifiers: a kind prefix and 128 random bits, URL-safe. */
export function newId(prefix: "u" | "g"): string {
  return `${prefix}_${randomToken(16)}`;
}

export function randomToken(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(buf);
}

export function base64url(buf: Uint8Array): string {
  let s = "";
  for (const b of buf) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The one conversation of a pair of users, whichever of them asks first: derived from the sorted
 * pair so both sides name the same object without a global lookup.
 */
export async function directConversationId(a: string, b: string): Promise<string> {
  const [x, y] = a < b ? [a, b] : [b, a];
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`direct\n${x}\n${y}`));
  return `d_${base64url(new Uint8Array(digest).slice(0, 16))}`;
}

/**
 * server_msg_id carries the message's seq so a user object can move a delivery cursor from a
 * status frame without asking the conversation; the random tail keeps ids unguessable.
 */
export function newServerMsgId(seq: number): string {
  return `m${seq.toString(36)}_${randomToken(6)}`;
}

export function seqOfServerMsgId(id: string): number | null {
  const match = /^m([0-9a-z]{1,11})_[A-Za-z0-9_-]+$/.exec(id);
  if (!match) return null;
  const seq = parseInt(match[1]!, 36);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : null;
}

export const conversationIdPattern = /^[dg]_[A-Za-z0-9_-]{10,40}$/;
export const userIdPattern = /^u_[A-Za-z0-9_-]{10,40}$/;
