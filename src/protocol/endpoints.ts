import { z } from "zod";
import { ErrorCode } from "./errors";
import { Presence } from "./frames";
import { MediaResponse, MediaUploadBody, MediaUploadResponse, MediaUrlResponse } from "./media";
import { PushSubscriptionBody, VapidKeyResponse } from "./push";
import {
  AddMembersBody,
  ReportBody,
  ReportResponse,
  ArchiveManyBody,
  ConversationSettingsResponse,
  UpdateConversationSettingsBody,
  AuthResponse,
  BlockedResponse,
  BulkResponse,
  ConversationListQuery,
  InvitationListResponse,
  InviteLinkPreview,
  InviteLinkResponse,
  LeaveManyBody,
  ConversationListResponse,
  ForwardBody,
  ForwardResponse,
  MarksQuery,
  MarksResponse,
  MessageActionRequest,
  StarredQuery,
  StarredResponse,
  ConversationResponse,
  CreateConversationBody,
  HistoryQuery,
  HistoryResponse,
  LoginBody,
  LogoutBody,
  MeResponse,
  MessageAck,
  NoContent,
  ReceiptsResponse,
  RegisterBody,
  UpdateGroupBody,
  SendMessageBody,
  SetRoleBody,
  UpdateMeBody,
  UserLookupQuery,
  UserResponse,
  ConversationSearchQuery,
  ConversationSearchResponse,
  SearchQuery,
  SearchResponse,
} from "./rest";
import { MemberHistoryQuery, MemberHistoryResponse } from "./memberHistory";

/**
 * Every REST endpoint as data: method, path (with `:params`), the schemas of what goes in and what
 * comes back, the statuses it answers and a line for the API reference. The SDK's REST client is
 * generated from this table, the routes validate with its schemas, and the OpenAPI document
 * (src/openapi/document.ts) is built from it, so a client call, a route and the reference all read
 * the same zod schemas. Paths are relative to `/api/v1`.
 */
export interface Endpoint {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  auth: boolean;
  body?: z.ZodType;
  query?: z.ZodType;
  /** The answer's body; `NoContent` when there is none. */
  response: z.ZodType;
  /** What a success is answered with when it is not 200 (the usual one first). */
  status?: readonly SuccessStatus[];
  /**
   * The refusals this endpoint can answer besides those every endpoint can: `bad_request` and
   * `internal_error`; `unauthorized` with `auth`; `invalid_json` and `content_too_large` with a body.
   */
  errors?: readonly ErrorCode[];
  summary: string;
  description?: string;
}

export type SuccessStatus = 200 | 201 | 204;

const endpoint = <const E extends Endpoint>(e: E) => e;

/** Only a member may see a conversation. */
const member = [ErrorCode.conversationNotFound, ErrorCode.notAMember] as const;
/** Only a group's admin may change it. */
const admin = [...member, ErrorCode.notAGroup, ErrorCode.forbidden] as const;
/** Putting people in a group: each must exist, have room, and (else invited) let the adder add them. */
const joining = [ErrorCode.userNotFound, ErrorCode.groupTooLarge, ErrorCode.tooManyConversations, ErrorCode.recipientLimit, ErrorCode.rateLimited] as const;

