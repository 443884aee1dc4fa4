import { z } from "zod";
import { ErrorCode, type ProtocolError } from "./errors";
import { isSingleEmoji, Limits, utf8Length } from "./limits";
import {
  ActionType,
  ClientContentType,
  ClientMsgId,
  ContentType,
  ConversationId,
  ConversationSettings,
  Invitation,
  Mention,
  messageFields,
  Seq,
  ServerMsgId,
  Timestamp,
  User,
  UserId,
} from "./models";

/** The content a client sends, shared by the socket frame and the REST body. */
const outgoingFields = {
  content: z.string(),
  content_type: ClientContentType,
  client_msg_id: ClientMsgId,
  media_id: z.string().min(1).max(64).optional(),
  /** Quotes another message of the same conversation (its server_msg_id). */
  reply_to: ServerMsgId.optional(),
  /** Members named in the text (groups): user ids with the offsets of their names in `content`. */
  // The model's fields, unnamed: a named model must read the same as input and as output (frameSchema.ts).
  mentions: z.array(z.object(Mention.shape)).max(Limits.mentionsMax).optional(),
};
export const OutgoingMessage = z.object(outgoingFields);
export type OutgoingMessage = z.infer<typeof OutgoingMessage>;

/** An action on a message (edit, reaction, delete for everyone), shared by the socket frame and the REST body. */
const actionFields = {
  action: ActionType,
  client_msg_id: ClientMsgId,
  /** The new text of an edit, or the emoji of a reaction ("" takes the reaction back). Empty for a delete or played. */
  content: z.string().optional(),
};
export const MessageActionBody = z.object(actionFields);
export type MessageActionBody = z.infer<typeof MessageActionBody>;

/** Where a forward comes from: a message of a conversation the sender can read. */
export const ForwardSource = z.object({ conversation_id: ConversationId, server_msg_id: ServerMsgId });
export type ForwardSource = z.infer<typeof ForwardSource>;

/**
 * What the send path stores, whatever it came as: a message (`send_message`, REST), an action
 * (`message_action`: `content_type` is the action, `target_id` its message) or a forward
 * (`forward_message`: `forward_of` names the original, whose content the conversation copies).
 * Every one is a row of the sequence, idempotent by (sender, client_msg_id), acknowledged alike.
 */
export type Outgoing = Omit<OutgoingMessage, "content_type"> & {
  content_type: OutgoingMessage["content_type"] | ActionType;
  target_id?: string;
  forward_of?: ForwardSource;
};

/** An action frame or body as the send path's row. */
export function actionOutgoing(a: MessageActionBody, targetId: string): Outgoing {
  const content = a.action === "delete" || a.action === "played" ? "" : (a.content ?? "");
  return { content, content_type: a.action, client_msg_id: a.client_msg_id, target_id: targetId };
}

/** A forward as the send path's row: the conversation fills in the content from the original. */
export function forwardOutgoing(clientMsgId: string, from: ForwardSource): Outgoing {
  return { content: "", content_type: "text", client_msg_id: clientMsgId, forward_of: from };
}

/** In `u` mode a surrogate pair is one code point, so this matches only unpaired halves. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Rules a schema cannot say well, with their own error codes; shared by the socket and REST paths.
 * Returns null when the message may be stored.
 */
export function checkOutgoing(m: Outgoing): ProtocolError | null {
  if (m.content.length > Limits.maxContentBytes || utf8Length(m.content) > Limits.maxContentBytes) {
    return { code: ErrorCode.contentTooLarge, message: `content is limited to ${Limits.maxContentBytes} bytes` };
  }
  // A lone surrogate has no UTF-8 form: storage would silently turn it into U+FFFD, so the stored
  // message (or the id a resend is matched by) would differ from what was acknowledged.
  if (LONE_SURROGATE.test(m.content) || LONE_SURROGATE.test(m.client_msg_id)) {
    return { code: ErrorCode.badRequest, message: "content and client_msg_id must be valid Unicode (no lone surrogates)" };
  }
  // A forward's content is the original's, copied by the conversation (which checks the original).
  if (m.forward_of !== undefined) return null;
  if (ActionType.safeParse(m.content_type).success) return checkAction(m);
  const mentionRefused = checkMentions(m);
  if (mentionRefused) return mentionRefused;
  if (m.content_type === "text") {
    if (m.content.trim().length === 0) return { code: ErrorCode.badRequest, message: "text content must not be empty" };
    if (m.media_id !== undefined) return { code: ErrorCode.badRequest, message: "a text message carries no media_id" };
    return null;
  }
  // image, video, document, audio: the media is uploaded first; `content` is an optional caption.
  if (m.media_id === undefined) {
    return { code: ErrorCode.badRequest, message: `${m.content_type} messages need the media_id of an upload` };
  }
  return null;
}

