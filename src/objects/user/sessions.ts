/**
 * Device sockets of the users an object holds. Identity lives in the socket attachment and tags
 * (user, device, token), so it survives hibernation; the rest is in-memory bookkeeping that is safe
 * to lose, because a socket only hibernates when nothing is in flight on it.
 */
export interface DeviceAttachment {
  user_id: string;
  device_id: string;
  connected_at: number;
  /** Speaks `parley.v2`: frames may be sent to it as arrays (protocol/frames.ts, Subprotocol). */
  batched?: boolean;
}

export interface DeviceSession {
  ws: WebSocket;
  userId: string;
  deviceId: string;
  connectedAt: number;
  batched: boolean;
  /** Conversations this device is being caught up on: live pushes wait for the replay. */
  replaying: Set<string>;
  /** Highest seq pushed to this socket per conversation, so nothing goes out twice. */
  sentSeq: Map<string, number>;
}

export const userTag = (userId: string) => `user:${userId}`;
export const deviceTag = (userId: string, deviceId: string) => `device:${userId}:${deviceId}`;
/** Sockets are tagged with the token that opened them, so logging that token out closes them. */
export const tokenTag = (tokenId: string) => `token:${tokenId}`;

import type { ObjectContext } from "../context";

export class DeviceSessions {
  private readonly bySocket = new WeakMap<WebSocket, DeviceSession>();
  /**
   * Open sessions per user, filled from the runtime's tag index the first time a user is asked
   * about after a wake-up: a delivery touches a handful of users, not every socket of the object.
   */
  private readonly byUser = new Map<string, Set<DeviceSession>>();

  private readonly ctx: DurableObjectState;
  private readonly storage: DurableObjectStorage;

  constructor(object: ObjectContext) {
    this.ctx = object.ctx;
    this.storage = object.storage;
  }

  accept(ws: WebSocket, attachment: DeviceAttachment, tokenId: string | null): DeviceSession {
    const tags = [userTag(attachment.user_id), deviceTag(attachment.user_id, attachment.device_id)];
    if (tokenId) tags.push(tokenTag(tokenId));
    this.ctx.acceptWebSocket(ws, tags);
    ws.serializeAttachment(attachment);
    const session = this.get(ws)!;
    this.byUser.get(session.userId)?.add(session);
    return session;
  }

  /** The session of a socket, rebuilt from its attachment after hibernation. */
  get(ws: WebSocket): DeviceSession | null {
    let session = this.bySocket.get(ws);
    if (!session) {
      const attachment = ws.deserializeAttachment() as DeviceAttachment | null;
      if (!attachment) return null;
      session = {
        ws,
        userId: attachment.user_id,
        deviceId: attachment.device_id,
        connectedAt: attachment.connected_at,
        batched: attachment.batched === true,
        replaying: new Set(),
        sentSeq: new Map(),
      };
      this.bySocket.set(ws, session);
    }
    return session;
  }

  /** A socket closed or failed: it no longer counts for its user. */
  drop(ws: WebSocket): DeviceSession | null {
    const session = this.get(ws);
    if (session) this.byUser.get(session.userId)?.delete(session);
    return session;
  }

  /** The user's open device sessions. */
  ofUser(userId: string): DeviceSession[] {
    let sessions = this.byUser.get(userId);
    if (!sessions) {
      sessions = new Set(this.ctx.getWebSockets(userTag(userId)).flatMap((ws) => this.get(ws) ?? []));
      this.byUser.set(userId, sessions);
    }
    const open: DeviceSession[] = [];
    for (const s of sessions) {
      if (s.ws.readyState === WebSocket.OPEN) open.push(s);
      else sessions.delete(s);
    }
    return open;
  }

  online(userId: string): boolean {
    return this.ofUser(userId).length > 0;
  }

  /** Every open session of every user here (liveness checks). */
  all(): DeviceSession[] {
    return this.ctx
      .getWebSockets()
      .filter((ws) => ws.readyState === WebSocket.OPEN)
      .flatMap((ws) => this.get(ws) ?? []);
  }

  /** The sockets of one device of a user (at most one normally: a reconnect replaces the old). */
  ofDevice(userId: string, deviceId: string): WebSocket[] {
    return this.ctx.getWebSockets(deviceTag(userId, deviceId));
  }

  /** The device's socket that is open now, if any. */
  current(userId: string, deviceId: string): DeviceSession | null {
    for (const ws of this.ofDevice(userId, deviceId)) {
      const session = this.get(ws);
      if (session && ws.readyState === WebSocket.OPEN) return session;
    }
    return null;
  }

  /** The sockets opened with one token. */
  ofToken(tokenId: string): WebSocket[] {
    return this.ctx.getWebSockets(tokenTag(tokenId));
  }

  /**
   * Whether a device may connect: a known one always may; a new one while fewer than `limit` of the
   * user's devices were seen in the last 30 days (a device unused that long no longer counts).
   */
  deviceAllowed(userId: string, deviceId: string, limit: number, now: number): boolean {
    if (this.storage.sql.exec("SELECT 1 FROM devices WHERE user_id = ? AND device_id = ?", userId, deviceId).toArray().length > 0) return true;
    const active = this.storage.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM devices WHERE user_id = ? AND last_seen > ?", userId, now - 30 * 86_400_000)
      .one().n;
    return active < limit;
  }

  touchDevice(userId: string, deviceId: string, now: number): void {
    this.storage.sql.exec(
      `INSERT INTO devices (user_id, device_id, first_seen, last_seen) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen = excluded.last_seen`,
      userId,
      deviceId,
      now,
      now,
    );
  }
}
