import { z } from "zod";
import { Presence } from "./frames";
import { MediaResponse, MediaUploadBody, MediaUploadResponse, MediaUrlResponse } from "./media";
import { PushSubscriptionBody, VapidKeyResponse } from "./push";
import {
  AddMembersBody,
  ArchiveManyBody,
  AuthResponse,
  BlockedResponse,
  BulkResponse,
  ConversationListQuery,
  InvitationListResponse,
  InviteLinkPreview,
  InviteLinkResponse,
  LeaveManyBody,
  ConversationListResponse,
  ConversationResponse,
  CreateConversationBody,
  HistoryQuery,
  HistoryResponse,
  LoginBody,
  LogoutBody,
  MeResponse,
  MessageAck,
  ReceiptsResponse,
  RegisterBody,
  RenameBody,
  SendMessageBody,
  SetRoleBody,
  UpdateMeBody,
  UserLookupQuery,
  UserResponse,
} from "./rest";

/**
 * Every REST endpoint as data: method, path (with `:params`), the schemas of what goes in and what
 * comes back. The SDK's REST client is generated from this table, so a client call is typed by the
 * same zod schemas the routes validate with, and every answer is checked on arrival.
 * Paths are relative to `/api/v1`.
 */
export interface Endpoint {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  auth: boolean;
  body?: z.ZodType;
  query?: z.ZodType;
  response: z.ZodType;
}

const endpoint = <const E extends Endpoint>(e: E) => e;

export const Endpoints = {
  register: endpoint({ method: "POST", path: "/auth/register", auth: false, body: RegisterBody, response: AuthResponse }),
  login: endpoint({ method: "POST", path: "/auth/login", auth: false, body: LoginBody, response: AuthResponse }),
  refresh: endpoint({ method: "POST", path: "/auth/refresh", auth: true, response: AuthResponse }),
  logout: endpoint({ method: "POST", path: "/auth/logout", auth: true, body: LogoutBody, response: z.null() }),
  me: endpoint({ method: "GET", path: "/users/me", auth: true, response: MeResponse }),
  updateMe: endpoint({ method: "PATCH", path: "/users/me", auth: true, body: UpdateMeBody, response: MeResponse }),
  findUser: endpoint({ method: "GET", path: "/users", auth: true, query: UserLookupQuery, response: UserResponse }),
  user: endpoint({ method: "GET", path: "/users/:user_id", auth: true, response: UserResponse }),
  presence: endpoint({ method: "GET", path: "/users/:user_id/presence", auth: true, response: Presence }),
  blocked: endpoint({ method: "GET", path: "/users/me/blocked", auth: true, response: BlockedResponse }),
  block: endpoint({ method: "POST", path: "/users/:user_id/block", auth: true, response: z.null() }),
  unblock: endpoint({ method: "DELETE", path: "/users/:user_id/block", auth: true, response: z.null() }),
  listConversations: endpoint({ method: "GET", path: "/conversations", auth: true, query: ConversationListQuery, response: ConversationListResponse }),
  leaveMany: endpoint({ method: "POST", path: "/conversations/leave", auth: true, body: LeaveManyBody, response: BulkResponse }),
  archiveMany: endpoint({ method: "POST", path: "/conversations/archive", auth: true, body: ArchiveManyBody, response: BulkResponse }),
  invitations: endpoint({ method: "GET", path: "/invitations", auth: true, response: InvitationListResponse }),
  acceptInvitation: endpoint({ method: "POST", path: "/invitations/:conversation_id/accept", auth: true, response: ConversationResponse }),
  declineInvitation: endpoint({ method: "DELETE", path: "/invitations/:conversation_id", auth: true, response: z.null() }),
  createInviteLink: endpoint({ method: "POST", path: "/conversations/:conversation_id/invite-link", auth: true, response: InviteLinkResponse }),
  revokeInviteLink: endpoint({ method: "DELETE", path: "/conversations/:conversation_id/invite-link", auth: true, response: z.null() }),
  previewInviteLink: endpoint({ method: "GET", path: "/invite-links/:token", auth: true, response: InviteLinkPreview }),
  joinByInviteLink: endpoint({ method: "POST", path: "/invite-links/:token/join", auth: true, response: ConversationResponse }),
  createConversation: endpoint({
    method: "POST",
    path: "/conversations",
    auth: true,
    body: CreateConversationBody,
    response: ConversationResponse,
  }),
  conversation: endpoint({ method: "GET", path: "/conversations/:conversation_id", auth: true, response: ConversationResponse }),
  rename: endpoint({ method: "PATCH", path: "/conversations/:conversation_id", auth: true, body: RenameBody, response: ConversationResponse }),
  addMembers: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/members",
    auth: true,
    body: AddMembersBody,
    response: ConversationResponse,
  }),
  removeMember: endpoint({
    method: "DELETE",
    path: "/conversations/:conversation_id/members/:user_id",
    auth: true,
    response: ConversationResponse,
  }),
  setRole: endpoint({
    method: "PATCH",
    path: "/conversations/:conversation_id/members/:user_id",
    auth: true,
    body: SetRoleBody,
    response: ConversationResponse,
  }),
  history: endpoint({
    method: "GET",
    path: "/conversations/:conversation_id/messages",
    auth: true,
    query: HistoryQuery,
    response: HistoryResponse,
  }),
  sendMessage: endpoint({
    method: "POST",
    path: "/conversations/:conversation_id/messages",
    auth: true,
    body: SendMessageBody,
    response: MessageAck,
  }),
  receipts: endpoint({
    method: "GET",
    path: "/conversations/:conversation_id/messages/:server_msg_id/receipts",
    auth: true,
    response: ReceiptsResponse,
  }),
  mediaUpload: endpoint({ method: "POST", path: "/media/upload", auth: true, body: MediaUploadBody, response: MediaUploadResponse }),
  mediaComplete: endpoint({ method: "POST", path: "/media/:media_id/complete", auth: true, response: MediaResponse }),
  vapidPublicKey: endpoint({ method: "GET", path: "/push/vapid-public-key", auth: true, response: VapidKeyResponse }),
  subscribePush: endpoint({ method: "POST", path: "/push/subscriptions", auth: true, body: PushSubscriptionBody, response: z.null() }),
  unsubscribePush: endpoint({ method: "DELETE", path: "/push/subscriptions/:device_id", auth: true, response: z.null() }),
  mediaUrl: endpoint({ method: "GET", path: "/media/:media_id/url", auth: true, response: MediaUrlResponse }),
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
