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
