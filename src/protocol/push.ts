import { z } from "zod";
import { Limits } from "./limits";

const base64url = (bytes: number, what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, `${what} must be base64url`)
    .refine((s) => decodedLength(s) === bytes, `${what} must be ${bytes} bytes`);

function decodedLength(s: string): number {
  const body = s.replace(/=+$/, "");
  return Math.floor((body.length * 3) / 4);
}

/** A browser's PushSubscription (its `toJSON()`), tied to one of the user's devices. */
export const PushSubscriptionBody = z.object({
  device_id: z.string().regex(Limits.deviceIdPattern, "device_id must be 1-64 of A-Z a-z 0-9 _ -"),
  endpoint: z.string().url().max(2048),
  keys: z.object({
    // An uncompressed P-256 point: 65 bytes starting 0x04 (checked again when stored).
    p256dh: base64url(65, "keys.p256dh"),
    auth: base64url(16, "keys.auth"),
  }),
});
export type PushSubscriptionBody = z.infer<typeof PushSubscriptionBody>;

export const VapidKeyResponse = z.object({ key: z.string() });

/** What a push carries (encrypted end to end to the browser; the push service cannot read it). */
export const PushPayload = z.object({
  conversation_id: z.string(),
  title: z.string(),
  body: z.string(),
  unread_count: z.number().int().nonnegative(),
  /**
   * The sender's profile photo (a direct chat, if the recipient may see it) or the group's photo:
   * a same-origin path to its thumbnail that authorizes itself for a day.
   */
  icon: z.string().optional(),
});
export type PushPayload = z.infer<typeof PushPayload>;
