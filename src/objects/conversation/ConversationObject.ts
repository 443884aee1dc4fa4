import { DurableObject } from "cloudflare:workers";
import { AlarmClock } from "../alarmClock";
import type { Env } from "../../env";
import { byHome, homeStub, userHome } from "../user/home";
import { ok, refuse, type Result } from "../../lib/result";
import {
  ErrorCode,
  HEARTBEAT_REQUEST,
  HEARTBEAT_RESPONSE,
  parseClientMessage,
  type Conversation,
  type DeliveryStatus,
  type HistoryQuery,
  type HistoryResponse,
  type MemberRole,
  type Receipt,
  type OutgoingMessage,
  type ProtocolError,
  CloseCode,
} from "../../protocol";
import { guarded } from "../guard";
import { CURSOR_WRITE_DELAY_MS } from "../writeBehind";
import { migrate } from "../migrations";
import { answerClose, sendFrame } from "../sockets";
import { jsonError, TOKEN_ID_HEADER, upgradeResponse, USER_ID_HEADER } from "../upgrade";
import { HistoryArchive, parseHotWindow } from "./archive";
import { LiveSockets } from "./live";
import { handleLiveFrames } from "./liveFrames";
import { TypingTracker } from "./typing";
import { Fanout, FANOUT_RETRY_MS, parseFanoutConcurrency } from "./fanout";
import * as membership from "./membership";
import { conversationMigrations } from "./migrations";
import { sendRate } from "../../lib/sendRate";
import { TokenBuckets } from "../../lib/tokenBucket";
import { SendPath, type SendOutcome } from "./sending";
import { SenderNotices } from "./receipts";
import { CursorMoves, type CursorMove, type CursorMoved } from "./cursors";
import { r2SegmentStore } from "./segments";
import { ConversationStore } from "./store";

export type { SendOutcome } from "./sending";

/**
 * One conversation: the single writer of its sequence. It stores each message before acking,
 * answers history and sync, keeps members' delivered/read cursors, and fans messages out to the
 * members' user objects. Logic lives in the store, fan-out and receipts modules.
 */
