import { z } from "zod";
import { Limits } from "./limits";
import {
  ClientMsgId,
  Conversation,
  ConversationId,
  ConversationSettings,
  ConversationSummary,
  Invitation,
  MemberRole,
  Message,
  Seq,
  ServerMsgId,
  Timestamp,
  User,
  UserId,
} from "./models";
import { MessageActionBody, MessageMark, OutgoingMessage } from "./frames";

// ---- accounts -------------------------------------------------------------

/** Usernames are case-insensitive: they are lower-cased before validation. */
export const Username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(Limits.usernamePattern, "username must be 3-32 characters of a-z, 0-9 and _");
export const Password = z
  .string()
  .min(Limits.passwordMinLength, `password must be at least ${Limits.passwordMinLength} characters`)
  .max(Limits.passwordMaxLength, `password must be at most ${Limits.passwordMaxLength} characters`);

/**
 * A name people see (display names, group names): NFKC-normalised, without control or format
 * characters (bidi overrides and isolates, zero-width spaces, BOMs; the zero-width joiner that emoji
 * sequences need stays), whitespace runs made one space, trimmed. Others' names cannot then
 * reorder the text around them, hide characters or impersonate with look-alike compatibility forms.
 */
export function normaliseName(name: string): string {
  return name
    .normalize("NFKC")
    .replace(/(?!\u200d)[\p{Cc}\p{Cf}]/gu, "")
    .replace(/[\s\u2028\u2029]+/gu, " ")
    .trim();
}

const visibleName = (max: number, empty: string) =>
  z
    .string()
    .max(max * 4) // before normalising: bounded work on hostile input
    .transform(normaliseName)
    .pipe(z.string().min(1, empty).max(max));

const DisplayName = visibleName(Limits.displayNameMaxLength, "a display name needs a visible character");
/** A media id as the server hands them out (`md_…`). */
const MediaIdRef = (field: string) => z.string().regex(/^md_[A-Za-z0-9_-]{16,40}$/, `${field} must be a media id`);

export const RegisterBody = z.object({
  username: Username,
  password: Password,
  display_name: DisplayName.optional(),
});
export type RegisterBody = z.infer<typeof RegisterBody>;

export const LoginBody = z.object({
  username: Username,
  password: z.string().min(1).max(Limits.passwordMaxLength),
});

export const AuthResponse = z.object({ user: User, token: z.string() });
/** An empty body (or none) logs out this token; `{all: true}` logs out every device. */
export const LogoutBody = z.object({ all: z.boolean().optional() }).strict();
export const UserResponse = z.object({ user: User });
/**
 * Who may put the user in a group without asking (WhatsApp's "who can add me to groups"): anyone,
 * their contacts (people they started a chat with, put in a group, or wrote to in a direct chat), or
 * nobody. Anyone else's add becomes an invitation the user accepts or declines.
 */
export const GroupsAdd = z.enum(["everyone", "contacts", "nobody"]);
export type GroupsAdd = z.infer<typeof GroupsAdd>;
/**
 * Who sees the user's presence (online, last seen): everyone who shares a conversation with them (the
 * default; nobody else can ask), their contacts only, or nobody. Whoever may not see it sees them
 * offline with no last seen; with "nobody" the user sees everyone that way too, as in WhatsApp.
 */
export const PresenceVisibleTo = z.enum(["everyone", "contacts", "nobody"]);
export type PresenceVisibleTo = z.infer<typeof PresenceVisibleTo>;
/**
 * Who sees the user's profile photo or "about": any signed-in user (the default, as WhatsApp), their
 * contacts, or nobody. Whoever may not see it gets the profile without the field.
 */
