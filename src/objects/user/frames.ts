import { TypingGate } from "../../lib/typingGate";
import { historyRateLimited, SendBlocks, sendRateLimited, SocketSyncs, syncsFull } from "../socketLimits";
import type { Env } from "../../env";
import { seqOfServerMsgId } from "../../lib/ids";
import { historyRate, sendRate } from "../../lib/sendRate";
import { TokenBuckets } from "../../lib/tokenBucket";
import {
  ErrorCode,
  Limits,
  type ClientFrame,
} from "../../protocol";
import { Acknowledgements } from "./acknowledgements";
import type { Consent } from "./consent";
import { byUserHome, conversationHome, userHomeStub } from "../homes";
import type { InboxStore } from "./inbox";
import { errorFrame, sendFrame, sendFrames } from "../sockets";
import { Outbox } from "./outbox";
import type { DeviceSession, DeviceSessions } from "./sessions";

type FrameOf<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;


/**
 * Handlers for the frames a device sends. Sends go through the outbox (outbox.ts), which ships them
 * to the conversation objects in batches, keeping each device's order; acknowledgements through
 * acknowledgements.ts.
 */

export class DeviceFrameHandlers {
  /** Typing from this object's users goes on to conversations at most as often as it can be shown. */
  private readonly typingGate = new TypingGate(Limits.typingMinIntervalMs);
  private readonly sendBlocks = new SendBlocks();
  private readonly syncs = new SocketSyncs();
  /** Presence watches per user, counted per watched user. */
  private readonly presenceWatches = new TokenBuckets(Limits.presenceWatchBurst, Limits.presenceWatchesPerSecond);
  /** History and sync requests per user, from every socket and REST (UserObject.admitHistory). */
  readonly historyRate: TokenBuckets;
  private readonly outbox: Outbox;
  private readonly acks: Acknowledgements;
  /** Each user's send rate, shared by all their devices and by REST sends and live sockets (UserObject.admitSendsUpTo). */
  readonly sendRate: TokenBuckets;

  constructor(
    private readonly env: Env,
    private readonly inbox: InboxStore,
    sessions: DeviceSessions,
    /** Presence as each user may see it, and the contacts a user's sends make. */
    private readonly consent: Pick<Consent, "asSeenBy" | "noteWrite">,
  ) {
    const rate = sendRate(env);
    this.sendRate = new TokenBuckets(rate.burst, rate.perSecond);
    const history = historyRate(env);
    this.historyRate = new TokenBuckets(history.burst, history.perSecond);
    this.acks = new Acknowledgements(env, inbox);
    this.outbox = new Outbox(env, (userId, deviceId) => sessions.current(userId, deviceId));
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

  /**
   * Over the rate, a send is refused (the client sends it again later with the same id) and so is
   * every later send on this socket until that one comes back: otherwise a message sent after it,
   * finding a token refilled, would be stored first. The block lapses after a while in case the
   * client gave the message up.
   */
  private send(session: DeviceSession, frame: FrameOf<"send_message">) {
    const now = Date.now();
    const blocker = this.sendBlocks.blocker(session.ws, now);
    if (blocker !== undefined && blocker !== frame.client_msg_id) return void sendFrame(session.ws, errorFrame(sendRateLimited, frame.client_msg_id));
    if (!this.sendRate.take(session.userId)) {
      this.sendBlocks.block(session.ws, frame.client_msg_id, now);
      sendFrame(session.ws, errorFrame(sendRateLimited, frame.client_msg_id));
      return;
    }
    if (blocker !== undefined) this.sendBlocks.release(session.ws);
    const { type: _t, conversation_id: conversationId, ...message } = frame;
    this.consent.noteWrite(session.userId, conversationId);
    this.outbox.add(session, conversationId, message);
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
    // Each watch is a call into the watched user's object and a row there: bounded per watcher.
    if (allowed.length > 0 && !this.presenceWatches.take(me, allowed.length)) {
      sendFrame(
        session.ws,
        errorFrame({ code: ErrorCode.rateLimited, message: `slow down: at most ${Limits.presenceWatchesPerSecond} presence watches a second (bursts of ${Limits.presenceWatchBurst})` }),
      );
      return;
    }
    if (allowed.length < ids.length) {
      sendFrame(
        session.ws,
        errorFrame({ code: ErrorCode.forbidden, message: `you can only watch people you share a conversation with (${ids.length - allowed.length} refused)` }),
      );
    }
    // One call per object holding watched users, not one per user.
    const homes = [...byUserHome(this.env, allowed, (id) => id)];
    const states = await Promise.allSettled(homes.map(([home, targets]) => userHomeStub(this.env, home).subscribePresence(targets, me)));
    for (const s of states) {
      if (s.status !== "fulfilled") continue;
      for (const p of s.value) sendFrame(session.ws, JSON.stringify({ type: "presence", ...this.consent.asSeenBy(me, p) }));
    }
  }

  private async typing(session: DeviceSession, frame: FrameOf<"typing">) {
    // Dropped here, before the call: what arrives faster than it could be shown costs nothing further.
    if (!this.typingGate.pass(`${session.userId}\n${frame.conversation_id}`, frame.status, Date.now())) return;
    const result = await conversationHome(this.env, frame.conversation_id).typing(frame.conversation_id, session.userId, frame.status);
    if (!result.ok) sendFrame(session.ws, errorFrame(result.error));
  }

  /**
   * One `sync` at a time per socket (the rest wait their turn, up to a few), each drawing on the
   * user's history budget: a client cannot pull pages faster than it reads them.
   */
  private sync(session: DeviceSession, frame: FrameOf<"sync">): Promise<void> | void {
    if (!this.historyRate.take(session.userId)) return void sendFrame(session.ws, errorFrame(historyRateLimited));
    const run = this.syncs.run(session.ws, () => this.syncNow(session, frame));
    if (!run) return void sendFrame(session.ws, errorFrame(syncsFull));
    return run;
  }

  private async syncNow(session: DeviceSession, frame: FrameOf<"sync">) {
    const result = await conversationHome(this.env, frame.conversation_id).history(frame.conversation_id, session.userId, {
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
