import type { Result } from "../../lib/result";
import type { ClientFrame, DeliveryStatus, HistoryResponse, OutgoingMessage } from "../../protocol";
import { FrameCore, type AdmittedSend, type FramePort, type FrameSocket } from "../frameCore";
import { liveOrigin, type LiveAttachment } from "./live";
import type { SendOutcome } from "./sending";

type FrameOf<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;

/** A live socket as the frame core sees it. */
export interface LiveSession extends FrameSocket {
  liveId: string;
}

export function liveSession(ws: WebSocket, who: LiveAttachment): LiveSession {
  return { ws, userId: who.user_id, batched: who.batched === true, liveId: who.live_id };
}

/** What the live socket's port needs from its conversation. */
export interface LiveConversation {
  readonly id: string;
  sendMessages(senderId: string, messages: OutgoingMessage[], origin?: string): Result<SendOutcome[]> | Promise<Result<SendOutcome[]>>;
  history(userId: string, query: { after: number; limit: number }): Promise<Result<HistoryResponse>>;
  updateCursorAndTellUser(userId: string, status: DeliveryStatus, serverMsgId: string): Promise<Result<unknown>>;
  typing(userId: string, status: "typing" | "stopped"): Result<void>;
  /** How many of `count` sends the sender's one rate (held by their user object) lets go now. */
  admitSends(userId: string, count: number): Promise<number>;
  /** Whether the user's history budget (held by their user object) allows another page now. */
  admitHistory(userId: string): Promise<boolean>;
}

/**
 * The live conversation socket's port on the frame core (../frameCore.ts): it serves one
 * conversation. The sends of one socket message are stored as one batch in this object, after one
 * call to the sender's user object for the user's one send rate (the device socket, every live
 * socket and REST draw on it); acks go back on the same socket.
 */
export class LiveFramePort implements FramePort<LiveSession> {
  readonly core: FrameCore<LiveSession>;
  readonly presenceSubscribe = null;

  constructor(private readonly conversation: LiveConversation) {
    this.core = new FrameCore(this, "live");
  }

  get scope() {
    return this.conversation.id;
  }

  admitSends(socket: LiveSession, conversationIds: string[]) {
    return this.conversation.admitSends(socket.userId, conversationIds.length);
  }

  store(socket: LiveSession, sends: AdmittedSend[]) {
    return this.conversation.sendMessages(
      socket.userId,
      sends.map((s) => s.message),
      liveOrigin(socket.liveId),
    );
  }

  status(socket: LiveSession, frame: FrameOf<"message_status">) {
    return this.conversation.updateCursorAndTellUser(socket.userId, frame.status, frame.server_msg_id);
  }

  admitHistory(socket: LiveSession) {
    return this.conversation.admitHistory(socket.userId);
  }

  /** History may come from R2 (archive.ts), so a page can follow the acks of the same socket message. */
  history(socket: LiveSession, _conversationId: string, query: { after: number; limit: number }) {
    return this.conversation.history(socket.userId, query);
  }

  typing(socket: LiveSession, frame: FrameOf<"typing">) {
    return this.conversation.typing(socket.userId, frame.status);
  }
}