export const ProfileVisibleTo = z.enum(["everyone", "contacts", "nobody"]);
export type ProfileVisibleTo = z.infer<typeof ProfileVisibleTo>;
/** Your own settings, returned with your profile by GET/PATCH /users/me. */
export const UserSettings = z.object({
  last_seen_visible: z.boolean(),
  push_previews: z.boolean(),
  groups_add: GroupsAdd,
  presence_visible_to: PresenceVisibleTo,
  /** Archived chats stay archived when a new message arrives (otherwise it brings them back to the list). */
  keep_archived: z.boolean(),
  photo_visible_to: ProfileVisibleTo,
  about_visible_to: ProfileVisibleTo,
  /**
   * Off: others are not told when this user has read their messages, and this user is not told when
   * others have read theirs (as in WhatsApp); delivered ticks still show both ways.
   */
  read_receipts: z.boolean(),
}).meta({ id: "UserSettings" });
export type UserSettings = z.infer<typeof UserSettings>;
export const MeResponse = z.object({ user: User, settings: UserSettings });
export const UserLookupQuery = z.object({ username: Username });
/** The users you blocked. */
export const BlockedResponse = z.object({ user_ids: z.array(UserId) });
export const UpdateMeBody = z
  .object({
    last_seen_visible: z.boolean().optional(),
    push_previews: z.boolean().optional(),
    groups_add: GroupsAdd.optional(),
    presence_visible_to: PresenceVisibleTo.optional(),
    keep_archived: z.boolean().optional(),
    display_name: DisplayName.optional(),
    /** Up to Limits.aboutMaxLength characters; "" clears it. */
    about: z.string().trim().max(Limits.aboutMaxLength).optional(),
    /** An image the user uploaded (POST /media/upload), or null to remove the photo. */
    photo_media_id: MediaIdRef("photo_media_id").nullable().optional(),
    photo_visible_to: ProfileVisibleTo.optional(),
    about_visible_to: ProfileVisibleTo.optional(),
    read_receipts: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "nothing to change" });
export type UpdateMeBody = z.infer<typeof UpdateMeBody>;

// ---- conversations --------------------------------------------------------

export const CreateDirectBody = z.object({
  type: z.literal("direct"),
  member_ids: z.array(UserId).length(1, "a direct conversation names exactly one other member"),
});
export const GroupName = visibleName(Limits.groupNameMaxLength, "a group needs a name");
/** Bounded well above the group limit so an oversize group gets `group_too_large`, not a schema error. */
const memberList = z.array(UserId).max(Limits.groupMaxMembers * 2);
export const CreateGroupBody = z.object({
  type: z.literal("group"),
  name: GroupName,
  member_ids: memberList,
});
export const CreateConversationBody = z.discriminatedUnion("type", [CreateDirectBody, CreateGroupBody]);
export type CreateConversationBody = z.infer<typeof CreateConversationBody>;

/**
 * `invited`: on a create or add, the users who were sent an invitation instead of being added (their
 * settings do not let this adder add them). Absent when nobody was.
 */
export const ConversationResponse = z.object({ conversation: Conversation, invited: z.array(UserId).optional() });
/** A group's name, description and settings: any of them, at least one. */
export const UpdateGroupBody = z
  .object({
    name: GroupName.optional(),
    description: z.string().trim().max(Limits.groupDescriptionMaxLength).optional(),
    only_admins_send: z.boolean().optional(),
    only_admins_edit_info: z.boolean().optional(),
    /** An image the changer uploaded (POST /media/upload) as the group's photo, or null to remove it. */
    photo_media_id: MediaIdRef("photo_media_id").nullable().optional(),
    /** Disappearing messages (any conversation): 0 (off), 24 h, 7 days or 90 days, in ms. */
    disappearing_ms: z
      .number()
      .int()
      .refine((ms) => (Limits.disappearingChoicesMs as readonly number[]).includes(ms), { message: "disappearing_ms is 0, 86400000, 604800000 or 7776000000" })
      .optional(),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), {
    message: "change at least one of name, description, only_admins_send, only_admins_edit_info, disappearing_ms",
  });
