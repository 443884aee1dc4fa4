import type { Env } from "../../env";
import type { ClientFrame } from "../../protocol";
import { FrameCore, type AdmittedSend, type FramePort, type FrameSocket } from "../frameCore";
import { userHome } from "../homes";
import type { Conversation } from "./conversation";
import { liveOrigin, type LiveAttachment } from "./live";

type FrameOf<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;

/** A live socket as the frame core sees it. */
export interface LiveSession extends FrameSocket {
  liveId: string;
}

export function liveSession(ws: WebSocket, who: LiveAttachment): LiveSession {
  return { ws, userId: who.user_id, batched: who.batched === true, liveId: who.live_id };
}

/** What the live socket's port needs from its conversation. */
export type LiveConversation = Pick<Conversation, "id" | "sendMessages" | "history" | "updateCursorAndTellUser" | "typing">;

/**
 * The live conversation socket's port on the frame core (../frameCore.ts): it serves one
 * conversation. The sends of one socket message are stored as one batch in this object, after one
 * call to the sender's user object for the user's one send rate (the device socket, every live
 * socket and REST draw on it); acks go back on the same socket.
 */
export class LiveFramePort implements FramePort<LiveSession> {
  readonly core: FrameCore<LiveSession>;
  readonly presenceSubscribe = null;

  constructor(
    private readonly conversation: LiveConversation,
    private readonly env: Env,
  ) {
    this.core = new FrameCore(this, "live");
  }

  get scope() {
    return this.conversation.id;
  }

  /** The sender's one send rate is held by their user object: one call per socket message carrying sends. */
  admitSends(socket: LiveSession, conversationIds: string[]) {
    return userHome(this.env, socket.userId).admitSendsUpTo(socket.userId, conversationIds.length, this.conversation.id);
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

  /** The user's history budget is held by their user object. */
  admitHistory(socket: LiveSession) {
    return userHome(this.env, socket.userId).admitHistory(socket.userId);
  }

  /** History may come from R2 (archive.ts), so a page can follow the acks of the same socket message. */
  history(socket: LiveSession, _conversationId: string, query: { after: number; limit: number }) {
    return this.conversation.history(socket.userId, query);
  }

  typing(socket: LiveSession, frame: FrameOf<"typing">) {
    return this.conversation.typing(socket.userId, frame.status);
  }
}
