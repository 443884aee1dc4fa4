import { DurableObject } from "cloudflare:workers";
import { AlarmClock } from "../alarmClock";
import { conversationStub, userStub, type Env } from "../../env";
import { ok, refuse, type Result } from "../../lib/result";
import {
  CloseCode,
  ErrorCode,
  HEARTBEAT_REQUEST,
  HEARTBEAT_RESPONSE,
  Limits,
  parseClientMessage,
  Subprotocol,
  type ClientFrame,
  type Conversation,
  type ConversationSummary,
  type DeliveryStatus,
  type Presence,
  type PushSubscriptionBody,
  type UpdateMeBody,
  type User,
  type UserSettings,
} from "../../protocol";
import type { DeliveryBatch, DeliveryReceipt } from "../delivery";
import { guarded } from "../guard";
import { migrate } from "../migrations";
import { answerClose, errorFrame, sendFrame } from "../sockets";
import { jsonError, SUBPROTOCOL_HEADER, TOKEN_ID_HEADER, upgradeResponse, USER_ID_HEADER } from "../upgrade";
import { Delivery } from "./delivery";
import { DeviceFrameHandlers } from "./frames";
import { InboxStore } from "./inbox";
import { PresenceKeeper } from "./presence";
import { PushNotifier } from "./push";
import { userMigrations } from "./migrations";
import { DeviceSessions, tokenTag, type DeviceSession } from "./sessions";
import { TokenLedger } from "./tokens";


/**
 * How many times a user object has been constructed in this isolate. Tests use it to prove that an
 * idle device socket's heartbeats are answered without waking (re-constructing) the object.
 */
export const userObjectConstructions = { count: 0 };

/**
 * One user: their device sockets, delivery cursors and inbox (the conversation list). A shell over
 * the inbox store, the delivery logic and the frame handlers.
 */
