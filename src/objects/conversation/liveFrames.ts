import type { Result } from "../../lib/result";
import {
  ErrorCode,
  Limits,
  type ClientFrame,
  type DeliveryStatus,
  type HistoryResponse,
  type OutgoingMessage,
} from "../../protocol";
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

const rateLimited = { code: ErrorCode.rateLimited, message: `slow down: at most ${Limits.sendPerSecond} messages a second; resend later` };

/** How long a refused send holds back the socket's later sends if it never comes again (as on the device socket). */
const SEND_BLOCK_MS = 30_000;
/** `sync` requests that may wait behind the running one on a live socket. */
const MAX_WAITING_SYNCS = 4;
/** Per live socket: its `sync` requests, run one at a time. */
const liveSyncs = new WeakMap<WebSocket, { tail: Promise<void>; waiting: number }>();

/** Per live socket: the first send refused for rate, which later sends may not overtake. */
const sendBlocks = new WeakMap<WebSocket, { clientMsgId: string; until: number }>();

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
        const syncs = liveSyncs.get(ws) ?? { tail: Promise.resolve(), waiting: 0 };
        liveSyncs.set(ws, syncs);
        if (syncs.waiting > MAX_WAITING_SYNCS) {
          sendFrame(ws, errorFrame({ code: ErrorCode.rateLimited, message: `one sync at a time per socket (${MAX_WAITING_SYNCS} may wait); wait for the answers` }));
          break;
        }
        syncs.waiting++;
        const query = { after: frame.after_seq, limit: frame.limit ?? Limits.historyMaxPage };
        const run = syncs.tail.then(async () => {
          if (!(await ops.admitHistory(who.user_id))) {
            sendFrame(ws, errorFrame({ code: ErrorCode.rateLimited, message: `slow down: at most ${Limits.historyPerSecond} history or sync requests a second (bursts of ${Limits.historyBurst})` }));
            return;
          }
          await answer(ws, ops.history(who.user_id, query), (value) => {
            for (const m of value.messages) sendFrame(ws, JSON.stringify({ type: "new_message", ...m }));
          });
        });
        syncs.tail = run.catch(() => {}).finally(() => syncs.waiting--);
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
  let block = sendBlocks.get(ws);
  if (block && block.until <= now) block = undefined;
  // Until the blocking send reappears, everything before it in this batch waits too.
  const resumeAt = block ? candidates.findIndex((m) => m.client_msg_id === block.clientMsgId) : 0;
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
  if (granted < eligible.length) sendBlocks.set(ws, { clientMsgId: eligible[granted]!.client_msg_id, until: now + SEND_BLOCK_MS });
  else if (block && granted > 0) sendBlocks.delete(ws);
  for (const m of refused) sendFrame(ws, errorFrame(rateLimited, m.client_msg_id));
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
