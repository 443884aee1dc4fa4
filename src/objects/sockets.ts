import type { ErrorFrame, ProtocolError } from "../protocol";

/** An `error` frame, encoded; echoes the client_msg_id of the send it refuses, if any. */
export function errorFrame(error: ProtocolError, clientMsgId?: string): string {
  const frame: ErrorFrame = { type: "error", code: error.code, message: error.message };
  if (clientMsgId !== undefined) frame.client_msg_id = clientMsgId;
  return JSON.stringify(frame);
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

/** Completes the closing handshake (1005/1006 are reserved and cannot be sent back). */
export function answerClose(ws: WebSocket, code: number, reason: string) {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
  } catch {
    /* already closed */
  }
}
