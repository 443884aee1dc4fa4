/**
 * Device sessions of one user. Identity lives in the socket attachment so it survives
 * hibernation; the rest is in-memory bookkeeping that is safe to lose, because a socket only
 * hibernates when nothing is in flight on it.
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
  deviceId: string;
  connectedAt: number;
  batched: boolean;
  /** Conversations this device is being caught up on: live pushes wait for the replay. */
  replaying: Set<string>;
  /** Highest seq pushed to this socket per conversation, so nothing goes out twice. */
  sentSeq: Map<string, number>;
}

export const deviceTag = (deviceId: string) => `device:${deviceId}`;
/** Sockets are tagged with the token that opened them, so logging that token out closes them. */
export const tokenTag = (tokenId: string) => `token:${tokenId}`;

export class DeviceSessions {
  private readonly bySocket = new WeakMap<WebSocket, DeviceSession>();

  constructor(private readonly ctx: DurableObjectState) {}

  accept(ws: WebSocket, attachment: DeviceAttachment, tokenId: string | null): DeviceSession {
    this.ctx.acceptWebSocket(ws, tokenId ? [deviceTag(attachment.device_id), tokenTag(tokenId)] : [deviceTag(attachment.device_id)]);
    ws.serializeAttachment(attachment);
    return this.get(ws)!;
  }

  /** The session of a socket, rebuilt from its attachment after hibernation. */
  get(ws: WebSocket): DeviceSession | null {
    let session = this.bySocket.get(ws);
    if (!session) {
      const attachment = ws.deserializeAttachment() as DeviceAttachment | null;
      if (!attachment) return null;
      session = {
        ws,
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

  all(): DeviceSession[] {
    return this.ctx
      .getWebSockets()
      .filter((ws) => ws.readyState === WebSocket.OPEN)
      .flatMap((ws) => this.get(ws) ?? []);
  }

  ofDevice(deviceId: string): WebSocket[] {
    return this.ctx.getWebSockets(deviceTag(deviceId));
  }
}