function checkAction(m: Outgoing): ProtocolError | null {
  if (m.target_id === undefined) return { code: ErrorCode.badRequest, message: "an action names the message it changes" };
  if (m.media_id !== undefined || m.reply_to !== undefined || m.mentions !== undefined) {
    return { code: ErrorCode.badRequest, message: "an action carries no media, reply or mentions" };
  }
  if (m.content_type === "edit" && m.content.trim().length === 0) return { code: ErrorCode.badRequest, message: "an edit's text must not be empty" };
  if (m.content_type === "reaction" && m.content !== "" && !isSingleEmoji(m.content)) {
    return { code: ErrorCode.invalidReaction, message: "a reaction is exactly one emoji (or \"\" to take it back)" };
  }
  return null;
}

/** Mentions must name distinct spans inside the text. (Whether each names a member is the conversation's to say.) */
function checkMentions(m: Outgoing): ProtocolError | null {
  if (!m.mentions || m.mentions.length === 0) return null;
  const spans = [...m.mentions].sort((a, b) => a.offset - b.offset);
  let end = 0;
  for (const s of spans) {
    if (s.offset < end || s.offset + s.length > m.content.length) {
      return { code: ErrorCode.badRequest, message: "mentions must be separate spans inside the content" };
    }
    end = s.offset + s.length;
  }
  return null;
}

export const DeliveryStatus = z.enum(["delivered", "read"]);
export type DeliveryStatus = z.infer<typeof DeliveryStatus>;

// ---- client → server ----------------------------------------------------

export const SendMessageFrame = z.object({
  type: z.literal("send_message"),
  conversation_id: ConversationId,
  ...outgoingFields,
});
/** Edit, react to, or delete for everyone a message of the conversation; acknowledged like a send. */
export const MessageActionFrame = z.object({
  type: z.literal("message_action"),
  conversation_id: ConversationId,
  server_msg_id: ServerMsgId,
  ...actionFields,
});
/** Forwards a message (`from`) into this conversation; acknowledged like a send. */
export const ForwardMessageFrame = z.object({
  type: z.literal("forward_message"),
  conversation_id: ConversationId,
  client_msg_id: ClientMsgId,
  from: ForwardSource,
});
export const MessageStatusFrame = z.object({
  type: z.literal("message_status"),
  conversation_id: ConversationId,
  server_msg_id: ServerMsgId,
  status: DeliveryStatus,
});
export const SyncFrame = z.object({
  type: z.literal("sync"),
  conversation_id: ConversationId,
  after_seq: Seq,
  limit: z.number().int().min(1).max(Limits.syncMaxPage).optional(),
});
export const HeartbeatFrame = z.object({ type: z.literal("heartbeat") });
export const TypingStatus = z.enum(["typing", "stopped"]);
/** Fire-and-forget: never stored, never pushed; see docs/protocol.md for expiry and rate. */
export const TypingFrame = z.object({
  type: z.literal("typing"),
  conversation_id: ConversationId,
  status: TypingStatus,
});

export const PresenceSubscribeFrame = z.object({
  type: z.literal("presence_subscribe"),
  user_ids: z.array(UserId).min(1).max(Limits.presenceSubscribeMaxUsers),
});