export const Endpoints = {
  register: endpoint({
    method: "POST",
    path: "/auth/register",
    auth: false,
    body: RegisterBody,
    response: AuthResponse,
    status: [201],
    errors: [ErrorCode.usernameTaken, ErrorCode.rateLimited],
    summary: "Create an account",
    description: "Starts the account's first session: the answer carries its token.",
  }),
  login: endpoint({
    method: "POST",
    path: "/auth/login",
    auth: false,
    body: LoginBody,
    response: AuthResponse,
    errors: [ErrorCode.invalidCredentials, ErrorCode.rateLimited],
    summary: "Log in",
    description: "Starts a session. Repeated wrong passwords from one client make it wait (429 with Retry-After).",
  }),
  refresh: endpoint({
    method: "POST",
    path: "/auth/refresh",
    auth: true,
    response: AuthResponse,
    summary: "Refresh the session's token",
    description: "The session's next token; the one it replaces stops working. A replaced token brought again ends the session.",
  }),
  logout: endpoint({
    method: "POST",
    path: "/auth/logout",
    auth: true,
    body: LogoutBody,
    response: NoContent,
    status: [204],
    summary: "Log out",
    description: "Ends this session (an empty body), or every session of the user (`{\"all\": true}`).",
  }),
  me: endpoint({ method: "GET", path: "/users/me", auth: true, response: MeResponse, errors: [ErrorCode.userNotFound], summary: "Your profile and settings" }),
  updateMe: endpoint({
    method: "PATCH",
    path: "/users/me",
    auth: true,
    body: UpdateMeBody,
    response: MeResponse,
    errors: [ErrorCode.userNotFound],
    summary: "Change your settings",
  }),
  findUser: endpoint({
    method: "GET",
    path: "/users",
    auth: true,
    query: UserLookupQuery,
    response: UserResponse,
    errors: [ErrorCode.userNotFound],
    summary: "Find a user by username",
  }),
  user: endpoint({ method: "GET", path: "/users/:user_id", auth: true, response: UserResponse, errors: [ErrorCode.userNotFound], summary: "A user's profile" }),
  presence: endpoint({
    method: "GET",
    path: "/users/:user_id/presence",
    auth: true,
    response: Presence,
    errors: [ErrorCode.forbidden],
    summary: "A user's presence",
    description: "Only of someone you share a conversation with; their privacy choice may show them offline.",
  }),
  blocked: endpoint({ method: "GET", path: "/users/me/blocked", auth: true, response: BlockedResponse, summary: "The users you blocked" }),
  block: endpoint({
    method: "POST",
    path: "/users/:user_id/block",
    auth: true,
    response: NoContent,
    status: [204],
    errors: [ErrorCode.userNotFound],
    summary: "Block a user",
  }),
  unblock: endpoint({
    method: "DELETE",
    path: "/users/:user_id/block",
    auth: true,
    response: NoContent,
    status: [204],
    errors: [ErrorCode.userNotFound],
    summary: "Unblock a user",
  }),
  listConversations: endpoint({
    method: "GET",
    path: "/conversations",
    auth: true,
    query: ConversationListQuery,
    response: ConversationListResponse,
    summary: "Your conversations",
    description: "Newest activity first, a page at a time (`next` is the cursor of the next page). Archived ones with `archived=true`.",
  }),
  leaveMany: endpoint({
    method: "POST",
    path: "/conversations/leave",
    auth: true,
    body: LeaveManyBody,
    response: BulkResponse,
    summary: "Leave groups",
    description: "What became of each: done, or the refusal it met.",
  }),
  archiveMany: endpoint({
    method: "POST",
    path: "/conversations/archive",
    auth: true,
    body: ArchiveManyBody,
    response: BulkResponse,
    summary: "Archive or unarchive conversations",
  }),
  conversationSettings: endpoint({
    method: "PATCH",
    path: "/conversations/:conversation_id/settings",
    auth: true,
    body: UpdateConversationSettingsBody,
    response: ConversationSettingsResponse,
    errors: [ErrorCode.conversationNotFound, ErrorCode.tooManyPinned],
    summary: "Mute, pin, mark as unread or archive a conversation (for you)",
    description:
      "Your own settings for one conversation in your list, the same on all your devices (a `conversation_settings` frame tells them). " +
      "`muted_until`: a time, \"always\" (answered as the far-future MUTED_FOREVER) or null. Pinning a fourth → 422 `too_many_pinned`.",
  }),
  invitations: endpoint({ method: "GET", path: "/invitations", auth: true, response: InvitationListResponse, summary: "Your pending invitations to groups" }),
  acceptInvitation: endpoint({
    method: "POST",
    path: "/invitations/:conversation_id/accept",
    auth: true,
    response: ConversationResponse,
    errors: [ErrorCode.invitationNotFound, ErrorCode.tooManyConversations, ErrorCode.groupTooLarge],
    summary: "Accept an invitation",
  }),
  declineInvitation: endpoint({
    method: "DELETE",
    path: "/invitations/:conversation_id",
    auth: true,
    response: NoContent,
    status: [204],
    errors: [ErrorCode.invitationNotFound],
    summary: "Decline an invitation",
  }),
  createInviteLink: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/invite-link",
    auth: true,
    response: InviteLinkResponse,
    errors: admin,
    summary: "The group's invite link",
    description: "Made on first asking; the same token until an admin revokes it.",
  }),
  revokeInviteLink: endpoint({
    method: "DELETE",
    path: "/conversations/:conversation_id/invite-link",
    auth: true,
    response: NoContent,
    status: [204],
    errors: admin,
    summary: "Revoke the group's invite link",
  }),
  previewInviteLink: endpoint({
    method: "GET",
    path: "/invite-links/:token",
    auth: true,
    response: InviteLinkPreview,
    errors: [ErrorCode.inviteLinkInvalid],
    summary: "What an invite link leads to",
  }),
  joinByInviteLink: endpoint({
    method: "POST",
    path: "/invite-links/:token/join",
    auth: true,
    response: ConversationResponse,
    errors: [ErrorCode.inviteLinkInvalid, ErrorCode.groupTooLarge, ErrorCode.tooManyConversations, ErrorCode.rateLimited],
    summary: "Join a group with its invite link",
  }),
  createConversation: endpoint({
    method: "POST",
    path: "/conversations",
    auth: true,
    body: CreateConversationBody,
    response: ConversationResponse,
    status: [201, 200],
    errors: joining,
    summary: "Start a direct conversation or create a group",
    description:
      "201 when created; 200 for a direct conversation that already existed. Users whose settings do not let you add them are invited instead (`invited`).",
  }),
  conversation: endpoint({ method: "GET", path: "/conversations/:conversation_id", auth: true, response: ConversationResponse, errors: member, summary: "A conversation" }),
  updateGroup: endpoint({
    method: "PATCH",
    path: "/conversations/:conversation_id",
    auth: true,
    body: UpdateGroupBody,
    response: ConversationResponse,
    errors: admin,
    summary: "Change a group's name, description or settings",
    description:
      "Name and description: admins, or any member when the group's `only_admins_edit_info` is off. The settings " +
      "(`only_admins_send`, `only_admins_edit_info`): admins only. Each change is a system message.",
  }),
  report: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/report",
    auth: true,
    body: ReportBody,
    response: ReportResponse,
    status: [201],
    errors: [...member, ErrorCode.storageUnavailable],
    summary: "Report a conversation, and leave it",
    description:
      "Stores a report for the operators (R2, under `reports/`) with the newest 5 messages as you see them. " +
      "With `leave`, you also leave the group (a direct chat cannot be left: block the other person instead).",
  }),
  addMembers: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/members",
    auth: true,
    body: AddMembersBody,
    response: ConversationResponse,
    errors: [...admin, ...joining],
    summary: "Add members to a group",
    description: "Users whose settings do not let you add them are invited instead (`invited`).",
  }),
  removeMember: endpoint({
    method: "DELETE",
    path: "/conversations/:conversation_id/members/:user_id",
    auth: true,
    response: ConversationResponse,
    errors: [...admin, ErrorCode.userNotFound],
    summary: "Remove a member, or leave",
    description: "Admins remove others; anyone may remove themselves.",
  }),
  setRole: endpoint({
    method: "PATCH",
    path: "/conversations/:conversation_id/members/:user_id",
    auth: true,
    body: SetRoleBody,
    response: ConversationResponse,
    errors: [...admin, ErrorCode.userNotFound],
    summary: "Make a member an admin, or not",
  }),
  memberHistory: endpoint({
    method: "GET",
    path: "/conversations/:conversation_id/members/history",
    auth: true,
    query: MemberHistoryQuery,
    response: MemberHistoryResponse,
    errors: admin,
    summary: "Who joined and left a group (admins)",
    description:
      "Joins (with the group, added, by invitation or link), leaves and removals, with who did it and when; newest first, " +
      "`before` the `next` of the previous page. A group's admins only: other members → 403 `forbidden`.",
  }),
  history: endpoint({
    method: "GET",
    path: "/conversations/:conversation_id/messages",
    auth: true,
    query: HistoryQuery,
    response: HistoryResponse,
    errors: [...member, ErrorCode.rateLimited],
    summary: "A page of history",
    description: "Newest first by default; `before` or `after` a seq to page.",
  }),
  sendMessage: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/messages",
    auth: true,
    body: SendMessageBody,
    response: MessageAck,
    status: [201],
    errors: [...member, ErrorCode.contentTooLarge, ErrorCode.rateLimited, ErrorCode.mediaNotFound, ErrorCode.mediaNotReady, ErrorCode.mediaMismatch],
    summary: "Send a message",
    description: "Idempotent by `client_msg_id`: sending it again answers the original acknowledgement.",
  }),
  messageAction: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/messages/:server_msg_id/actions",
    auth: true,
    body: MessageActionRequest,
    response: MessageAck,
    status: [201],
    errors: [
      ...member,
      ErrorCode.messageNotFound,
      ErrorCode.messageDeleted,
      ErrorCode.notEditable,
      ErrorCode.actionWindowClosed,
      ErrorCode.forbidden,
      ErrorCode.invalidReaction,
      ErrorCode.contentTooLarge,
      ErrorCode.rateLimited,
    ],
    summary: "Edit, react to, or delete a message for everyone",
    description:
      "`edit`: the sender, a text message, within 15 minutes. `reaction`: one emoji per person (\"\" takes it back). " +
      "`delete`: the sender within 48 hours, or a group admin at any time. Each is a row of the sequence with its own seq; " +
      "idempotent by `client_msg_id`.",
  }),
  forward: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/messages/:server_msg_id/forward",
    auth: true,
    body: ForwardBody,
    response: ForwardResponse,
    errors: [...member, ErrorCode.messageNotFound, ErrorCode.messageDeleted, ErrorCode.rateLimited],
    summary: "Forward a message to up to 5 conversations",
    description: "Media goes without a new upload. One outcome per target; a retry with the same `client_msg_id` stores nothing twice.",
  }),
  hideMessage: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/messages/:server_msg_id/hide",
    auth: true,
    response: NoContent,
    status: [204],
    errors: [...member, ErrorCode.messageNotFound],
    summary: "Delete a message for me",
    description: "Hides it on your own devices (a `marks` frame tells them); the other members keep it.",
  }),
  starMessage: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/messages/:server_msg_id/star",
    auth: true,
    response: NoContent,
    status: [204],
    errors: [...member, ErrorCode.messageNotFound],
    summary: "Star a message",
  }),
  unstarMessage: endpoint({
    method: "DELETE",
    path: "/conversations/:conversation_id/messages/:server_msg_id/star",
    auth: true,
    response: NoContent,
    status: [204],
    errors: [...member, ErrorCode.messageNotFound],
    summary: "Unstar a message",
    description: "Only ever your own star: a message you never starred (or in a conversation you left) changes nothing. An id that is not a message id → 404.",
  }),
  starred: endpoint({
    method: "GET",
    path: "/users/me/starred",
    auth: true,
    query: StarredQuery,
    response: StarredResponse,
    summary: "Your starred messages, across conversations",
    description: "Newest starred first, each message as it is now; `before` a `starred_at` to page back.",
  }),
  marks: endpoint({
    method: "GET",
    path: "/users/me/marks",
    auth: true,
    query: MarksQuery,
    response: MarksResponse,
    summary: "Changes to your starred and hidden messages",
    description: "Those after `after` (a marks `version`), oldest first: what a device missed while away.",
  }),
  searchConversation: endpoint({
    method: "GET",
    path: "/conversations/:conversation_id/search",
    auth: true,
    query: ConversationSearchQuery,
    response: ConversationSearchResponse,
    errors: [...member, ErrorCode.rateLimited],
    summary: "Search a conversation's messages",
    description:
      "Newest first, each message as it is now; `before` a seq to page back. Every word of `q` must match (as a word or the start of one); " +
      "hot and archived history alike, only what you can see (since you joined). Edited messages are found by their new text, deleted ones not at all.",
  }),
  search: endpoint({
    method: "GET",
    path: "/search",
    auth: true,
    query: SearchQuery,
    response: SearchResponse,
    errors: [ErrorCode.rateLimited],
    summary: "Search all your conversations",
    description: "Conversations whose name matches, people in your conversations whose name matches, and messages (newest first) from all your conversations.",
  }),
  receipts: endpoint({
    method: "GET",
    path: "/conversations/:conversation_id/messages/:server_msg_id/receipts",
    auth: true,
    response: ReceiptsResponse,
    errors: [...member, ErrorCode.messageNotFound, ErrorCode.forbidden],
    summary: "Who has a message, and who read it",
    description: "For its sender and the group's admins.",
  }),
  mediaUpload: endpoint({
    method: "POST",
    path: "/media/upload",
    auth: true,
    body: MediaUploadBody,
    response: MediaUploadResponse,
    status: [201],
    errors: [ErrorCode.unsupportedMediaType, ErrorCode.mediaTooLarge, ErrorCode.mediaQuotaExceeded, ErrorCode.rateLimited, ErrorCode.storageUnavailable],
    summary: "Ask to upload media",
    description: "Answers where to PUT the bytes: a URL that authorizes itself, with the headers to send.",
  }),
  mediaComplete: endpoint({
    method: "POST",
    path: "/media/:media_id/complete",
    auth: true,
    response: MediaResponse,
    errors: [ErrorCode.mediaNotFound, ErrorCode.mediaNotReady, ErrorCode.mediaMismatch, ErrorCode.storageUnavailable],
    summary: "Finish an upload",
    description: "After a PUT to an S3 upload URL: checks the bytes. An upload to the Worker's own URL is already complete.",
  }),
  vapidPublicKey: endpoint({ method: "GET", path: "/push/vapid-public-key", auth: true, response: VapidKeyResponse, summary: "The server's Web Push key" }),
  subscribePush: endpoint({
    method: "POST",
    path: "/push/subscriptions",
    auth: true,
    body: PushSubscriptionBody,
    response: NoContent,
    status: [201],
    errors: [ErrorCode.rateLimited],
    summary: "Subscribe a device to push notifications",
  }),
  unsubscribePush: endpoint({
    method: "DELETE",
    path: "/push/subscriptions/:device_id",
    auth: true,
    response: NoContent,
    status: [204],
    errors: [ErrorCode.notFound],
    summary: "Unsubscribe a device",
  }),
  mediaUrl: endpoint({
    method: "GET",
    path: "/media/:media_id/url",
    auth: true,
    response: MediaUrlResponse,
    errors: [ErrorCode.mediaNotFound, ErrorCode.storageUnavailable],
    summary: "URLs for <img> and <video>",
    description: "URLs that need no token, valid for minutes: the media and, for images, its thumbnail.",
  }),
} as const;

export type Endpoints = typeof Endpoints;
export type EndpointName = keyof Endpoints;

/** The `:name` parameters of a path, as an object type. */
type PathParams<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & PathParams<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : {};

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** What a call of endpoint `N` takes: its path params, body and query, each only where it has one. */
export type EndpointInput<N extends EndpointName> = Simplify<
  PathParams<Endpoints[N]["path"]> &
    (Endpoints[N] extends { body: z.ZodType } ? { body: z.input<Endpoints[N]["body"]> } : {}) &
    (Endpoints[N] extends { query: z.ZodType }
      ? {} extends z.input<Endpoints[N]["query"]>
        ? { query?: z.input<Endpoints[N]["query"]> } // every field optional: the query may be left out
        : { query: z.input<Endpoints[N]["query"]> }
      : {})
>;
export type EndpointOutput<N extends EndpointName> = z.infer<Endpoints[N]["response"]>;
