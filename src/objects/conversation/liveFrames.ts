import type { Result } from "../../lib/result";
import {
  ErrorCode,
  Limits,
  type ClientFrame,
  type DeliveryStatus,
  type HistoryResponse,
  type OutgoingMessage,
} from "../../protocol";
import { historyRateLimited, SendBlocks, sendRateLimited, SocketSyncs, syncsFull } from "../socketLimits";
import { errorFrame, sendFrame } from "../sockets";
import type { SendOutcome } from "./ConversationObject";
import { liveOrigin, type LiveAttachment } from "./live";

/** What the live-socket handlers need from the conversation object. */
export interface ConversationOps {
  conversationId(): string;
  sendMessages(senderId: string, messages: OutgoingMessage[], origin?: string): Result<SendOutcome[]> | Promise<Result<SendOutcome[]>>;
  history(userId: string, query: { after: number; limit: number }): Promise<Result<HistoryResponse>>;
  updateCursor(userId: string, status: DeliveryStatus, serverMsgId: string): Promise<Result<unknown>>;
  typing(userId: string, status: "typing" | "stopped"): Result<void>;
  /** Whether the user's history budget (held by their user object) allows another page now. */
  admitHistory(userId: string): Promise<boolean>;
  /** How many of `count` sends the sender's one rate (held by their user object) lets go now. */
  admitSends(userId: string, count: number): Promise<number>;
}

/** Per live socket: the hold-back after a refused send, and syncs one at a time (as on device sockets). */
const sendBlocks = new SendBlocks();
const syncs = new SocketSyncs();

/**
 * Frames on a live conversation socket. The sends of one socket message are stored as one batch in
 * this object, after one call to the sender's user object for the user's one send rate (the device
 * socket, every live socket and REST draw on it); acks go back on the same socket.
 */
export function handleLiveFrames(ops: ConversationOps, ws: WebSocket, who: LiveAttachment, frames: ClientFrame[]) {
  const sends: OutgoingMessage[] = [];
  for (const frame of frames) {
    if (frame.type === "presence_subscribe") {
      sendFrame(ws, errorFrame({ code: ErrorCode.badRequest, message: "subscribe to presence on the device socket" }));
      continue;
    }
    if (frame.type !== "heartbeat" && frame.conversation_id !== ops.conversationId()) {
      const clientMsgId = frame.type === "send_message" ? frame.client_msg_id : undefined;
      sendFrame(ws, errorFrame({ code: ErrorCode.badRequest, message: "this socket serves one conversation: use the device socket for others" }, clientMsgId));
      continue;
    }
    switch (frame.type) {
      case "send_message": {
        const { type: _t, conversation_id: _c, ...message } = frame;
        sends.push(message);
        break;
      }
      case "message_status": {
        void answer(ws, ops.updateCursor(who.user_id, frame.status, frame.server_msg_id), () => {});
        break;
      }
      case "sync": {
        // History may come from R2 (archive.ts), so its frames can follow the acks of this batch.
        // One at a time per socket, each drawing on the user's history budget (held by the user object).
        const query = { after: frame.after_seq, limit: frame.limit ?? Limits.historyMaxPage };
        const queued = syncs.run(ws, async () => {
          if (!(await ops.admitHistory(who.user_id))) return void sendFrame(ws, errorFrame(historyRateLimited));
          await answer(ws, ops.history(who.user_id, query), (value) => {
            for (const m of value.messages) sendFrame(ws, JSON.stringify({ type: "new_message", ...m }));
          });
        });
        if (!queued) sendFrame(ws, errorFrame(syncsFull));
        else
          void queued.catch((err) => {
            console.error(JSON.stringify({ level: "error", msg: "live sync failed", error: String(err) }));
            sendFrame(ws, errorFrame({ code: ErrorCode.internal, message: "internal error" }));
          });
        break;
      }
      case "heartbeat":
        sendFrame(ws, JSON.stringify({ type: "heartbeat_ack" }));
        break;
      case "typing": {
        const done = ops.typing(who.user_id, frame.status);
        if (!done.ok) sendFrame(ws, errorFrame(done.error));
        break;
      }
    }
  }
  if (sends.length > 0) void storeAdmitted(ops, ws, who, sends);
}

/**
 * Sends past the rate are refused (the client sends them again with the same ids), and so is every
 * later send on this socket until the first refused one comes back: nothing overtakes it.
 */
async function storeAdmitted(ops: ConversationOps, ws: WebSocket, who: LiveAttachment, candidates: OutgoingMessage[]) {
  const now = Date.now();
  const blocker = sendBlocks.blocker(ws, now);
  // Until the blocking send reappears, everything before it in this batch waits too.
  const resumeAt = blocker !== undefined ? candidates.findIndex((m) => m.client_msg_id === blocker) : 0;
  const eligible = resumeAt < 0 ? [] : candidates.slice(resumeAt);
  const held = resumeAt < 0 ? candidates : candidates.slice(0, resumeAt);
  let granted = 0;
  try {
    granted = eligible.length > 0 ? await ops.admitSends(who.user_id, eligible.length) : 0;
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "send rate check failed", error: String(err) }));
    for (const m of candidates) sendFrame(ws, errorFrame({ code: ErrorCode.internal, message: "could not store the message; retry" }, m.client_msg_id));
    return;
  }
  const sends = eligible.slice(0, granted);
  const refused = [...held, ...eligible.slice(granted)];
  // The first refused send blocks the socket (when a block was waiting for it and it is refused
  // again, that is the same send); one that was let through lifts the block.
  if (granted < eligible.length) sendBlocks.block(ws, eligible[granted]!.client_msg_id, now);
  else if (blocker !== undefined && granted > 0) sendBlocks.release(ws);
  for (const m of refused) sendFrame(ws, errorFrame(sendRateLimited, m.client_msg_id));
  if (sends.length === 0) return;
  const reply = (result: Result<SendOutcome[]>) => {
    const replies = result.ok
      ? result.value.map((o) => (o.ok ? JSON.stringify({ type: "message_ack", ...o.ack }) : errorFrame(o.error, o.client_msg_id)))
      : sends.map((m) => errorFrame(result.error, m.client_msg_id));
    for (const r of replies) sendFrame(ws, r);
  };
  const result = ops.sendMessages(who.user_id, sends, liveOrigin(who.live_id));
  if (!(result instanceof Promise)) return reply(result);
  // Media sends resolve later; a failure is answered per message (the client resends: sends are idempotent).
  void result.then(reply, (err) => {
    console.error(JSON.stringify({ level: "error", msg: "live media send failed", error: String(err) }));
    reply({ ok: false, error: { code: ErrorCode.internal, message: "internal error" } });
  });
}

/** Answers a frame whose work is asynchronous: its result, its refusal, or an internal error. */
async function answer<T>(ws: WebSocket, pending: Promise<Result<T>>, onOk: (value: T) => void) {
  try {
    const result = await pending;
    if (result.ok) onOk(result.value);
    else sendFrame(ws, errorFrame(result.error));
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: "live frame failed", error: String(err) }));
    sendFrame(ws, errorFrame({ code: ErrorCode.internal, message: "internal error" }));
  }
}