export class UserObject extends DurableObject<Env> {
  private readonly inbox: InboxStore;
  private readonly sessions: DeviceSessions;
  private readonly delivery: Delivery;
  private readonly frames: DeviceFrameHandlers;
  private readonly presence: PresenceKeeper;
  private readonly push: PushNotifier;
  private readonly tokens: TokenLedger;
  private cachedUserId: string | null = null;
  private readonly alarms: AlarmClock;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    userObjectConstructions.count++;
    migrate(ctx.storage, userMigrations);
    this.alarms = new AlarmClock(ctx);
    this.inbox = new InboxStore(ctx.storage);
    this.sessions = new DeviceSessions(ctx);
    const userId = () => this.userId();
    this.tokens = new TokenLedger(ctx.storage);
    this.push = new PushNotifier(ctx.storage, env, this.inbox, this.sessions, userId, (at) => void this.scheduleAlarm(at), (p) => ctx.waitUntil(p));
    this.delivery = new Delivery(env, userId, this.inbox, this.sessions, (conversationId, messages) =>
      this.push.noteUndelivered(conversationId, messages, Date.now()),
    );
    this.presence = new PresenceKeeper(ctx, env, this.inbox, this.sessions, userId, (at) => void this.scheduleAlarm(at));
    this.frames = new DeviceFrameHandlers(env, userId, this.inbox, (p) => this.asSeenByMe(p));
    // Heartbeats are answered by the runtime itself, so an idle socket never wakes the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE));
  }

  private userId(): string {
    this.cachedUserId ??= this.inbox.profile()?.user_id ?? null;
    if (!this.cachedUserId) throw new Error("user object has no profile");
    return this.cachedUserId;
  }

  // ---- RPC ---------------------------------------------------------------

  createProfile(user: User): void {
    this.inbox.createProfile(user, Date.now());
  }

  profile(): User | null {
    return this.inbox.profile();
  }

  /** `joinedSeq`: the member sees messages after it, so deliveries start there without a gap to fill. */
  joinConversation(conversation: Conversation, joinedSeq = 0): void {
    this.inbox.join(conversation, joinedSeq);
  }

  /** The user's cursor moved somewhere other than a device socket (a live conversation socket). */
  noteCursor(conversationId: string, status: DeliveryStatus, seq: number, unreadCount: number | null): void {
    if (status === "read") this.inbox.setRead(conversationId, seq, unreadCount ?? 0);
    else this.inbox.setDelivered(conversationId, seq);
  }

  updateSettings(changes: UpdateMeBody): User | null {
    if (changes.last_seen_visible !== undefined) this.inbox.setLastSeenVisible(changes.last_seen_visible);
    if (changes.push_previews !== undefined) this.push.setPreviews(changes.push_previews);
    return this.inbox.profile();
  }

  // ---- presence ------------------------------------------------------------

  /** Another user subscribes to this user's presence: renewed by subscribing again. */
  subscribePresence(subscriberId: string): Presence {
    this.inbox.subscribePresence(subscriberId, Date.now() + Limits.presenceSubscriptionMs);
    return this.presence.current();
  }

  presenceSnapshot(): Presence {
    return this.presence.current();
  }

  /**
   * A watched user's presence changed: show it on this user's devices. Answers whether any device
   * saw it; with none connected the watch is dropped (the app watches again when it reconnects).
   */
  presenceChanged(p: Presence): boolean {
    if (!this.presence.isOnline()) return false;
    this.pushFrames([JSON.stringify({ type: "presence", ...this.asSeenByMe(p) })]);
    return true;
  }

  /** Someone's presence as this user may see it, for `GET /users/{id}/presence`. */
  async presenceOf(targetId: string): Promise<Result<Presence>> {
    if (!this.inbox.sharesConversationWith(targetId)) {
      return refuse(ErrorCode.forbidden, "you can only see the presence of people you share a conversation with");
    }
    return ok(this.asSeenByMe(await userStub(this.env, targetId).presenceSnapshot()));
  }

  /** As in WhatsApp: who hides their last seen cannot see anyone else's. */
  private asSeenByMe(p: Presence): Presence {
    return this.inbox.presenceSettings().last_seen_visible ? p : { ...p, last_seen: null };
  }

  override async alarm(): Promise<void> {
    const now = Math.max(Date.now(), this.alarms.fired() ?? 0);
    if (!this.inbox.profile()) return;
    await guarded(
      "user alarm",
      { user: this.userId() },
      async () => {
        this.presence.checkLiveness(now);
        this.presence.continueBroadcast(now);
        const nextPush = this.push.flushDue(now);
        if (nextPush !== null) await this.scheduleAlarm(nextPush);
      },
      // Presence checks and coalesced pushes are recomputed from storage: just look again soon.
      () => this.scheduleAlarm(Date.now() + 5_000),
    );
  }

  conversationCount(): number {
    return this.inbox.count();
  }

  /**
   * Whether this user can be put in `conversationId`: null if there is no such user; else whether
   * they are in it already, and in how many conversations in all.
   */
  joinable(conversationId: string | null): { member: boolean; conversations: number } | null {
    if (!this.inbox.profile()) return null;
    return { member: conversationId !== null && this.inbox.has(conversationId), conversations: this.inbox.count() };
  }

  /** REST sends draw on the same per-user rate as socket sends. */
  admitSends(count: number): boolean {
    return this.frames.sendRate.take(count);
  }

  // ---- sessions (tokens.ts) ----

  tokenGeneration(): number {
    return this.tokens.generation();
  }

  sessionValid(jti: string, generation: number): boolean {
    return this.tokens.valid(jti, generation);
  }

  /** Logs one token out: it stops working, and the sockets it opened close (4003). */
  logout(jti: string, expiresAt: number): void {
    this.tokens.revoke(jti, expiresAt, Date.now());
    this.closeSockets(tokenTag(jti), jti);
  }

  /** Logs every device out: all tokens issued so far stop working, and every socket closes. */
  logoutEverywhere(): number {
    const generation = this.tokens.revokeAll();
    this.closeSockets(null, null);
    return generation;
  }

  private closeSockets(tag: string | null, jti: string | null): void {
    for (const ws of tag ? this.ctx.getWebSockets(tag) : this.ctx.getWebSockets()) {
      try {
        ws.close(CloseCode.revoked, "logged out");
      } catch {
        /* already closed */
      }
    }
    // Live conversation sockets are held by the conversations: ask each one this user is in.
    const userId = this.userId();
    for (const c of this.inbox.list()) {
      this.ctx.waitUntil(conversationStub(this.env, c.conversation_id).closeSessions(userId, jti).catch(() => {}));
    }
  }

  // ---- push notifications (push.ts) ----

  settings(): UserSettings {
    return { last_seen_visible: this.inbox.presenceSettings().last_seen_visible, push_previews: this.push.previewsAllowed() };
  }

  subscribePush(body: PushSubscriptionBody): Result<void> {
    if (!this.inbox.profile()) return refuse(ErrorCode.userNotFound, "your account no longer exists");
    return this.push.subscribe(body, Date.now());
  }

  unsubscribePush(deviceId: string): boolean {
    return this.push.unsubscribe(deviceId);
  }

  forgetPushEndpoint(deviceId: string, endpoint: string): void {
    this.push.forgetEndpoint(deviceId, endpoint);
  }

  noteDeadPush(job: unknown): void {
    this.push.noteDeadLetter(job, Date.now());
  }

  pushStats(): { subscriptions: number; dead_letters: number } {
    return { subscriptions: this.push.subscriptionCount(), dead_letters: this.push.deadLetters() };
  }

  /** One alarm serves presence checks and push windows: the earliest time wins. */
  private scheduleAlarm(at: number): Promise<void> {
    return this.alarms.schedule(at);
  }

  listConversations(): ConversationSummary[] {
    return this.inbox.list();
  }

  deliver(batch: DeliveryBatch): Promise<DeliveryReceipt> {
    return this.delivery.deliver(batch);
  }

  /** Fan-out asks: write the held inbox changes of this conversation, and say how far they go. */
  confirmDelivered(conversationId: string): DeliveryReceipt {
    return this.delivery.confirm(conversationId);
  }

  /** Frames for every connected device of this user (e.g. receipts for their messages). */
  pushFrames(frames: string[]): void {
    for (const session of this.sessions.all()) for (const f of frames) sendFrame(session.ws, f);
  }

  // ---- device sockets ------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return jsonError(426, ErrorCode.badRequest, "expected a WebSocket upgrade");
    }
    const userId = request.headers.get(USER_ID_HEADER);
    const deviceId = new URL(request.url).searchParams.get("device_id") ?? "";
    if (!userId || userId !== this.inbox.profile()?.user_id) {
      return jsonError(401, ErrorCode.unauthorized, "unknown user");
    }
    if (!Limits.deviceIdPattern.test(deviceId)) {
      return jsonError(400, ErrorCode.badRequest, "device_id must be 1-64 characters of A-Z, a-z, 0-9, _ and -");
    }
    if (!this.inbox.deviceAllowed(deviceId, Limits.devicesPerUser, Date.now())) {
      return jsonError(429, ErrorCode.rateLimited, `at most ${Limits.devicesPerUser} devices per account in 30 days`);
    }
    // One socket per device: a reconnect replaces the old socket rather than doubling deliveries.
    for (const old of this.sessions.ofDevice(deviceId)) {
      try {
        old.close(CloseCode.replaced, "replaced by a newer connection");
      } catch {
        /* already closing */
      }
    }
    const wasOnline = this.presence.isOnline();
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    const now = Date.now();
    const batched = request.headers.get(SUBPROTOCOL_HEADER) === Subprotocol.batched;
    const session = this.sessions.accept(server, { user_id: userId, device_id: deviceId, connected_at: now, batched }, request.headers.get(TOKEN_ID_HEADER));
    this.inbox.touchDevice(deviceId, now);
    this.presence.connected(wasOnline, now);
    this.push.deviceConnected();
    this.ctx.waitUntil(this.delivery.replay(session));
    return upgradeResponse(request, client);
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const session = this.sessions.get(ws);
    if (!session) return;
    this.presence.noteFrame(ws, Date.now());
    // Frames of one socket message start in order without waiting for each other, so a batch of
    // sends reaches the outbox whole and is stored in one transaction.
    const handling = parseClientMessage(raw).map((parsed) => {
      if (!parsed.ok) {
        sendFrame(ws, JSON.stringify(parsed.error));
        return null;
      }
      return this.handleFrame(session, parsed.frame);
    });
    await Promise.all(handling);
  }

  /** One bad frame must not poison the object or the socket: log it, tell the client little. */
  private async handleFrame(session: DeviceSession, frame: ClientFrame): Promise<void> {
    try {
      await this.frames.handle(session, frame);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "frame handler failed", frame: frame.type, error: String(err) }));
      const clientMsgId = frame.type === "send_message" ? frame.client_msg_id : undefined;
      sendFrame(session.ws, errorFrame({ code: ErrorCode.internal, message: "internal error" }, clientMsgId));
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // The close is always answered, whatever the bookkeeping does.
    answerClose(ws, code, reason);
    await guarded("device socket close", { user: this.cachedUserId }, async () => {
      const session = this.sessions.get(ws);
      if (session) this.inbox.touchDevice(session.deviceId, Date.now());
      this.presence.maybeGone(Date.now());
    });
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    console.error(JSON.stringify({ level: "warn", msg: "device socket error", error: String(error) }));
  }
}