export const ClientFrame = z.discriminatedUnion("type", [
  PresenceSubscribeFrame,
  SendMessageFrame,
  MessageActionFrame,
  ForwardMessageFrame,
  MessageStatusFrame,
  SyncFrame,
  HeartbeatFrame,
  TypingFrame,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;
export type ClientFrameType = ClientFrame["type"];

// ---- server → client ----------------------------------------------------

export const MessageAckFrame = z.object({
  type: z.literal("message_ack"),
  client_msg_id: ClientMsgId,
  server_msg_id: ServerMsgId,
  conversation_id: ConversationId,
  seq: Seq,
  status: z.literal("sent"),
  timestamp: Timestamp,
});
export type MessageAckFrame = z.infer<typeof MessageAckFrame>;

/** A row of the sequence: a message, a system message or an action (see `Message`). */
export const NewMessageFrame = z.object({ type: z.literal("new_message"), ...messageFields });
export type NewMessageFrame = z.infer<typeof NewMessageFrame>;

export const MessageStatusUpdateFrame = z.object({
  type: z.literal("message_status"),
  conversation_id: ConversationId,
  server_msg_id: ServerMsgId,
  seq: Seq,
  user_id: UserId,
  status: DeliveryStatus,
});
export type MessageStatusUpdateFrame = z.infer<typeof MessageStatusUpdateFrame>;

export const ErrorFrame = z.object({
  type: z.literal("error"),
  code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  client_msg_id: ClientMsgId.optional(),
});
export type ErrorFrame = z.infer<typeof ErrorFrame>;

export const TypingUpdateFrame = z.object({
  type: z.literal("typing"),
  conversation_id: ConversationId,
  user_id: UserId,
  status: TypingStatus,
});
export type TypingUpdateFrame = z.infer<typeof TypingUpdateFrame>;

export const PresenceStatus = z.enum(["online", "offline"]);
/** A user's presence; `last_seen` is null while online, or when either side hides last seen. */
export const Presence = z.object({ user_id: UserId, status: PresenceStatus, last_seen: Timestamp.nullable() }).meta({ id: "Presence" });
export type Presence = z.infer<typeof Presence>;
export const PresenceFrame = Presence.extend({ type: z.literal("presence") });

/** Answer to `heartbeat`; the exact bytes are answered without waking the object. */
export const HeartbeatAckFrame = z.object({ type: z.literal("heartbeat_ack") });

/** Someone invited you to a group (their add needed your consent): accept or decline it over REST. */
export const InvitationFrame = z.object({ type: z.literal("invitation"), invitation: Invitation });
export type InvitationFrame = z.infer<typeof InvitationFrame>;

/**
 * A user's own marks on messages (starred, hidden by "delete for me"), to the user's devices only:
 * each change moves the user's marks `version`, and a device that was away asks
 * `GET /users/me/marks?after=<version>` for what it missed.
 */
export const MessageMark = z.object({
  conversation_id: ConversationId,
  server_msg_id: ServerMsgId,
  seq: Seq,
  kind: z.enum(["starred", "hidden"]),
  /** False once unstarred. (Hiding cannot be undone.) */
  active: z.boolean(),
  at: Timestamp,
  version: z.number().int().min(1),
}).meta({ id: "MessageMark" });
export type MessageMark = z.infer<typeof MessageMark>;
export const MarksFrame = z.object({ type: z.literal("marks"), marks: z.array(MessageMark) });
export type MarksFrame = z.infer<typeof MarksFrame>;

/**
 * The user changed their settings for a conversation (mute, pin, mark as unread, archive), on any
 * device, or a new message brought an archived one back: to all the user's devices. A device that
 * was away reads them from `GET /conversations`.
 */
export const ConversationSettingsFrame = z.object({ type: z.literal("conversation_settings"), settings: ConversationSettings });
export type ConversationSettingsFrame = z.infer<typeof ConversationSettingsFrame>;

/** The user changed their profile (name, about, photo) or settings on some device: to all their devices. */
export const ProfileFrame = z.object({ type: z.literal("profile"), user: User });
export type ProfileFrame = z.infer<typeof ProfileFrame>;

export const ServerFrame = z.discriminatedUnion("type", [
  ConversationSettingsFrame,
  ProfileFrame,
  MarksFrame,
  InvitationFrame,
  MessageAckFrame,
  NewMessageFrame,
  MessageStatusUpdateFrame,
  ErrorFrame,
  HeartbeatAckFrame,
  TypingUpdateFrame,
  PresenceFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;

/** The exact heartbeat request/response strings used for hibernation-friendly auto-response. */
export const HEARTBEAT_REQUEST = JSON.stringify({ type: "heartbeat" });
export const HEARTBEAT_RESPONSE = JSON.stringify({ type: "heartbeat_ack" });

/**
 * Socket subprotocols. `parley.v1`: one frame per server socket message. `parley.v2`: the server
 * may also send a JSON array of frames, in order, in one message (acks of a batch of sends, a page
 * of catch-up, a burst of live messages): one socket message instead of hundreds, which is most of
 * what catch-up costs on both ends. Clients offer v2 first if they read arrays.
 */
export const Subprotocol = { single: "parley.v1", batched: "parley.v2" } as const;
/** A batched server message stays under this many bytes (workerd allows 1 MiB per message). */
export const MAX_SERVER_BATCH_BYTES = 256 * 1024;

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; error: ErrorFrame };

/**
 * Parses one raw socket message: a single frame, or a JSON array of up to 100 frames that are handled
 * in order (a client flushing its outbox sends one message, not a hundred). Never throws: anything
 * unusable becomes an `error` frame (echoing client_msg_id when one can be read), one per bad frame,
 * so the socket stays usable and the good frames of a batch still count.
 */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

export function parseClientMessage(raw: string | ArrayBuffer): ParsedFrame[] {
  // Limits are in UTF-8 bytes; a string can only be over one if it is longer than a third of it.
  const size = typeof raw === "string" ? (raw.length * 3 <= Limits.maxFrameBytes ? raw.length : utf8Length(raw)) : raw.byteLength;
  if (size > Limits.maxBatchBytes) {
    return [fail(ErrorCode.frameTooLarge, `socket messages are limited to ${Limits.maxBatchBytes} bytes`)];
  }
  let text: string;
  try {
    // A binary frame's bytes must be UTF-8: a broken sequence is refused, never replaced (which
    // would store text the sender did not send).
    text = typeof raw === "string" ? raw : strictUtf8.decode(raw);
  } catch {
    return [fail(ErrorCode.invalidFrame, "frame is not valid UTF-8")];
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [fail(ErrorCode.invalidJson, "frame is not valid JSON")];
  }
  if (!Array.isArray(json)) {
    if (size > Limits.maxFrameBytes) {
      return [fail(ErrorCode.frameTooLarge, `frames are limited to ${Limits.maxFrameBytes} bytes`)];
    }
    return [parseFrameValue(json)];
  }
  if (json.length === 0 || json.length > Limits.maxFramesPerMessage) {
    return [fail(ErrorCode.invalidFrame, `a batch holds 1 to ${Limits.maxFramesPerMessage} frames`)];
  }
  return json.map(parseFrameValue);
}

/** Parses one already-decoded frame. */
export function parseFrameValue(json: unknown): ParsedFrame {
  const clientMsgId = readClientMsgId(json);
  const parsed = ClientFrame.safeParse(json);
  if (!parsed.success) {
    return fail(ErrorCode.invalidFrame, describeIssues(parsed.error), clientMsgId);
  }
  const frame = parsed.data;
  if (frame.type === "send_message" || frame.type === "message_action") {
    const refused = checkOutgoing(frame.type === "send_message" ? frame : actionOutgoing(frame, frame.server_msg_id));
    if (refused) return fail(refused.code, refused.message, frame.client_msg_id);
  }
  return { ok: true, frame };
}

function fail(code: ErrorCode, message: string, clientMsgId?: string): ParsedFrame {
  const error: ErrorFrame = { type: "error", code, message };
  if (clientMsgId !== undefined) error.client_msg_id = clientMsgId;
  return { ok: false, error };
}

function readClientMsgId(json: unknown): string | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const id = (json as Record<string, unknown>).client_msg_id;
  return ClientMsgId.safeParse(id).success ? (id as string) : undefined;
}

/** A short, client-safe description of what failed validation. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message))
    .join("; ");
}
