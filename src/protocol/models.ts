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

/**
 * What a row of the sequence is. `text`, `image`, `video`, `document`, `audio` are messages people send;
 * `system` records a membership change (written by the server); `edit`, `reaction`, `delete` and `played` are
 * message actions: rows of the sequence that change an earlier message (`target`) instead of adding
 * one, so they are ordered, caught up and acknowledged exactly like messages.
 */
export const ContentType = z.enum(["text", "image", "video", "document", "audio", "system", "edit", "reaction", "delete", "played"]);
export type ContentType = z.infer<typeof ContentType>;
/** What a client may send as a message: `system` messages are written only by the server. */
export const ClientContentType = z.enum(["text", "image", "video", "document", "audio"]);
export type ClientContentType = z.infer<typeof ClientContentType>;
/**
 * The message actions, each a row of the sequence that names its target. `played`: a recipient
 * played a voice message (the sender's blue microphone).
 */
export const ActionType = z.enum(["edit", "reaction", "delete", "played"]);
export type ActionType = z.infer<typeof ActionType>;

const ACTIONS: ReadonlySet<string> = new Set(ActionType.options);
/** Whether a row of the sequence is a message action (edit, reaction, delete, played) rather than a message. */
export function isAction(m: { content_type: string }): boolean {
  return ACTIONS.has(m.content_type);
}
/**
 * Whether a row counts as a message for unread counts, conversation previews and push: messages and
 * system messages do, actions never (a reaction is not something new to read).
 */
export function countsAsMessage(m: { content_type: string }): boolean {
  return !ACTIONS.has(m.content_type);
}

/**
 * What the recording client measured of a voice message: its length, and amplitude levels
 * (0–100, at most Limits.waveformMaxBars) that players draw as bars.
 */
export const VoiceInfo = z.object({
  duration_ms: z.number().int().min(1).max(Limits.voiceMaxDurationMs),
  waveform: z.array(z.number().int().min(0).max(100)).min(1).max(Limits.waveformMaxBars),
});
export type VoiceInfo = z.infer<typeof VoiceInfo>;

export const MediaRef = z.object({
  media_id: z.string(),
  content_type: z.string(),
  size: z.number().int().nonnegative(),
  filename: z.string().nullable().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  thumbnail: z.string().optional(),
  /** A voice message recorded in the app (not an attached audio file), with what its recorder measured. */
  voice: z.literal(true).optional(),
  duration_ms: VoiceInfo.shape.duration_ms.optional(),
  waveform: VoiceInfo.shape.waveform.optional(),
}).meta({ id: "MediaRef" });
export type MediaRef = z.infer<typeof MediaRef>;

/**
 * A mention of a member in a message's text: who, and which UTF-16 code units of `content` name them
 * (JavaScript string offsets). Structured, never parsed from the text.
 */
export const Mention = z.object({
  user_id: UserId,
  offset: z.number().int().nonnegative(),
  length: z.number().int().min(1),
}).meta({ id: "Mention" });
export type Mention = z.infer<typeof Mention>;

/**
 * The message a reply quotes, as it was when the reply was sent: its sender, kind and a snippet (the
 * first line of its text, at most Limits.quoteSnippetMax characters; for media, the caption's). Once
 * the quoted message is deleted for everyone, `snippet` is empty and `deleted` is true.
 */
export const QuotedMessage = z.object({
  server_msg_id: ServerMsgId,
  seq: Seq,
  sender_id: UserId,
  content_type: ClientContentType,
  snippet: z.string(),
  deleted: z.literal(true).optional(),
}).meta({ id: "QuotedMessage" });
export type QuotedMessage = z.infer<typeof QuotedMessage>;

/** The message an action changes. */
export const ActionTarget = z.object({
  server_msg_id: ServerMsgId,
  seq: Seq,
  sender_id: UserId,
}).meta({ id: "ActionTarget" });
export type ActionTarget = z.infer<typeof ActionTarget>;

