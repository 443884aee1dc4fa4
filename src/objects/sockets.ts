import { log } from "../lib/log";
import { HEARTBEAT_RESPONSE, MAX_SERVER_BATCH_BYTES, type ErrorFrame, type Message, type MessageAck, type ProtocolError } from "../protocol";

/** An `error` frame, encoded; echoes the client_msg_id of the send it refuses, if any. */
export function errorFrame(error: ProtocolError, clientMsgId?: string): string {
  const frame: ErrorFrame = { type: "error", code: error.code, message: error.message };
  if (clientMsgId !== undefined) frame.client_msg_id = clientMsgId;
  return JSON.stringify(frame);
}

/**
 * The one encoder of `new_message`: fan-out, catch-up, sync on both sockets and the inbox's last
 * message all send what this builds, so a field added to a message reaches every path at once.
 */
export function newMessageFrame(m: Message): string {
  return JSON.stringify({ type: "new_message", ...m });
}

/** A stored send's `message_ack`. */
export function ackFrame(ack: MessageAck): string {
  return JSON.stringify({ type: "message_ack", ...ack });
}

/** What a send came to, as the frame that tells its sender: an ack, or an error naming the send. */
export function sendOutcomeFrame(outcome: { ok: true; ack: MessageAck } | { ok: false; client_msg_id: string; error: ProtocolError }): string {
  return outcome.ok ? ackFrame(outcome.ack) : errorFrame(outcome.error, outcome.client_msg_id);
}

export const heartbeatAckFrame = HEARTBEAT_RESPONSE;

/**
 * Sends already-encoded frames, in order: as JSON arrays of up to MAX_SERVER_BATCH_BYTES when the
 * socket speaks `parley.v2` (the frames are joined, not re-encoded), else one message each.
 * Returns false once the socket is gone.
 */
export function sendFrames(ws: WebSocket, frames: string[], batched: boolean): boolean {
  if (!batched || frames.length === 1) return frames.every((f) => sendFrame(ws, f));
  let batch: string[] = [];
  let bytes = 2;
  for (const f of frames) {
    if (batch.length > 0 && bytes + f.length + 1 > MAX_SERVER_BATCH_BYTES) {
      if (!sendFrame(ws, `[${batch.join(",")}]`)) return false;
      batch = [];
      bytes = 2;
    }
    batch.push(f);
    bytes += f.length + 1;
  }
  return batch.length === 0 || sendFrame(ws, batch.length === 1 ? batch[0]! : `[${batch.join(",")}]`);
}

/** Sends without throwing: a socket that closed mid-send is cleaned up by its close event. */
export function sendFrame(ws: WebSocket, frame: string): boolean {
  try {
    ws.send(frame);
    return true;
  } catch {
    return false;
  }
}

/**
 * Closes a socket, the one way every socket is closed: never throws, and never sends a close frame
 * on a transport that is already gone. 1005, 1006 and 1015 are reserved codes that only report a
 * close (none sent, transport lost, TLS failure) and may not be sent: when answering a peer's close
 * with 1005 the handshake is completed with 1000; after 1006 or 1015 there is nobody to answer.
 */
export function closeSocket(ws: WebSocket, code: number, reason: string) {
  if (code === 1006 || code === 1015 || ws.readyState === WebSocket.CLOSED) return;
  try {
    ws.close(code === 1005 ? 1000 : code, reason);
  } catch (error) {
    // Closed by the other side between the check and the call: nothing is left to do.
    log.debug("socket close refused", { code, error });
  }
}
