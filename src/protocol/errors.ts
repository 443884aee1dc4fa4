/**
 * Every error code and WebSocket close code Parley sends, defined once.
 * HTTP errors are `{"error":{"code","message"}}`; socket errors are an `error` frame.
 */
export const ErrorCode = {
  badRequest: "bad_request",
  invalidJson: "invalid_json",
  invalidFrame: "invalid_frame",
  frameTooLarge: "frame_too_large",
  contentTooLarge: "content_too_large",
  unauthorized: "unauthorized",
  invalidCredentials: "invalid_credentials",
  forbidden: "forbidden",
  notFound: "not_found",
  userNotFound: "user_not_found",
  conversationNotFound: "conversation_not_found",
  notAMember: "not_a_member",
  messageNotFound: "message_not_found",
  usernameTaken: "username_taken",
  groupTooLarge: "group_too_large",
  tooManyConversations: "too_many_conversations",
  /**
   * The person being put in a conversation is already in as many as others may put them in: the
   * adder is refused, never that person (their own chats are counted apart).
   */
  recipientLimit: "recipient_limit",
  /** No pending invitation to that conversation (never sent, declined, expired or already used). */
  invitationNotFound: "invitation_not_found",
  /** An invite link that was revoked, replaced or never existed. */
  inviteLinkInvalid: "invite_link_invalid",
  notAGroup: "not_a_group",
  /** A media type outside the allow-list. */
  unsupportedMediaType: "unsupported_media_type",
  /** Over the size limit of its kind (image, video, document). */
  mediaTooLarge: "media_too_large",
  /** The uploaded bytes are not the declared size, or do not look like the declared type. */
  mediaMismatch: "media_mismatch",
  /** An upload URL past its expiry, or whose signature does not match. */
  uploadUrlInvalid: "upload_url_invalid",
  mediaNotFound: "media_not_found",
  /** The user's media would exceed their storage quota. */
  mediaQuotaExceeded: "media_quota_exceeded",
  /** The upload has not completed (or a thumbnail is not made yet). */
  mediaNotReady: "media_not_ready",
  /** The media bucket (R2 or S3) failed: nothing is wrong with the upload; retry it shortly. */
  storageUnavailable: "storage_unavailable",
  rateLimited: "rate_limited",
  /** An edit of a message that is not the editor's own, not text, or deleted. */
  notEditable: "not_editable",
  /** An edit past Limits.editWindowMs, or a sender's delete for everyone past Limits.deleteWindowMs. */
  actionWindowClosed: "action_window_closed",
  /** The message was deleted for everyone: it can no longer be edited, reacted to, replied to or forwarded. */
  messageDeleted: "message_deleted",
  /** A reaction that is not exactly one emoji. */
  invalidReaction: "invalid_reaction",
  /** `played` on a message that is not a voice message. */
  notVoice: "not_voice",
  /** An action its sender may not do on their own message (`played`: only recipients play). */
  ownMessage: "own_message",
  /** A mention of someone who is not a member of the conversation. */
  invalidMention: "invalid_mention",
  /** Pinning one more conversation than Limits.pinnedConversations: unpin one first. */
  tooManyPinned: "too_many_pinned",
  /** A photo (profile or group) that is not a finished image upload of the asker's own, or is in use elsewhere. */
  invalidPhoto: "invalid_photo",
  internal: "internal_error",
  misconfigured: "server_misconfigured",
  /** The deployment is in a maintenance window (MAINTENANCE=1, e.g. while users move between objects): retry later. */
  maintenance: "maintenance",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each code, so routes and objects never disagree. */
export const errorStatus: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_json: 400,
  invalid_frame: 400,
  frame_too_large: 413,
  content_too_large: 413,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  user_not_found: 404,
  conversation_not_found: 404,
  not_a_member: 403,
  message_not_found: 404,
  username_taken: 409,
  group_too_large: 422,
  too_many_conversations: 422,
  recipient_limit: 422,
  invitation_not_found: 404,
  invite_link_invalid: 404,
  not_a_group: 400,
  unsupported_media_type: 415,
  media_too_large: 413,
  media_mismatch: 422,
  upload_url_invalid: 403,
  media_not_found: 404,
  media_quota_exceeded: 413,
  media_not_ready: 409,
  storage_unavailable: 503,
  rate_limited: 429,
  not_editable: 403,
  action_window_closed: 403,
  message_deleted: 410,
  invalid_reaction: 400,
  not_voice: 422,
  own_message: 403,
  invalid_mention: 400,
  too_many_pinned: 422,
  invalid_photo: 422,
  internal_error: 500,
  server_misconfigured: 500,
  maintenance: 503,
};

/** The error value objects hand back over RPC (thrown errors lose their type across RPC). */
export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

/** WebSocket close codes (4000–4999 is the application range). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  /** The user or conversation moved to another server object (a change of shard count): reconnect. */
  serviceRestart: 1012,
  /** Another socket connected with the same device_id (or, on a live socket, the user opened too many). */
  replaced: 4001,
  /** The token was revoked or the user was removed. */
  revoked: 4003,
} as const;
