import { z } from "zod";
import { Limits } from "./limits";

/** Opaque identifiers. The server mints them; clients only compare them. */
export const UserId = z.string().min(1).max(64);
export const ConversationId = z.string().min(1).max(64);
export const ServerMsgId = z.string().min(1).max(64);
export const ClientMsgId = z.string().min(1).max(Limits.clientMsgIdMaxLength);
export const Seq = z.number().int().nonnegative();
/** Integer milliseconds since the Unix epoch. */
export const Timestamp = z.number().int();

export const ContentType = z.enum(["text", "image", "video", "document", "system"]);
export type ContentType = z.infer<typeof ContentType>;
/** What a client may send: `system` messages are written only by the server. */
export const ClientContentType = z.enum(["text", "image", "video", "document"]);

export const MediaRef = z.object({
  media_id: z.string(),
  content_type: z.string(),
  size: z.number().int().nonnegative(),
  filename: z.string().nullable().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  thumbnail: z.string().optional(),
}).meta({ id: "MediaRef" });
export type MediaRef = z.infer<typeof MediaRef>;

export const Message = z.object({
  conversation_id: ConversationId,
  server_msg_id: ServerMsgId,
  seq: Seq,
  sender_id: UserId,
  content: z.string(),
  content_type: ContentType,
  timestamp: Timestamp,
  media: MediaRef.optional(),
}).meta({ id: "Message" });
export type Message = z.infer<typeof Message>;

export const User = z.object({
  user_id: UserId,
  username: z.string(),
  display_name: z.string(),
}).meta({ id: "User" });
export type User = z.infer<typeof User>;

export const MemberRole = z.enum(["admin", "member"]);
export type MemberRole = z.infer<typeof MemberRole>;
export const Member = z.object({ user_id: UserId, role: MemberRole }).meta({ id: "Member" });
export type Member = z.infer<typeof Member>;

export const ConversationType = z.enum(["direct", "group"]);
export type ConversationType = z.infer<typeof ConversationType>;

export const Conversation = z.object({
  conversation_id: ConversationId,
  type: ConversationType,
  name: z.string().nullable(),
  members: z.array(Member),
  created_at: Timestamp,
  updated_at: Timestamp,
}).meta({ id: "Conversation" });
export type Conversation = z.infer<typeof Conversation>;

/** One row of a user's conversation list. */
export const ConversationSummary = Conversation.extend({
  member_count: z.number().int().nonnegative(),
  last_message: Message.nullable(),
  unread_count: z.number().int().nonnegative(),
  /** Archived by this user: listed only with `?archived=true`. */
  archived: z.boolean(),
}).meta({ id: "ConversationSummary" });

/** An invitation to a group, sent instead of adding a user whose settings do not let the adder add them. */
export const Invitation = z.object({
  conversation_id: ConversationId,
  name: z.string().nullable(),
  inviter_id: UserId,
  created_at: Timestamp,
  expires_at: Timestamp,
}).meta({ id: "Invitation" });
export type Invitation = z.infer<typeof Invitation>;

/**
 * The content of a `system` message (a JSON string): who did what to whom. Clients render it; user
 * objects also use it to keep their copy of the conversation's name and members current.
 */
export const SystemEvent = z.discriminatedUnion("event", [
  z.object({ event: z.literal("group_created"), actor: UserId, name: z.string(), user_ids: z.array(UserId) }),
  z.object({ event: z.literal("renamed"), actor: UserId, name: z.string() }),
  z.object({ event: z.literal("members_added"), actor: UserId, user_ids: z.array(UserId) }),
  /** Joined by accepting an invitation (`actor`: who invited) or with the invite link (`actor`: the joiner). */
  z.object({ event: z.literal("member_joined"), actor: UserId, user_id: UserId, via: z.enum(["invitation", "link"]) }),
  z.object({ event: z.literal("member_removed"), actor: UserId, user_id: UserId }),
  z.object({ event: z.literal("member_left"), actor: UserId, user_id: UserId }),
  z.object({ event: z.literal("role_changed"), actor: UserId, user_id: UserId, role: MemberRole }),
  /**
   * Only ever seen by a user who blocked `actor`: the place in the sequence of a message from them
   * in a direct chat, with nothing of it. Clients show nothing and count nothing for it.
   */
  z.object({ event: z.literal("withheld"), actor: UserId }),
]);
export type SystemEvent = z.infer<typeof SystemEvent>;

/**
 * A conversation's member list after one of its system events. User objects keep their inbox copy
 * current with it and the SDK its conversation list, so a membership change costs no extra call or
 * list fetch on either side. (Whether the event removed the reader is for the caller to see.)
 */
export function membersAfter(members: Member[], event: SystemEvent): Member[] {
  switch (event.event) {
    case "members_added":
      return [...members, ...event.user_ids.filter((id) => !members.some((m) => m.user_id === id)).map((user_id) => ({ user_id, role: "member" as const }))];
    case "member_joined":
      return members.some((m) => m.user_id === event.user_id) ? members : [...members, { user_id: event.user_id, role: "member" as const }];
    case "member_removed":
    case "member_left":
      return members.filter((m) => m.user_id !== event.user_id);
    case "role_changed":
      return members.map((m) => (m.user_id === event.user_id ? { ...m, role: event.role } : m));
    case "group_created":
    case "renamed":
    case "withheld":
      return members;
  }
}

/** Whether a system event takes `userId` out of the conversation. */
export function removes(event: SystemEvent, userId: string): boolean {
  return (event.event === "member_removed" || event.event === "member_left") && event.user_id === userId;
}
export type ConversationSummary = z.infer<typeof ConversationSummary>;