/** One person's reaction to a message: one emoji per person. */
export const Reaction = z.object({ user_id: UserId, emoji: z.string() }).meta({ id: "Reaction" });
export type Reaction = z.infer<typeof Reaction>;

/**
 * The fields every row of the sequence has, shared by `Message` and the `new_message` frame.
 *
 * A message read from history (or carried by catch-up) is given as it is now: the latest text of an
 * edit, `deleted` after a delete for everyone, the current `reactions`. `state_seq` is the seq of the
 * newest action folded into that state, so a client that also receives the actions themselves (they
 * are rows of the sequence) applies only those with a higher seq.
 */
export const messageFields = {
  conversation_id: ConversationId,
  server_msg_id: ServerMsgId,
  seq: Seq,
  sender_id: UserId,
  /** The text (a caption for media). For an edit, the new text; for a reaction, the emoji ("" removes it). */
  content: z.string(),
  content_type: ContentType,
  timestamp: Timestamp,
  media: MediaRef.optional(),
  /** A reply: the message it quotes. */
  reply_to: QuotedMessage.optional(),
  /** Members this message mentions (groups). */
  mentions: z.array(Mention).optional(),
  /** Forwarded: how many hops from its original (1 = forwarded once). Limits.forwardedManyTimes and up reads "Forwarded many times". */
  forwarded: z.number().int().min(1).optional(),
  /** An action (`edit`, `reaction`, `delete`, `played`): the message it changes. */
  target: ActionTarget.optional(),
  /** When the text was last edited. */
  edited_at: Timestamp.optional(),
  /** Deleted for everyone: content is empty and media, reply_to and mentions are gone. */
  deleted: z.literal(true).optional(),
  /** Who deleted it, when not its sender (a group admin). */
  deleted_by: UserId.optional(),
  /** Current reactions, one per person. */
  reactions: z.array(Reaction).optional(),
  /** A voice message: the members (never its sender) who played it, in the order they did. */
  played_by: z.array(UserId).optional(),
  /** The newest action already folded into this state (see above). */
  state_seq: Seq.optional(),
  /** Disappearing messages: when this message disappears (sent while the conversation had a timer). */
  expires_at: Timestamp.optional(),
};

export const Message = z.object(messageFields).meta({ id: "Message" });

/**
 * The quote a reply to `m` carries: sender, kind and the first line of its text (or caption), cut to
 * Limits.quoteSnippetMax. The server stores it with the reply; the SDK shows the same while the reply
 * is pending. Null for what cannot be quoted (system messages, actions, deleted messages).
 */
export function quoteOf(m: Message): QuotedMessage | null {
  const kind = ClientContentType.safeParse(m.content_type);
  if (!kind.success || m.deleted) return null;
  const firstLine = m.content.split("\n", 1)[0]!.trim();
  const snippet = firstLine.length > Limits.quoteSnippetMax ? `${firstLine.slice(0, Limits.quoteSnippetMax - 1)}…` : firstLine;
  return { server_msg_id: m.server_msg_id, seq: m.seq, sender_id: m.sender_id, content_type: kind.data, snippet };
}
export type Message = z.infer<typeof Message>;

/**
 * A profile or group photo: an image uploaded through the media pipeline. Clients load it (and its
 * thumbnail) with `GET /media/{media_id}/url`, which checks the viewer may see it.
 */
export const Photo = z.object({ media_id: z.string() }).meta({ id: "Photo" });
export type Photo = z.infer<typeof Photo>;

/**
 * A profile as the asker may see it. `about` and `photo` are absent when unset, or when the user's
 * privacy settings hide them from the asker (everyone / contacts / nobody; the user always sees
 * their own).
 */
export const User = z.object({
  user_id: UserId,
  username: z.string(),
  display_name: z.string(),
  about: z.string().optional(),
  photo: Photo.optional(),
}).meta({ id: "User" });
export type User = z.infer<typeof User>;