export class ConversationObject extends DurableObject<Env> {
  private readonly store: ConversationStore;
  /** History older than the hot window, in R2 (archive.ts). */
  private readonly archive: HistoryArchive;
  private readonly fanout: Fanout;
  private readonly live: LiveSockets;
  private readonly typingTracker: TypingTracker;
  private readonly notices: SenderNotices;
  private readonly alarms: AlarmClock;
  private readonly sending: SendPath;
  private readonly liveSendRate: TokenBuckets;
  private readonly cursors: CursorMoves;
  /** When a message was last stored (the alarm stands by while messages keep coming). */
  private lastAppendAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    migrate(ctx.storage, conversationMigrations);
    this.alarms = new AlarmClock(ctx);
    this.store = new ConversationStore(ctx.storage);
    this.notices = new SenderNotices(env);
    this.archive = new HistoryArchive(ctx.storage, this.store, r2SegmentStore(env.ARCHIVE), parseHotWindow(env.HISTORY_HOT_WINDOW));
    this.live = new LiveSockets(ctx);
    this.fanout = new Fanout(this.store, env, this.live, (at) => void this.scheduleAlarm(at), parseFanoutConcurrency(env.FANOUT_CONCURRENCY));
    const rate = sendRate(env);
    this.liveSendRate = new TokenBuckets(rate.burst, rate.perSecond);
    this.sending = new SendPath(env, this.store, this.fanout, (id) => this.checkMember(id), () => this.afterAppend());
    this.cursors = new CursorMoves(this.store, this.archive, this.notices, (id) => this.checkMember(id), (p) => ctx.waitUntil(p));
    this.typingTracker = new TypingTracker(this.store, env, this.live, (at) => void this.scheduleAlarm(at), (p) => ctx.waitUntil(p));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE));
    // A restart may have cut a fan-out short: finish it now rather than at the next message.
    if (this.store.exists && this.fanout.behind) ctx.waitUntil(this.fanout.publish());
  }

  /** Creates the direct conversation of a pair, or returns the one that exists. */
  async openDirect(conversationId: string, a: string, b: string): Promise<Result<{ conversation: Conversation; created: boolean }>> {
    let created = false;
    if (!this.store.exists) {
      this.store.create(
        {
          conversation_id: conversationId,
          type: "direct",
          name: null,
          members: [
            { user_id: a, role: "member" },
            { user_id: b, role: "member" },
          ],
        },
        Date.now(),
      );
      created = true;
    } else if (!this.store.member(a) || !this.store.member(b)) {
      return refuse(ErrorCode.internal, "direct conversation id collision");
    }
    const conversation = this.store.describe();
    // Idempotent: a retried create repairs a member's list if an earlier attempt was cut short.
    await this.tellJoined(conversation, [a, b]);
    return ok({ conversation, created });
  }

  /** Creates a group with the creator as its admin; `memberIds` are the others, already checked to exist. */
  async createGroup(conversationId: string, creatorId: string, name: string, memberIds: string[]): Promise<Result<Conversation>> {
    if (this.store.exists) return refuse(ErrorCode.internal, "group id collision");
    const now = Date.now();
    const others = [...new Set(memberIds)].filter((id) => id !== creatorId);
    this.store.transaction(() => {
      this.store.create(
        {
          conversation_id: conversationId,
          type: "group",
          name,
          members: [{ user_id: creatorId, role: "admin" }, ...others.map((id) => ({ user_id: id, role: "member" as const }))],
        },
        now,
      );
      this.store.appendSystem({ event: "group_created", actor: creatorId, name, user_ids: others }, now);
      this.store.saveHead();
    });
    const conversation = this.store.describe();
    await this.announce(conversation, [creatorId, ...others]);
    this.afterAppend();
    return ok(conversation);
  }

  async renameGroup(actor: string, name: string): Promise<Result<Conversation>> {
    return this.change(membership.rename(this.store, actor, name, Date.now()));
  }

  async addMembers(actor: string, userIds: string[]): Promise<Result<Conversation>> {
    const added = membership.addMembers(this.store, actor, userIds, Date.now());
    if (added.ok) await this.announce(this.store.describe(), added.value);
    return this.change(added);
  }

  async removeMember(actor: string, target: string): Promise<Result<Conversation>> {
    return this.change(membership.removeMember(this.store, actor, target, Date.now()));
  }

  async setRole(actor: string, target: string, role: MemberRole): Promise<Result<Conversation>> {
    return this.change(membership.setRole(this.store, actor, target, role, Date.now()));
  }

  /** Per-member delivered/read times of one message, for its sender and for admins. */
  async receipts(userId: string, serverMsgId: string): Promise<Result<Receipt[]>> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    const message = await this.archive.messageMeta(serverMsgId);
    if (!message || message.seq <= this.store.member(userId)!.joined_seq) {
      return refuse(ErrorCode.messageNotFound, "no such message in this conversation");
    }
    if (message.sender_id !== userId && this.store.member(userId)!.role !== "admin") {
      return refuse(ErrorCode.forbidden, "only the sender and admins can see receipts");
    }
    return ok(this.store.receipts(message.seq, message.sender_id));
  }

  private change(result: Result<unknown>): Result<Conversation> {
    if (!result.ok) return result;
    this.afterAppend();
    return ok(this.store.describe());
  }

  /** New members learn of the conversation before its fan-out reaches them (it would also recover). */
  private async announce(conversation: Conversation, userIds: string[]) {
    try {
      await this.tellJoined(conversation, userIds);
    } catch (err) {
      console.error(JSON.stringify({ level: "warn", msg: "join notice failed", conversation: conversation.conversation_id, error: String(err) }));
    }
  }

  /** One call per user object holding some of `userIds`. */
  private async tellJoined(conversation: Conversation, userIds: string[]) {
    const joins = userIds.map((id) => ({ user_id: id, joined_seq: this.store.member(id)?.joined_seq ?? 0 }));
    const results = await Promise.allSettled(
      [...byHome(this.env, joins, (j) => j.user_id)].map(([home, group]) => homeStub(this.env, home).joinConversation(conversation, group)),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  describe(userId: string): Result<Conversation> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    return ok(this.store.describe());
  }

  /** Stores a batch of one sender's messages, in order, durably before the acks (sending.ts). */
  sendMessages(
    senderId: string,
    messages: OutgoingMessage[],
    originDevice?: string,
  ): Result<SendOutcome[]> | Promise<Result<SendOutcome[]>> {
    return this.sending.send(senderId, messages, originDevice);
  }

  /** Starts fan-out of whatever was just stored, with the alarm as the safety net. */
  private afterAppend() {
    this.lastAppendAt = Date.now();
    const archiveAt = this.archive.due(Date.now());
    if (archiveAt !== null) void this.scheduleAlarm(archiveAt);
    if (!this.fanout.behind) return;
    if (!this.alarms.booked) void this.scheduleAlarm(Date.now() + FANOUT_RETRY_MS);
    this.ctx.waitUntil(this.fanout.publish());
  }

  /** A page of history, stitched from R2 segments and hot rows (archive.ts). */
  async history(userId: string, query: Pick<HistoryQuery, "before" | "after"> & { limit: number }): Promise<Result<HistoryResponse>> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    const floor = this.store.member(userId)!.joined_seq;
    const limit = query.limit;
    if (query.after !== undefined) {
      const rows = await this.archive.messagesAfter(Math.max(query.after, floor), limit + 1);
      return ok({ messages: rows.slice(0, limit), has_more: rows.length > limit });
    }
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    const rows = await this.archive.messagesBefore(before, floor, limit + 1);
    return ok({ messages: rows.slice(0, limit).reverse(), has_more: rows.length > limit });
  }

  /**
   * Moves a member's delivered or read cursor to the given message (cumulative) and tells the
   * senders of the messages it passed (cursors.ts). Returns the member's unread count after a read.
   */
  async updateCursor(userId: string, status: DeliveryStatus, serverMsgId: string): Promise<Result<CursorMoved>> {
    const [moved] = await this.cursors.apply([{ user_id: userId, status, server_msg_id: serverMsgId }]);
    return moved!;
  }

  /** Many members' moves at once: what a user object gathered from its users' devices. */
  updateCursors(moves: CursorMove[]): Promise<Result<CursorMoved>[]> {
    return this.cursors.apply(moves);
  }

  // ---- the live conversation socket ----------------------------------------

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return jsonError(426, ErrorCode.badRequest, "expected a WebSocket upgrade");
    }
    const userId = request.headers.get(USER_ID_HEADER) ?? "";
    const denied = this.checkMember(userId);
    // Refused before accepting: a non-member never gets an open socket.
    if (denied) return jsonError(denied.error.code === ErrorCode.notAMember ? 403 : 404, denied.error.code, denied.error.message);
    const pair = new WebSocketPair();
    this.live.accept(pair[1], userId, request.headers.get(TOKEN_ID_HEADER));
    return upgradeResponse(request, pair[0]);
  }

  /** The user logged out: close their live sockets (those of one token, or all of them). */
  closeSessions(userId: string, tokenId: string | null): void {
    this.live.closeUser(userId, CloseCode.revoked, "logged out", tokenId);
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const who = this.live.attachment(ws);
    if (!who) return;
    if (!this.store.member(who.user_id)) {
      this.live.closeUser(who.user_id, CloseCode.revoked, "you are no longer a member");
      return;
    }
    const frames = [];
    for (const parsed of parseClientMessage(raw)) {
      if (parsed.ok) frames.push(parsed.frame);
      else sendFrame(ws, JSON.stringify(parsed.error));
    }
    try {
      handleLiveFrames(
        {
          conversationId: () => this.store.conversationId,
          sendMessages: (sender, messages, origin) => this.sendMessages(sender, messages, origin),
          history: (user, query) => this.history(user, query),
          updateCursor: (user, status, id) => this.updateCursorAndTellUser(user, status, id),
          typing: (user, status) => this.typing(user, status),
          admitSend: (user) => this.liveSendRate.take(user),
        },
        ws,
        who,
        frames,
      );
    } catch (err) {
      // One bad frame must not poison the object or the socket.
      console.error(JSON.stringify({ level: "error", msg: "live frame failed", error: String(err) }));
      sendFrame(ws, JSON.stringify({ type: "error", code: ErrorCode.internal, message: "internal error" }));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    answerClose(ws, code, reason);
  }

  /** A cursor moved on a live socket: the user's own inbox (read state, unread count) follows. */
  private async updateCursorAndTellUser(userId: string, status: DeliveryStatus, serverMsgId: string) {
    const moved = await this.updateCursor(userId, status, serverMsgId);
    if (moved.ok) {
      const { seq, unread_count } = moved.value;
      this.ctx.waitUntil(userHome(this.env, userId).noteCursor(userId, this.store.conversationId, status, seq, unread_count));
    }
    return moved;
  }

  /** A member is typing (or stopped); see typing.ts. */
  typing(userId: string, status: "typing" | "stopped"): Result<void> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    this.typingTracker.update(userId, status, Date.now());
    return ok(undefined);
  }

  /**
   * Finishes (or retries) fan-out and records how far it got, for when no send comes to carry it,
   * and ends typing states that ran out. The alarm's own time counts as "now" for typing, so tests
   * can drive the clock by running the alarm.
   */
  override async alarm(): Promise<void> {
    const now = Math.max(Date.now(), this.alarms.fired() ?? 0);
    if (!this.store.exists) return;
    await guarded(
      "conversation alarm",
      { conversation: this.store.conversationId },
      async () => {
        const nextTyping = this.typingTracker.expire(now);
        if (nextTyping !== null) await this.scheduleAlarm(nextTyping);
        await this.fanout.publish(now);
        // While messages keep coming, each send records fan-out's progress and this alarm only
        // stands by for a crash: it is booked again, so no send has to book one (a booking is a
        // write of its own, on the message's path). Once the conversation is quiet (nothing stored
        // for a second), every member's object is asked to write what it holds, and where fan-out
        // got is recorded.
        const quiet = now - this.lastAppendAt >= CURSOR_WRITE_DELAY_MS;
        if (this.fanout.unconfirmed) await this.fanout.confirm(quiet);
        this.store.flushCursors();
        this.store.saveFanoutSeq(this.fanout.confirmedUpTo);
        // A user object that keeps failing is tried again at its own backoff.
        const retry = this.fanout.ledger.nextRetryAt();
        if (retry !== null) await this.scheduleAlarm(retry);
        else if (!quiet || this.fanout.unconfirmed || this.fanout.behind) await this.scheduleAlarm(Date.now() + FANOUT_RETRY_MS);
        // After fan-out is recorded: only what every member has may leave the hot table.
        const archiveRetry = await this.archive.run(now);
        if (archiveRetry !== null) await this.scheduleAlarm(archiveRetry);
      },
      // Whatever it was doing (fan-out, archive) is recorded as not done: the next alarm does it.
      () => this.scheduleAlarm(Date.now() + FANOUT_RETRY_MS),
    );
  }

  private checkMember(userId: string): { ok: false; error: ProtocolError } | null {
    if (!this.store.exists) return refuse(ErrorCode.conversationNotFound, "no such conversation");
    if (!this.store.member(userId)) return refuse(ErrorCode.notAMember, "you are not a member of this conversation");
    return null;
  }

  /** One alarm serves fan-out recovery, typing expiry and archive passes: the earliest time wins. */
  private scheduleAlarm(at: number): Promise<void> {
    return this.alarms.schedule(at);
  }
}
