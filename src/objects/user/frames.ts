import { TypingGate } from "../../lib/typingGate";
import type { Env } from "../../env";
import { seqOfServerMsgId } from "../../lib/ids";
import { ok, refuse } from "../../lib/result";
import { historyRate, sendRate } from "../../lib/sendRate";
import { TokenBuckets } from "../../lib/tokenBucket";
import { ErrorCode, Limits, type ClientFrame } from "../../protocol";
import { FrameCore, type AdmittedSend, type FramePort } from "../frameCore";
import { Acknowledgements } from "./acknowledgements";
import type { Consent } from "./consent";
import type { ConversationSettingsStore } from "./conversationSettings";
import { byUserHome, conversationHome, userHomeStub } from "../homes";
import type { InboxStore } from "./inbox";
import { errorFrame, sendFrame } from "../sockets";
import { Outbox } from "./outbox";
import type { DeviceSession, DeviceSessions } from "./sessions";

type FrameOf<T extends ClientFrame["type"]> = Extract<ClientFrame, { type: T }>;

/**
 * The device socket's port on the frame core (../frameCore.ts): sends go through the outbox
 * (outbox.ts), which ships them to the conversation objects in batches, keeping each device's
 * order; acknowledgements through acknowledgements.ts; sync pages, typing and presence by RPC.
 */
export class DeviceFrameHandlers implements FramePort<DeviceSession> {
  readonly scope = null;
  /** Typing from this object's users goes on to conversations at most as often as it can be shown. */
  private readonly typingGate = new TypingGate(Limits.typingMinIntervalMs);
  /** Presence watches per user, counted per watched user. */
  private readonly presenceWatches = new TokenBuckets(Limits.presenceWatchBurst, Limits.presenceWatchesPerSecond);
  /** History and sync requests per user, from every socket and REST (UserObject.admitHistory). */
  readonly historyRate: TokenBuckets;
  private readonly outbox: Outbox;
  private readonly acks: Acknowledgements;
  /** Each user's send rate, shared by all their devices and by REST sends and live sockets (UserObject.admitSendsUpTo). */
  readonly sendRate: TokenBuckets;
  readonly core = new FrameCore<DeviceSession>(this, "device");

  constructor(
    private readonly env: Env,
    private readonly inbox: InboxStore,
    sessions: DeviceSessions,
    /** Presence as each user may see it, and the contacts a user's sends make. */
    private readonly consent: Pick<Consent, "asSeenBy" | "noteWrite">,
    /** A read acknowledgement ends the user's "mark as unread" of the conversation. */
    private readonly settings: Pick<ConversationSettingsStore, "read">,
  ) {
    const rate = sendRate(env);
    this.sendRate = new TokenBuckets(rate.burst, rate.perSecond);
    const history = historyRate(env);
    this.historyRate = new TokenBuckets(history.burst, history.perSecond);
    this.acks = new Acknowledgements(env, inbox);
    this.outbox = new Outbox(env, sessions);
  }

  admitSends(session: DeviceSession, conversationIds: string[]): number {
    const granted = this.sendRate.takeUpTo(session.userId, conversationIds.length);
    for (const id of new Set(conversationIds.slice(0, granted))) this.consent.noteWrite(session.userId, id);
    return granted;
  }

  /** Acks come back through the outbox, to the device's socket open when the conversation answers. */
  store(session: DeviceSession, sends: AdmittedSend[]): null {
    for (const s of sends) this.outbox.add(session, s.conversationId, s.message);
    return null;
  }

  /**
   * A device acknowledges delivered or read up to a message. The device's own delivery cursor
   * moves here, at once; the user's cursor in the conversation moves (and the sender hears) only
   * when it advances past what another device of this user already reported, gathered with other
   * acknowledgements for the same conversation (acknowledgements.ts).
   */
  status(session: DeviceSession, frame: FrameOf<"message_status">) {
    const userId = session.userId;
    const conversationId = frame.conversation_id;
    const seq = seqOfServerMsgId(frame.server_msg_id);
    const cursors = this.inbox.cursors(userId, conversationId);
    if (!cursors) return refuse(ErrorCode.notAMember, "you are not a member of this conversation");
    if (seq === null || seq > cursors.last_seq) return refuse(ErrorCode.messageNotFound, "no such message in this conversation");
    this.inbox.advanceDeviceCursor(userId, session.deviceId, conversationId, seq);
    if (frame.status === "read") this.settings.read(userId, conversationId);
    if (seq > (frame.status === "read" ? cursors.read_seq : cursors.delivered_seq)) {
      this.acks.add(session, conversationId, { user_id: userId, status: frame.status, server_msg_id: frame.server_msg_id }, seq);
    }
    return ok(undefined);
  }

  admitHistory(session: DeviceSession): boolean {
    return this.historyRate.take(session.userId);
  }

  history(session: DeviceSession, conversationId: string, query: { after: number; limit: number }) {
    return conversationHome(this.env, conversationId).history(conversationId, session.userId, query);
  }

  /** Dropped here, before the call: what arrives faster than it could be shown costs nothing further. */
  typing(session: DeviceSession, frame: FrameOf<"typing">) {
    if (!this.typingGate.pass(`${session.userId}\n${frame.conversation_id}`, frame.status, Date.now())) return null;
    return conversationHome(this.env, frame.conversation_id).typing(frame.conversation_id, session.userId, frame.status);
  }

  /**
   * Current presence of each requested user at once, then changes as they happen. Only people who
   * share a conversation with this user can be watched; the rest are refused in one error frame.
   */
  readonly presenceSubscribe = async (session: DeviceSession, frame: FrameOf<"presence_subscribe">) => {
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
      // A home that failed to answer leaves those users' presence unknown until their next change.
      if (s.status !== "fulfilled") continue;
      for (const p of s.value) sendFrame(session.ws, JSON.stringify({ type: "presence", ...this.consent.asSeenBy(me, p) }));
    }
  };
}
