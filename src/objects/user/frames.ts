import { conversationStub, type Env } from "../../env";
import { seqOfServerMsgId } from "../../lib/ids";
import { sendRate } from "../../lib/sendRate";
import { TokenBuckets } from "../../lib/tokenBucket";
import {
  ErrorCode,
  Limits,
  type ClientFrame,
  type OutgoingMessage,
  type Presence,
} from "../../protocol";
import { Acknowledgements } from "./acknowledgements";
import { byHome, homeStub } from "./home";
import type { InboxStore } from "./inbox";
import { errorFrame, sendFrame, sendFrames } from "../sockets";
import type { DeviceSession } from "./sessions";

type FrameOf<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;

/**
 * Handlers for the frames a device sends. Sends from one socket to one conversation are queued
 * and shipped to the conversation object in batches: the order of the socket is kept (one batch
 * in flight at a time) and a burst costs one round trip and one transaction, not one per message.
 */
const rateLimited = {
  code: ErrorCode.rateLimited,
  message: `slow down: at most ${Limits.sendPerSecond} messages a second (bursts of ${Limits.sendBurst}); resend later`,
};

export class DeviceFrameHandlers {
  /** Per device and conversation; `session` is the device's newest socket, where the acks go. */
  private readonly outboxes = new Map<string, { pending: OutgoingMessage[]; flushing: boolean; session: DeviceSession }>();
  private readonly acks: Acknowledgements;
  /** Each user's send rate, shared by all their devices and by REST sends (admitSends). */
  readonly sendRate: TokenBuckets;

  constructor(
    private readonly env: Env,
    private readonly inbox: InboxStore,
    /** Someone's presence as the user may see it (their own last-seen setting applies). */
    private readonly asSeenBy: (userId: string, p: Presence) => Presence,
  ) {
    const rate = sendRate(env);
    this.sendRate = new TokenBuckets(rate.burst, rate.perSecond);
    this.acks = new Acknowledgements(env, inbox);
  }

  handle(session: DeviceSession, frame: ClientFrame): Promise<void> | void {
    switch (frame.type) {
      case "send_message":
        return this.send(session, frame);
      case "message_status":
        return this.status(session, frame);
      case "sync":
        return this.sync(session, frame);
      case "heartbeat":
        // Normally answered by the auto-response without waking us; this catches other spellings.
        sendFrame(session.ws, JSON.stringify({ type: "heartbeat_ack" }));
        return;
      case "typing":
        return this.typing(session, frame);
      case "presence_subscribe":
        return this.presenceSubscribe(session, frame);
    }
  }

  private send(session: DeviceSession, frame: FrameOf<"send_message">) {
    if (!this.sendRate.take(session.userId)) {
      sendFrame(session.ws, errorFrame(rateLimited, frame.client_msg_id));
      return;
    }
    const key = `${session.userId}\n${session.deviceId}\n${frame.conversation_id}`;
    let outbox = this.outboxes.get(key);
    if (!outbox) {
      outbox = { pending: [], flushing: false, session };
      this.outboxes.set(key, outbox);
    }
    // A reconnected device's resends join the flush its old socket started: their acks must go to
    // the socket that is open now, not the closed one.
    outbox.session = session;
    const { type: _t, conversation_id: _c, ...message } = frame;
    outbox.pending.push(message);
    if (!outbox.flushing) return this.flush(session, frame.conversation_id, key, outbox);
  }