export const MemberRole = z.enum(["admin", "member"]);
export type MemberRole = z.infer<typeof MemberRole>;
export const Member = z.object({ user_id: UserId, role: MemberRole }).meta({ id: "Member" });
export type Member = z.infer<typeof Member>;

export const ConversationType = z.enum(["direct", "group"]);
export type ConversationType = z.infer<typeof ConversationType>;

/** A group's settings, changed by its admins. */
export const GroupSettings = z.object({
  /** Only admins may send messages (members may still react). */
  only_admins_send: z.boolean(),
  /** Only admins may change the name and description (else any member may). */
  only_admins_edit_info: z.boolean(),
}).meta({ id: "GroupSettings" });
export type GroupSettings = z.infer<typeof GroupSettings>;

export const Conversation = z.object({
  conversation_id: ConversationId,
  type: ConversationType,
  name: z.string().nullable(),
  members: z.array(Member),
  created_at: Timestamp,
  updated_at: Timestamp,
  /** Groups, from `GET /conversations/{id}` (not in the list's summaries): what the group is about… */
  description: z.string().optional(),
  /** …and its settings. */
  settings: GroupSettings.optional(),
  /** Disappearing messages: how long a message sent now lasts, in ms (0: off). From `GET /conversations/{id}`. */
  disappearing_ms: z.number().int().nonnegative().optional(),
  /** A group's photo, when it has one (the list's summaries carry it too). */
  photo: Photo.optional(),
}).meta({ id: "Conversation" });
export type Conversation = z.infer<typeof Conversation>;

/** `muted_until` of a conversation muted "always": the latest time a JavaScript Date can hold. */
export const MUTED_FOREVER = 8_640_000_000_000_000;

/**
 * What one user chose for one conversation, the same on all their devices. Muted while `muted_until`
 * is in the future (MUTED_FOREVER: always): no push then, except for messages mentioning the user.
 * Pinned conversations (at most Limits.pinnedConversations, never archived) head the list, most
 * recently pinned first. `marked_unread` is the user's own "mark as unread": shown as unread whatever
 * `unread_count` says, and cleared by the user's next read acknowledgement in the conversation.
 */
export const ConversationSettings = z.object({
  conversation_id: ConversationId,
  muted_until: Timestamp.nullable(),
  pinned_at: Timestamp.nullable(),
  marked_unread: z.boolean(),
  /** Listed only with `?archived=true`; a new message brings it back unless the user keeps chats archived. */
  archived: z.boolean(),
}).meta({ id: "ConversationSettings" });
export type ConversationSettings = z.infer<typeof ConversationSettings>;

/** One row of a user's conversation list: the conversation, and the user's own settings for it. */
export const ConversationSummary = Conversation.extend({
  member_count: z.number().int().nonnegative(),
  last_message: Message.nullable(),
  /** Messages from others after the user's read cursor (marking unread does not change it). */
  unread_count: z.number().int().nonnegative(),
  ...ConversationSettings.omit({ conversation_id: true }).shape,
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
  z.object({ event: z.literal("description_changed"), actor: UserId, description: z.string() }),
  /** The group's new photo, or null when it was removed. */
  z.object({ event: z.literal("photo_changed"), actor: UserId, photo: Photo.nullable() }),
  /** The settings after the change. */
  z.object({ event: z.literal("settings_changed"), actor: UserId, settings: GroupSettings }),
  /** The disappearing-messages timer for messages sent from now on (0: off). */
  z.object({ event: z.literal("disappearing_changed"), actor: UserId, ms: z.number().int().nonnegative() }),
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
    case "description_changed":
    case "photo_changed":
    case "settings_changed":
    case "disappearing_changed":
    case "withheld":
      return members;
  }
}

/** Whether a system event takes `userId` out of the conversation. */
export function removes(event: SystemEvent, userId: string): boolean {
  return (event.event === "member_removed" || event.event === "member_left") && event.user_id === userId;
}
export type ConversationSummary = z.infer<typeof ConversationSummary>;