export type UpdateGroupBody = z.infer<typeof UpdateGroupBody>;
export const AddMembersBody = z.object({ user_ids: memberList.min(1) });
/** Reporting a conversation to the operators: why, and (groups) whether to leave it too. */
export const ReportBody = z.object({
  reason: z.string().trim().max(Limits.reportReasonMaxLength).optional(),
  leave: z.boolean().default(false),
});
export const ReportResponse = z.object({ report_id: z.string(), left: z.boolean() });
export const SetRoleBody = z.object({ role: MemberRole });
export const Receipt = z.object({ user_id: UserId, delivered_at: Timestamp.nullable(), read_at: Timestamp.nullable() });
export const ReceiptsResponse = z.object({ receipts: z.array(Receipt) });
export type Receipt = z.infer<typeof Receipt>;
/**
 * The conversation list, newest activity first, a page at a time: `next` is the cursor of the next
 * page (null on the last). Archived conversations are listed apart, with `archived=true`.
 */
export const ConversationListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(Limits.conversationListMaxPage).default(Limits.conversationListDefaultPage),
  cursor: z
    .string()
    .max(200)
    .regex(/^\d{1,16}~[A-Za-z0-9_-]{1,64}$/, "not a cursor from this list")
    .optional(),
  archived: z.enum(["true", "false"]).default("false").transform((v) => v === "true"),
});
export type ConversationListQuery = z.infer<typeof ConversationListQuery>;
export const ConversationListResponse = z.object({ conversations: z.array(ConversationSummary), next: z.string().nullable() });

/** Many conversations in one request: leaving groups, archiving or unarchiving. */
const ConversationIds = z.array(ConversationId).min(1).max(Limits.bulkConversationsMax);
export const LeaveManyBody = z.object({ conversation_ids: ConversationIds });
export const ArchiveManyBody = z.object({ conversation_ids: ConversationIds, archived: z.boolean() });

/**
 * Changes to the user's own settings for one conversation. `muted_until`: a time in the future, or
 * "always", or null to unmute (a time already past unmutes too). Pinning an archived conversation
 * brings it back to the list; archiving one unpins it.
 */
export const UpdateConversationSettingsBody = z
  .object({
    muted_until: z.union([Timestamp.nonnegative(), z.literal("always")]).nullable().optional(),
    pinned: z.boolean().optional(),
    marked_unread: z.boolean().optional(),
    archived: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "nothing to change" });
export type UpdateConversationSettingsBody = z.infer<typeof UpdateConversationSettingsBody>;
export const ConversationSettingsResponse = z.object({ settings: ConversationSettings });
/** What became of each named conversation: done, or the reason it was not. */
export const BulkResponse = z.object({
  done: z.array(ConversationId),
  failed: z.array(z.object({ conversation_id: ConversationId, error: z.object({ code: z.string(), message: z.string() }) })),
});
export type BulkResponse = z.infer<typeof BulkResponse>;

export const InvitationListResponse = z.object({ invitations: z.array(Invitation) });
/** A group's invite link: anyone holding the token may join, until an admin revokes it. */
export const InviteLinkResponse = z.object({ token: z.string() });
export const InviteLinkPreview = z.object({ conversation_id: ConversationId, name: z.string().nullable(), member_count: z.number().int() });

/** Query strings arrive as text; cursors and limits are range-checked here. */
const seqParam = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const HistoryQuery = z
  .object({
    before: seqParam.optional(),
    after: seqParam.optional(),
    limit: z.coerce.number().int().min(1).max(Limits.historyMaxPage).default(Limits.historyDefaultPage),
  })
  .refine((q) => q.before === undefined || q.after === undefined, {
    message: "use either before or after, not both",
  });
export type HistoryQuery = z.infer<typeof HistoryQuery>;

export const HistoryResponse = z.object({ messages: z.array(Message), has_more: z.boolean() });
export type HistoryResponse = z.infer<typeof HistoryResponse>;

