import { CloseCode, Limits } from "../../protocol";
import { sendFrame } from "../sockets";

/**
 * Live sockets of one conversation: clients that have it open connect here and get its messages
 * straight from the conversation object — one `ws.send` per socket, no call into a user object.
 * Identity lives in the attachment (survives hibernation); the tag finds a user's sockets.
 */
export interface LiveAttachment {
  user_id: string;
  /** Names this socket as a message's origin, so it gets the ack rather than its own message back. */
  live_id: string;
  /** When it was accepted (absent on sockets accepted before this was recorded: the oldest). */
  opened_at?: number;
}

const userTag = (userId: string) => `user:${userId}`;
const tokenTag = (tokenId: string) => `token:${tokenId}`;
export const liveOrigin = (liveId: string) => `live:${liveId}`;

export class LiveSockets {
  constructor(private readonly ctx: DurableObjectState) {}

  /**
   * A user holds at most `Limits.liveSocketsPerUser` live sockets here: the object's 32,768 sockets
   * are shared by every member, so opening one more closes that user's oldest (the SDK opens one at
   * a time, so only a misbehaving client gets there).
   */
  accept(ws: WebSocket, userId: string, tokenId: string | null): LiveAttachment {
    const mine = this.ctx
      .getWebSockets(userTag(userId))
      .filter((s) => s.readyState === WebSocket.OPEN)
      .sort((x, y) => (this.attachment(x)?.opened_at ?? 0) - (this.attachment(y)?.opened_at ?? 0));
    for (const old of mine.slice(0, Math.max(0, mine.length - Limits.liveSocketsPerUser + 1))) {
      try {
        old.close(CloseCode.replaced, "too many live sockets for this conversation: the oldest is closed");
      } catch {
        /* already closing */
      }
    }
    const attachment: LiveAttachment = { user_id: userId, live_id: crypto.randomUUID(), opened_at: Date.now() };
    this.ctx.acceptWebSocket(ws, tokenId ? [userTag(userId), tokenTag(tokenId)] : [userTag(userId)]);
    ws.serializeAttachment(attachment);
    return attachment;
  }

  any(): boolean {
    return this.ctx.getWebSockets().length > 0;
  }

  attachment(ws: WebSocket): LiveAttachment | null {
    return ws.deserializeAttachment() as LiveAttachment | null;
  }

  /**
   * Sends a fan-out round to every open live socket, each member only the part of the round they
   * may see (`range`), and never a socket its own message.
   */
  push(messages: { seq: number; frame: string; origin_device?: string }[], range: (userId: string) => { after: number; upTo: number } | null) {
    for (const ws of this.ctx.getWebSockets()) {
      const a = this.attachment(ws);
      if (!a || ws.readyState !== WebSocket.OPEN) continue;
      const r = range(a.user_id);
      if (!r) continue;
      const origin = liveOrigin(a.live_id);
      for (const m of messages) {
        if (m.seq > r.after && m.seq <= r.upTo && m.origin_device !== origin) sendFrame(ws, m.frame);
      }
    }
  }

  /** One frame to every open live socket except the given user's own. */
  pushToOthers(frame: string, exceptUserId: string) {
    for (const ws of this.ctx.getWebSockets()) {
      const a = this.attachment(ws);
      if (a && a.user_id !== exceptUserId && ws.readyState === WebSocket.OPEN) sendFrame(ws, frame);
    }
  }

  /** Closes a departed member's live sockets (after they got the message recording it). */
  /** Closes a user's live sockets: all of them, or those opened with one token. */
  closeUser(userId: string, code: number, reason: string, tokenId: string | null = null) {
    for (const ws of this.ctx.getWebSockets(tokenId ? tokenTag(tokenId) : userTag(userId))) {
      try {
        ws.close(code, reason);
      } catch {
        /* already closed */
      }
    }
  }
}
