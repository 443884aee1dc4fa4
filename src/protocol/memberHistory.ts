import { z } from "zod";
import { Timestamp, UserId } from "./models";

/**
 * A group's membership history, for its admins ("past members" in the group's info): who joined,
 * who left, who was removed, by whom and when. Newest first; `next` pages back.
 */

/** How someone came in: with the group when it was created, added by an admin, or by invitation or link. */
export const JoinedVia = z.enum(["created", "added", "invitation", "link"]);
export type JoinedVia = z.infer<typeof JoinedVia>;

export const MemberChange = z.object({
  /** The seq of the system message that recorded it. */
  seq: z.number().int().positive(),
  change: z.enum(["joined", "left", "removed"]),
  user_id: UserId,
  /** Who did it: the admin who added or removed them, who sent the invitation, or the member themselves. */
  actor: UserId,
  /** For `joined` only. */
  via: JoinedVia.nullable(),
  at: Timestamp,
});
export type MemberChange = z.infer<typeof MemberChange>;

/** A place in the history, as `next` gives it. */
const MemberHistoryCursor = z.string().regex(/^\d{1,16}~\d{1,4}$/, "not a cursor from this history");

export const MemberHistoryQuery = z.object({
  before: MemberHistoryCursor.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
export type MemberHistoryQuery = z.infer<typeof MemberHistoryQuery>;

export const MemberHistoryResponse = z.object({ changes: z.array(MemberChange), next: z.string().nullable() });
export type MemberHistoryResponse = z.infer<typeof MemberHistoryResponse>;
