import type { ErrorFrame, MessageAckFrame, MessageStatusUpdateFrame, Presence, TypingUpdateFrame } from "../protocol/frames";
import type { ConversationSummary, Invitation, Message, User } from "../protocol/models";
import type { ConnectionState } from "./connection";
import type { UploadInProgress } from "./media";
import type { StarredMessage } from "../protocol/rest";
import type { PendingAction, PendingMessage } from "./outbox";

/** Why the server refused one of your messages for good: the code and message of its `error` frame. */
export type SendError = Pick<ErrorFrame, "code" | "message">;

export interface ParleyClientEvents {
  connection: ConnectionState;
  /** A message new to this device, from someone else or from another of your devices. */
  message: Message;
  /**
   * An action row new to this device (edit, reaction, delete for everyone: `content_type`, with its
   * `target`), from someone else or another of your devices. It is already applied to its message
   * in `entries()` and `messages()`.
   */
  action: Message;
  /** Something shown for this conversation changed: messages, ticks, typing. */
  conversation: string;
  /** The conversation list changed (order, last message, unread counts, names, members). */
  conversations: ConversationSummary[];
  sent: { pending: PendingMessage; ack: MessageAckFrame };
  failed: { pending: PendingMessage; error: SendError };
  /** The server refused one of your actions: it is taken back off its message (an `error` event fires too). */
  actionFailed: { action: PendingAction; error: SendError };
  /** Your starred messages changed (starred or unstarred here or on another device, a list fetched). */
  starred: StarredMessage[];
  receipt: MessageStatusUpdateFrame;
  typing: Pick<TypingUpdateFrame, "conversation_id" | "user_id"> & { typing: boolean };
  presence: Presence;
  /**
   * An error frame not tied to one of your messages; also a refused action (with its client_msg_id,
   * already rolled back) and a star/hide the server refused for good (rolled back).
   */
  error: ErrorFrame;
  /** A user's profile was fetched: names can be shown for them now. */
  user: User;
  /** An upload moved forward (or ended: `done`). */
  upload: UploadInProgress & { done: boolean };
  /** The session token was refreshed: store the new one (e.g. for the next app start). */
  token: string;
  /** Someone invited you to a group: accept or decline with `acceptInvitation` / `declineInvitation`. */
  invitation: Invitation;
  /** The pending invitations changed. */
  invitations: Invitation[];
}

/** How the client's parts announce a change: the client's own `emit`, handed to each of them. */
export type Emit = <K extends keyof ParleyClientEvents>(event: K, payload: ParleyClientEvents[K]) => void;
