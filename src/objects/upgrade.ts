/**
 * The contract between the Worker's socket routes and the objects that accept the sockets: the
 * route authenticates and sets these headers; objects are not reachable any other way, so they
 * trust them.
 */
export const USER_ID_HEADER = "X-Parley-User-Id";
export const SUBPROTOCOL_HEADER = "X-Parley-Subprotocol";
/** The conversation a live socket is for (a conversation object may hold many). */
export const CONVERSATION_ID_HEADER = "X-Parley-Conversation-Id";
/** The session (or, for a token from before sessions, the token id) that authenticated an upgrade: ending it closes the socket. */
export const TOKEN_ID_HEADER = "X-Parley-Token-Id";

/** The 101 answer for an accepted socket, echoing the subprotocol the route chose. */
export function upgradeResponse(request: Request, client: WebSocket): Response {
  const headers = new Headers();
  const protocol = request.headers.get(SUBPROTOCOL_HEADER);
  if (protocol) headers.set("Sec-WebSocket-Protocol", protocol);
  return new Response(null, { status: 101, webSocket: client, headers });
}

export function jsonError(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