  private async flush(
    session: DeviceSession,
    conversationId: string,
    key: string,
    outbox: { pending: OutgoingMessage[]; flushing: boolean; session: DeviceSession },
  ) {
    outbox.flushing = true;
    // The rest of the socket message joins the batch, and so do the frames already waiting behind
    // it: a timer fires only once the events queued before it have run. A stream of one-frame sends
    // then costs one transaction and one commit per batch, not per message.
    await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      while (outbox.pending.length > 0) {
        const batch = outbox.pending.splice(0, 500);
        let frames: string[];
        try {
          const result = await conversationStub(this.env, conversationId).sendMessages(session.userId, batch, session.deviceId);
          frames = result.ok
            ? result.value.map((o) =>
                o.ok ? JSON.stringify({ type: "message_ack", ...o.ack }) : errorFrame(o.error, o.client_msg_id),
              )
            : batch.map((m) => errorFrame(result.error, m.client_msg_id));
        } catch (err) {
          console.error(JSON.stringify({ level: "error", msg: "send failed", conversation: conversationId, error: String(err) }));
          // Nothing was acked: the client keeps these in its outbox and resends with the same ids.
          frames = batch.map((m) => errorFrame({ code: ErrorCode.internal, message: "could not store the message; retry" }, m.client_msg_id));
        }
        sendFrames(outbox.session.ws, frames, outbox.session.batched);
      }
    } finally {
      outbox.flushing = false;
      this.outboxes.delete(key);
    }
  }

  /**
   * A device acknowledges delivered or read up to a message. The device's own delivery cursor
   * moves here, at once; the user's cursor in the conversation moves (and the sender hears) only
   * when it advances past what another device of this user already reported, gathered with other
   * acknowledgements for the same conversation (acknowledgements.ts).
   */
  private status(session: DeviceSession, frame: FrameOf<"message_status">) {
    const userId = session.userId;
    const conversationId = frame.conversation_id;
    const seq = seqOfServerMsgId(frame.server_msg_id);
    const cursors = this.inbox.cursors(userId, conversationId);
    if (!cursors) {
      sendFrame(session.ws, errorFrame({ code: ErrorCode.notAMember, message: "you are not a member of this conversation" }));
      return;
    }
    if (seq === null || seq > cursors.last_seq) {
      sendFrame(session.ws, errorFrame({ code: ErrorCode.messageNotFound, message: "no such message in this conversation" }));
      return;
    }
    this.inbox.advanceDeviceCursor(userId, session.deviceId, conversationId, seq);
    if (seq <= (frame.status === "read" ? cursors.read_seq : cursors.delivered_seq)) return;
    this.acks.add(session, conversationId, { user_id: userId, status: frame.status, server_msg_id: frame.server_msg_id }, seq);
  }

  /**
   * Current presence of each requested user at once, then changes as they happen. Only people who
   * share a conversation with this user can be watched; the rest are refused in one error frame.
   */
  private async presenceSubscribe(session: DeviceSession, frame: FrameOf<"presence_subscribe">) {
    const me = session.userId;
    const ids = [...new Set(frame.user_ids)].filter((id) => id !== me);
    const allowed = ids.filter((id) => this.inbox.sharesConversationWith(me, id));
    if (allowed.length < ids.length) {
      sendFrame(
        session.ws,
        errorFrame({ code: ErrorCode.forbidden, message: `you can only watch people you share a conversation with (${ids.length - allowed.length} refused)` }),
      );
    }
    // One call per object holding watched users, not one per user.
    const homes = [...byHome(this.env, allowed, (id) => id)];
    const states = await Promise.allSettled(homes.map(([home, targets]) => homeStub(this.env, home).subscribePresence(targets, me)));
    for (const s of states) {
      if (s.status !== "fulfilled") continue;
      for (const p of s.value) sendFrame(session.ws, JSON.stringify({ type: "presence", ...this.asSeenBy(me, p) }));
    }
  }

  private async typing(session: DeviceSession, frame: FrameOf<"typing">) {
    const result = await conversationStub(this.env, frame.conversation_id).typing(session.userId, frame.status);
    if (!result.ok) sendFrame(session.ws, errorFrame(result.error));
  }

  private async sync(session: DeviceSession, frame: FrameOf<"sync">) {
    const result = await conversationStub(this.env, frame.conversation_id).history(session.userId, {
      after: frame.after_seq,
      limit: frame.limit ?? Limits.historyMaxPage,
    });
    if (!result.ok) {
      sendFrame(session.ws, errorFrame(result.error));
      return;
    }
    const frames = result.value.messages.map((m) => JSON.stringify({ type: "new_message", ...m }));
    if (frames.length > 0) sendFrames(session.ws, frames, session.batched);
  }
}
