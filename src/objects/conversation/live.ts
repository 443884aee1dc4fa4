import { CloseCode, Limits } from "../../protocol";
import { closeSocket, sendFrame } from "../sockets";

/**
 * Live sockets of one conversation: clients that have it open connect here and get its messages
 * straight from the conversation object — one `ws.send` per socket, no call into a user object.
 * An object may hold many conversations (CONVERSATION_SHARDS): identity lives in the attachment
 * (survives hibernation) and the tags find one conversation's sockets, or one user's in it.
 */
export interface LiveAttachment {
  conversation_id: string;
  user_id: string;
  /** Names this socket as a message's origin, so it gets the ack rather than its own message back. */
  live_id: string;
  /** When it was accepted. */
  opened_at: number;
  /** Speaks `parley.v2`: frames may be sent to it as arrays (protocol/frames.ts, Subprotocol). */
  batched?: boolean;
}

const conversationTag = (conversationId: string) => `conversation:${conversationId}`;
const memberTag = (conversationId: string, userId: string) => `member:${conversationId}:${userId}`;
const tokenTag = (tokenId: string) => `token:${tokenId}`;
export const liveOrigin = (liveId: string) => `live:${liveId}`;

export function liveAttachment(ws: WebSocket): LiveAttachment | null {
  const a = ws.deserializeAttachment() as Partial<LiveAttachment> | null;
  return a && typeof a.conversation_id === "string" && typeof a.user_id === "string" ? (a as LiveAttachment) : null;
}

export class LiveSockets {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly conversationId: string,
  ) {}

  /**
   * A user holds at most `Limits.liveSocketsPerUser` live sockets on a conversation: the object's
   * 32,768 sockets are shared by every member (and every conversation it holds), so opening one more
   * closes that user's oldest (the SDK opens one at a time, so only a misbehaving client gets there).
   */
  accept(ws: WebSocket, userId: string, tokenId: string | null, batched = false): LiveAttachment {
    const mine = this.ctx
      .getWebSockets(memberTag(this.conversationId, userId))
      .filter((s) => s.readyState === WebSocket.OPEN)
      .sort((x, y) => (liveAttachment(x)?.opened_at ?? 0) - (liveAttachment(y)?.opened_at ?? 0));
    for (const old of mine.slice(0, Math.max(0, mine.length - Limits.liveSocketsPerUser + 1))) {
      closeSocket(old, CloseCode.replaced, "too many live sockets for this conversation: the oldest is closed");
    }
    const attachment: LiveAttachment = { conversation_id: this.conversationId, user_id: userId, live_id: crypto.randomUUID(), opened_at: Date.now(), batched };
    const tags = [conversationTag(this.conversationId), memberTag(this.conversationId, userId)];
    if (tokenId) tags.push(tokenTag(tokenId));
    this.ctx.acceptWebSocket(ws, tags);
    ws.serializeAttachment(attachment);
    return attachment;
  }

  private sockets(): WebSocket[] {
    return this.ctx.getWebSockets(conversationTag(this.conversationId));
  }

  any(): boolean {
    return this.sockets().length > 0;
  }

  /**
   * Sends a fan-out round to every open live socket, each member only the part of the round they
   * may see (`range`), and never a socket its own message.
   */
  push(
    messages: { seq: number; frame: string; origin_device?: string; withheld_from?: string; withheld_frame?: string }[],
    range: (userId: string) => { after: number; upTo: number } | null,
  ) {
    for (const ws of this.sockets()) {
      const a = liveAttachment(ws);
      if (!a || ws.readyState !== WebSocket.OPEN) continue;
      const r = range(a.user_id);
      if (!r) continue;
      const origin = liveOrigin(a.live_id);
      for (const m of messages) {
        if (m.seq > r.after && m.seq <= r.upTo && m.origin_device !== origin) sendFrame(ws, m.withheld_from === a.user_id ? m.withheld_frame! : m.frame);
      }
    }
  }

  /** One frame to every open live socket except the given user's own (and those of anyone in `skip`). */
  pushToOthers(frame: string, exceptUserId: string, skip: ReadonlySet<string> = new Set()) {
    for (const ws of this.sockets()) {
      const a = liveAttachment(ws);
      if (a && a.user_id !== exceptUserId && !skip.has(a.user_id) && ws.readyState === WebSocket.OPEN) sendFrame(ws, frame);
    }
  }

  /** Closes every live socket on this conversation. */
  closeAll(code: number, reason: string) {
    for (const ws of this.sockets()) closeSocket(ws, code, reason);
  }

  /** Closes a user's live sockets: all of theirs on this conversation, or those opened with one token. */
  closeUser(userId: string, code: number, reason: string, tokenId: string | null = null) {
    const sockets = tokenId
      ? this.ctx.getWebSockets(tokenTag(tokenId)).filter((ws) => liveAttachment(ws)?.conversation_id === this.conversationId)
      : this.ctx.getWebSockets(memberTag(this.conversationId, userId));
    for (const ws of sockets) closeSocket(ws, code, reason);
  }
}