export const SendMessageBody = OutgoingMessage;


/** The `message_ack` fields, returned by REST sends too. */
export const MessageAck = z.object({
  client_msg_id: ClientMsgId,
  server_msg_id: ServerMsgId,
  conversation_id: z.string(),
  seq: Seq,
  status: z.literal("sent"),
  timestamp: Timestamp,
}).meta({ id: "MessageAck" });
export type MessageAck = z.infer<typeof MessageAck>;

/** `POST …/messages/:server_msg_id/actions`: edit, react to, or delete for everyone (see `MessageActionBody`). */
export const MessageActionRequest = MessageActionBody;

/** `POST …/messages/:server_msg_id/forward`: the same message to up to Limits.forwardMaxTargets conversations. */
export const ForwardBody = z.object({
  conversation_ids: z.array(ConversationId).min(1).max(Limits.forwardMaxTargets),
  /** One key for the whole forward: each target conversation keeps it apart, so a retry stores nothing twice. */
  client_msg_id: ClientMsgId,
});
/** One outcome per target, in the order asked: the forward's acknowledgement there, or why it was refused. */
export const ForwardResponse = z.object({
  results: z.array(
    z.object({
      conversation_id: ConversationId,
      ack: MessageAck.optional(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
});
export type ForwardResponse = z.infer<typeof ForwardResponse>;

/** A starred message as it is now, with when it was starred. */
export const StarredMessage = z.object({ message: Message, starred_at: Timestamp }).meta({ id: "StarredMessage" });
export type StarredMessage = z.infer<typeof StarredMessage>;
/** `GET /users/me/starred`: newest starred first; `before` (a starred_at) pages back. */
export const StarredQuery = z.object({
  before: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(Limits.starredPageMax).default(50),
});
export const StarredResponse = z.object({ starred: z.array(StarredMessage), has_more: z.boolean() });
export type StarredResponse = z.infer<typeof StarredResponse>;

/** What a person typed into a search box: its words are matched as prefixes, all of them required. */
const SearchText = z.string().trim().min(1).max(Limits.searchQueryMax);

/** `GET /conversations/:conversation_id/search`: messages of one conversation, newest first; `before` a seq to page back. */
export const ConversationSearchQuery = z.object({
  q: SearchText,
  before: seqParam.optional(),
  limit: z.coerce.number().int().min(1).max(Limits.searchPageMax).default(20),
});
export type ConversationSearchQuery = z.infer<typeof ConversationSearchQuery>;
export const ConversationSearchResponse = z.object({ messages: z.array(Message), has_more: z.boolean() });
export type ConversationSearchResponse = z.infer<typeof ConversationSearchResponse>;

/** `GET /search`: across all of the user's conversations — their names, the people in them, the messages. */
export const SearchQuery = z.object({
  q: SearchText,
  limit: z.coerce.number().int().min(1).max(Limits.searchPageMax).default(20),
});
export type SearchQuery = z.infer<typeof SearchQuery>;
export const SearchResponse = z.object({
  conversations: z.array(ConversationSummary),
  people: z.array(User),
  messages: z.array(Message),
});
export type SearchResponse = z.infer<typeof SearchResponse>;

/** `GET /users/me/marks`: the user's marks changed after `after` (a marks version), oldest change first. */
export const MarksQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(Limits.marksPageMax).default(Limits.marksPageMax),
});
export const MarksResponse = z.object({ marks: z.array(MessageMark), has_more: z.boolean() });
export type MarksResponse = z.infer<typeof MarksResponse>;

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** `GET /healthz`: the Worker is up, and speaks this protocol version. */
export const HealthResponse = z.object({ status: z.literal("ok"), protocol: z.number().int(), time: Timestamp });
export type HealthResponse = z.infer<typeof HealthResponse>;

/** An answer without a body (204, or a push subscription's 201): the SDK reads it as null. */
export const NoContent = z.null();
