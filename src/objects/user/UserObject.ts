import { DurableObject } from "cloudflare:workers";
import type { TaskKind } from "../alarms";
import { objectContext, type ObjectContext } from "../context";
import type { Env } from "../../env";
import { log, setLogLevel, type LogFields } from "../../lib/log";
import { ok, refuse, type Result } from "../../lib/result";
import {
  CloseCode,
  ErrorCode,
  HEARTBEAT_REQUEST,
  HEARTBEAT_RESPONSE,
  Limits,
  Subprotocol,
  type Conversation,
  type ConversationSettings,
  type ConversationSummary,
  type DeliveryStatus,
  type Invitation,
  type MarksResponse,
  type Presence,
  type PushSubscriptionBody,
  type UpdateConversationSettingsBody,
  type UpdateMeBody,
  type User,
  type UserSettings,
} from "../../protocol";
import type { DeliveryBatch, DeliveryReceipt } from "../delivery";
import { guarded } from "../guard";
import { groupChangeRate } from "../../lib/sendRate";
import { TokenBuckets } from "../../lib/tokenBucket";
import { closeSocket, sendFrame } from "../sockets";
import { jsonError, SUBPROTOCOL_HEADER, TOKEN_ID_HEADER, upgradeResponse, USER_ID_HEADER } from "../upgrade";
import { Delivery } from "./delivery";
import { DeviceFrameHandlers } from "./frames";
import { exportUser, forgetUserRows, importUser, type UserBundle } from "./handover";
import { conversationHome, userHomeName, userHome } from "../homes";
import { ConversationSettingsStore } from "./conversationSettings";
import { Consent, hiddenPresence, type JoinRequest, type JoinVerdict } from "./consent";
import { InboxStore } from "./inbox";
import { MessageMarks, type MarkedMessage, type StarredMark } from "./marks";
import { userMigrations } from "./migrations";
import { PresenceKeeper } from "./presence";
import { Profiles } from "./profiles";
import { photoErasure } from "../photoErasure";
import { ProfileViews } from "./profileViews";
import { ReadReceiptsSync } from "./readReceipts";
import { PushNotifier } from "./push";
import { DeviceSessions } from "./sessions";
import { TokenLedger } from "./tokens";
import { UploadLedger } from "./uploads";
import type { SessionGrant } from "../../auth/tokens";

/**
 * The home of a shard of users (one user when USER_SHARDS is unset; see ../homes.ts): their device
 * sockets, presence, delivery cursors, inboxes (conversation lists), sessions and push
 * notifications. Every method names the user it is about. A shell over the modules beside it.
 */
export class UserObject extends DurableObject<Env> {
  /** What the modules share: storage, the lazy schema, the alarm tasks, waitUntil. */
  readonly #object: ObjectContext;
  readonly #profiles: Profiles;
  readonly #readReceipts: ReadReceiptsSync;
  readonly #profileViews: ProfileViews;
  readonly #photos: { erase(mediaId: string): void };
  readonly #inbox: InboxStore;
  readonly #consent: Consent;
  readonly #sessions: DeviceSessions;
  readonly #delivery: Delivery;
  readonly #frames: DeviceFrameHandlers;
  /** Group creations and member adds per adder (in memory: an eviction only ever lets a user act sooner). */
  readonly #groupChanges: TokenBuckets;
  readonly #presence: PresenceKeeper;
  readonly #push: PushNotifier;
  readonly #tokens: TokenLedger;
  readonly #uploads: UploadLedger;
  readonly #marks: MessageMarks;
  readonly #conversationSettings: ConversationSettingsStore;
  /** The alarm task that ends sessions past their lifetime (tokens.ts) and closes their sockets. */
  readonly #sessionEnds: TaskKind;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    setLogLevel(env.LOG_LEVEL);
    // A lookup of an id that names nobody must leave nothing behind: the schema is made with the
    // first write (a profile, or a user moved here), not on construction.
    this.#object = objectContext(ctx, env, userMigrations);
    const object = this.#object;
    this.#profiles = new Profiles(object);
    this.#inbox = new InboxStore(object);
    this.#consent = new Consent(object, this.#profiles, this.#inbox);
    this.#readReceipts = new ReadReceiptsSync(object, this.#profiles, this.#inbox);
    // A photo set again before its deletion ran is kept.
    this.#photos = photoErasure(object, (mediaId) => this.ctx.storage.sql.exec("SELECT 1 FROM users WHERE photo_media_id = ?", mediaId).toArray().length > 0);
    this.#sessions = new DeviceSessions(object);
    this.#tokens = new TokenLedger(object);
    this.#uploads = new UploadLedger(object);
    this.#marks = new MessageMarks(object, this.#sessions);
    this.#conversationSettings = new ConversationSettingsStore(object, this.#sessions);
    this.#push = new PushNotifier(object, this.#profiles, this.#inbox, this.#sessions, this.#conversationSettings);
    this.#delivery = new Delivery(object, this.#profiles, this.#inbox, this.#sessions, this.#push, this.#conversationSettings);
    this.#presence = new PresenceKeeper(object, this.#profiles, this.#sessions, this.#consent);
    this.#profileViews = new ProfileViews(object, this.#profiles, this.#consent, this.#sessions, this.#presence);
    this.#sessionEnds = object.alarms.define("sessions", (now) => this.endExpiredSessions(now));
    const groupRate = groupChangeRate(env);
    this.#groupChanges = new TokenBuckets(groupRate.burst, groupRate.perSecond);
    this.#frames = new DeviceFrameHandlers(env, this.#inbox, this.#sessions, this.#consent, this.#conversationSettings);
    // Heartbeats are answered by the runtime itself, so an idle socket never wakes the object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE));
  }

  // ---- profile and settings ------------------------------------------------

  createProfile(user: User): void {
    this.#object.schema.ensure();
    this.#profiles.create(user, Date.now());
  }

  profile(userId: string): User | null {
    return this.#profiles.get(userId);
  }

  /** The profiles of those of `userIds` held here, as `viewerId` may see them (search's "people"). */
  profilesOf(userIds: string[], viewerId: string): User[] {
    return userIds.flatMap((id) => this.profileFor(id, viewerId) ?? []);
  }

  settings(userId: string): UserSettings {
    return {
      last_seen_visible: this.#profiles.presenceSettings(userId).last_seen_visible,
      push_previews: this.#profiles.pushPreviews(userId),
      groups_add: this.#consent.groupsAdd(userId),
      presence_visible_to: this.#consent.presenceVisibleTo(userId),
      keep_archived: this.#conversationSettings.keepArchived(userId),
      ...this.#profiles.privacy(userId),
    };
  }

  /** The user's profile as `viewerId` may see it (profileViews.ts). */
  profileFor(userId: string, viewerId: string): User | null {
    return this.#profileViews.seenBy(userId, viewerId);
  }

  /** Whether `viewerId` may load `mediaId` as the user's photo: it is their photo now, and shown to the viewer. */
  showsPhoto(userId: string, viewerId: string, mediaId: string): boolean {
    return this.profileFor(userId, viewerId)?.photo?.media_id === mediaId;
  }

  /** Profile, privacy and settings changes; a replaced photo's media is deleted from the alarm. */
  updateSettings(userId: string, changes: UpdateMeBody): User | null {
    if (!this.#profiles.has(userId)) return null;
    const edit = this.#profiles.edit(userId, changes);
    if (changes.last_seen_visible !== undefined) this.#profiles.setLastSeenVisible(userId, changes.last_seen_visible);
    if (changes.push_previews !== undefined) this.#profiles.setPushPreviews(userId, changes.push_previews);
    if (changes.groups_add !== undefined) this.#consent.setGroupsAdd(userId, changes.groups_add);
    if (changes.keep_archived !== undefined) this.#conversationSettings.setKeepArchived(userId, changes.keep_archived);
    if (changes.presence_visible_to !== undefined) {
      this.#consent.setPresenceVisibleTo(userId, changes.presence_visible_to);
      // Watchers learn at once: those no longer allowed see the user offline from now on.
      this.#presence.broadcast(userId, true);
    }
    const user = this.#profiles.get(userId)!;
    this.#profileViews.changed(userId, edit.seenByOthers);
    // Each conversation keeps a copy of the read-receipts switch; the alarm tells them all (readReceipts.ts).
    if (edit.readReceipts !== null) this.#readReceipts.switched(userId);
    if (edit.replacedPhoto) this.#photos.erase(edit.replacedPhoto);
    return user;
  }

  // ---- conversations -------------------------------------------------------

  /** Members (of this object) joined a conversation: each sees messages after their `joined_seq`. */
  /** Returns each joiner's read-receipts setting: the conversation keeps a copy. */
  joinConversation(conversation: Conversation, joins: { user_id: string; joined_seq: number }[]): { user_id: string; read_receipts: boolean }[] {
    const settings: { user_id: string; read_receipts: boolean }[] = [];
    for (const j of joins) {
      if (!this.#profiles.has(j.user_id)) continue;
      this.#inbox.join(j.user_id, conversation, j.joined_seq);
      this.#consent.joined(j.user_id, conversation.conversation_id);
      settings.push({ user_id: j.user_id, read_receipts: this.#profiles.privacy(j.user_id).read_receipts });
    }
    return settings;
  }

  listConversations(userId: string, page: { limit: number; cursor?: string; archived: boolean }): { conversations: ConversationSummary[]; next: string | null } {
    return this.#inbox.list(userId, page);
  }

  /** Archives or unarchives conversations in the user's list; returns the ones in it. */
  archiveConversations(userId: string, conversationIds: string[], archived: boolean): string[] {
    return this.#conversationSettings.setArchived(userId, conversationIds, archived, Date.now());
  }

  /** The user's own settings for a conversation in their list (mute, pin, mark as unread, archive). */
  updateConversationSettings(userId: string, conversationId: string, changes: UpdateConversationSettingsBody): Result<ConversationSettings> {
    return this.#conversationSettings.update(userId, conversationId, changes, Date.now());
  }

  // ---- consent (consent.ts) --------------------------------------------------

  /** Decides adds of users held here, each taking its place when it may go ahead (see Consent.admit). */
  admitJoins(requests: JoinRequest[]): JoinVerdict[] {
    const now = Date.now();
    return requests.map((r) => this.#consent.admit(r, now));
  }

  /** Adds that did not happen after all: their places are free again. */
  releaseJoins(joins: { user_id: string; conversation_id: string }[]): void {
    for (const j of joins) this.#consent.release(j.user_id, j.conversation_id);
  }

  /** The user started a chat with, or put in a group, these people. */
  noteContacts(userId: string, contactIds: string[]): void {
    this.#consent.addContacts(userId, contactIds);
  }

  /**
   * Invitations to users held here; each is shown at once on the invitee's connected devices.
   * Answers, per invitation, whether it was recorded (false: the invitee holds too many).
   */
  invite(invitations: { user_id: string; conversation_id: string; name: string | null; inviter_id: string }[]): boolean[] {
    const now = Date.now();
    return invitations.map((i) => {
      if (!this.#profiles.has(i.user_id)) return false;
      const invitation = this.#consent.invite(i.user_id, i.conversation_id, i.name, i.inviter_id, now);
      if (invitation === "dropped") return true;
      if (!invitation) return false;
      const frame = JSON.stringify({ type: "invitation", invitation });
      for (const session of this.#sessions.ofUser(i.user_id)) sendFrame(session.ws, frame);
      return true;
    });
  }

  /**
   * The user blocks or unblocks `otherId`. A watch of the user's presence by them ends (they see the
   * user offline from then on). Answers whether the user has the direct chat with them, which the
   * route then tells (it keeps their messages from the user while the block lasts).
   */
  setBlocked(userId: string, otherId: string, blocked: boolean, directId: string): { changed: boolean; direct: boolean } | null {
    if (!this.#profiles.has(userId)) return null;
    const changed = this.#consent.setBlocked(userId, otherId, blocked, Date.now());
    if (blocked) this.#presence.unsubscribe(userId, otherId);
    return { changed, direct: this.#inbox.has(userId, directId) };
  }

  blocked(userId: string): string[] {
    return this.#consent.blocked(userId);
  }

  /** Whether the user blocked `otherId` (asked when a direct chat between them is first opened). */
  blocks(userId: string, otherId: string): boolean {
    return this.#consent.blocks(userId, otherId);
  }

  invitations(userId: string): Invitation[] {
    return this.#consent.invitations(userId, Date.now());
  }

  /**
   * The user accepts an invitation: answers it (for the conversation to check) with a place taken in
   * the user's own cap, or why not. The invitation is used up when the join arrives.
   */
  acceptInvitation(userId: string, conversationId: string): Result<Invitation> {
    const now = Date.now();
    const invitation = this.#consent.invitation(userId, conversationId, now);
    if (!invitation) return refuse(ErrorCode.invitationNotFound, "no pending invitation to that conversation");
    const verdict = this.#consent.admit({ user_id: userId, conversation_id: conversationId, adder_id: userId, group: true }, now);
    if (verdict === "own_limit") return refuse(ErrorCode.tooManyConversations, `you are in ${Limits.conversationsPerUser} conversations: leave some first`);
    if (verdict === "member") this.#consent.dropInvitation(userId, conversationId);
    return ok(invitation);
  }

  declineInvitation(userId: string, conversationId: string): boolean {
    return this.#consent.dropInvitation(userId, conversationId);
  }

  /** Whether the user may read another page of history now (REST and live sockets ask; device sockets draw directly). */
  admitHistory(userId: string): boolean {
    return this.#frames.historyRate.take(userId);
  }

  /** Whether the user may create a group or add members now (one rate per adder). */
  admitGroupChange(userId: string): boolean {
    return this.#groupChanges.take(userId);
  }

  /** REST sends and live conversation sockets draw on the user's one send rate: how many of `count` may go now. */
  admitSendsUpTo(userId: string, count: number, conversationId?: string): number {
    const admitted = this.#frames.sendRate.takeUpTo(userId, count);
    if (admitted > 0 && conversationId) this.#consent.noteWrite(userId, conversationId);
    return admitted;
  }

  /** The user's cursor moved somewhere other than a device socket (a live conversation socket). */
  noteCursor(userId: string, conversationId: string, status: DeliveryStatus, seq: number, unreadCount: number | null): void {
    if (status === "read") this.#inbox.setRead(userId, conversationId, seq, unreadCount ?? 0);
    else this.#inbox.setDelivered(userId, conversationId, seq);
  }

  /**
   * Rounds of several conversations at once (a conversation object holding many sends them
   * together). Each is answered on its own: one that fails does not fail the others.
   */
  async deliverMany(batches: DeliveryBatch[]): Promise<(DeliveryReceipt | { error: string })[]> {
    const settled = await Promise.allSettled(batches.map((b) => this.#delivery.deliver(b)));
    return settled.map((s, i) => {
      if (s.status === "fulfilled") return s.value;
      // Only the message crosses back (the conversation retries that round): the stack is logged here.
      log.warn("delivery failed", { conversation_id: batches[i]!.conversation_id, error: s.reason });
      return { error: String(s.reason) };
    });
  }

  /** Fan-out asks how far this object has the conversation written (now, with `writeNow`), and how far held. */
  confirmDelivered(conversationId: string, writeNow = false): DeliveryReceipt {
    return this.#delivery.receipt(conversationId, writeNow);
  }

  /** Frames for every connected device of each named user (receipts for their messages, typing). */
  pushFrames(batches: { user_id: string; frames: string[] }[]): void {
    for (const b of batches) for (const session of this.#sessions.ofUser(b.user_id)) for (const f of b.frames) sendFrame(session.ws, f);
  }

  // ---- presence ------------------------------------------------------------

  /**
   * `subscriberId` watches these users (all held here): their current presence as each one's setting
   * lets the subscriber see it, then changes (re-checked at every change: PresenceKeeper.broadcast).
   */
  subscribePresence(userIds: string[], subscriberId: string): Presence[] {
    const expiresAt = Date.now() + Limits.presenceSubscriptionMs;
    return userIds.filter((id) => this.#profiles.has(id)).map((id) => {
      this.#presence.subscribe(id, subscriberId, expiresAt);
      return this.presenceSnapshot(id, subscriberId);
    });
  }

  presenceSnapshot(userId: string, viewerId: string): Presence {
    if (!this.#profiles.has(userId)) return hiddenPresence(userId);
    return this.#consent.showsPresenceTo(userId, viewerId) ? this.#presence.current(userId) : hiddenPresence(userId);
  }

  /**
   * A watched user's presence changed: show it on the devices of its watchers held here. Answers
   * those with no device connected; their watch is dropped (the app watches again when it reconnects).
   */
  presenceChanged(p: Presence, subscriberIds: string[]): string[] {
    const away: string[] = [];
    for (const id of subscriberIds) {
      // Re-checked at every change: a watcher who no longer shares a conversation hears nothing, and
      // their watch is dropped (as for one with no device connected).
      if (!this.#inbox.sharesConversationWith(id, p.user_id)) {
        away.push(id);
        continue;
      }
      const sessions = this.#sessions.ofUser(id);
      if (sessions.length === 0) away.push(id);
      const frame = JSON.stringify({ type: "presence", ...this.#consent.asSeenBy(id, p) });
      for (const s of sessions) sendFrame(s.ws, frame);
    }
    return away;
  }

  /** Someone's presence as this user may see it, for `GET /users/{id}/presence`. */
  async presenceOf(userId: string, targetId: string): Promise<Result<Presence>> {
    if (!this.#inbox.sharesConversationWith(userId, targetId)) {
      return refuse(ErrorCode.forbidden, "you can only see the presence of people you share a conversation with");
    }
    const target = this.#profiles.has(targetId) ? this.presenceSnapshot(targetId, userId) : await userHome(this.env, targetId).presenceSnapshot(targetId, userId);
    return ok(this.#consent.asSeenBy(userId, target));
  }

  /**
   * Runs the alarm tasks that are due (alarms.ts), each booked by its module: liveness checks and
   * presence broadcasts (presence.ts), push windows (push.ts), unfinished uploads (uploads.ts) and
   * session ends (below).
   */
  override async alarm(): Promise<void> {
    await this.#object.alarms.run();
  }

  /** Sessions past their lifetime: their sockets close now, not at the next request. */
  private endExpiredSessions(now: number): number | null {
    const sessions = this.#tokens.endExpired(now);
    for (const s of sessions.ended) this.sessionEnded(s.user_id, s.session_id);
    return sessions.next;
  }

  // ---- sessions (tokens.ts) ----

  /** A login: a new session, ending `Limits.sessionMaxLifetimeMs` from now whatever its refreshes. */
  startSession(userId: string): SessionGrant | null {
    if (!this.#profiles.has(userId)) return null;
    const row = this.#tokens.start(userId, Date.now());
    this.#sessionEnds.book(row.expires_at);
    return { session_id: row.session_id, version: row.version, expires_at: row.expires_at, generation: this.#tokens.generation(userId) };
  }

  /**
   * A refresh: the session's next version (the token it replaces stops working), or a refusal. A
   * replaced token coming back to refresh means someone kept a copy: the session ends, its sockets
   * close and its push subscriptions go. A token from before sessions starts one.
   */
  refreshSession(userId: string, claims: { jti: string; exp: number; gen: number; sid?: string; ver?: number }): Result<SessionGrant> {
    if (!this.#profiles.has(userId)) return refuse(ErrorCode.unauthorized, "your account no longer exists");
    if (claims.gen !== this.#tokens.generation(userId)) return refuse(ErrorCode.unauthorized, "this session was logged out");
    if (claims.sid === undefined && !this.#tokens.valid(userId, claims, Date.now())) return refuse(ErrorCode.unauthorized, "this session was logged out");
    if (claims.sid === undefined) {
      this.#tokens.revoke(userId, claims.jti, claims.exp * 1000, Date.now());
      return ok(this.startSession(userId)!);
    }
    const rotated = this.#tokens.rotate(userId, claims.sid, claims.ver ?? -1, Date.now());
    if (typeof rotated === "string") {
      this.sessionEnded(userId, claims.sid);
      const why = { ended: "this session was logged out", expired: "this session is too old: log in again", reused: "this token was already replaced: the session is ended, log in again" };
      return refuse(ErrorCode.unauthorized, why[rotated]);
    }
    return ok({ session_id: rotated.session_id, version: rotated.version, expires_at: rotated.expires_at, generation: this.#tokens.generation(userId) });
  }

  sessionValid(userId: string, claims: { jti: string; gen: number; sid?: string; ver?: number }): boolean {
    return this.#profiles.has(userId) && this.#tokens.valid(userId, claims, Date.now());
  }

  /** Logs one session out: its tokens stop working, the sockets it opened close (4003), its push subscriptions go. */
  logout(userId: string, claims: { jti: string; exp: number; sid?: string }): void {
    if (claims.sid === undefined) {
      this.#tokens.revoke(userId, claims.jti, claims.exp * 1000, Date.now());
      this.closeSockets(userId, claims.jti);
      return;
    }
    this.#tokens.end(userId, claims.sid);
    this.sessionEnded(userId, claims.sid);
  }

  /** What goes with a session: its sockets here and on conversations, and its push subscriptions. */
  private sessionEnded(userId: string, sessionId: string): void {
    this.closeSockets(userId, sessionId);
    this.#push.unsubscribeSession(userId, sessionId);
  }

  /** Every session of the user ends: tokens, sockets, and the push subscriptions their devices made. */
  logoutEverywhere(userId: string): number {
    const generation = this.#tokens.revokeAll(userId);
    this.closeSockets(userId, null);
    this.#push.unsubscribeAll(userId);
    return generation;
  }

  /** Closes the user's sockets: those a session (or pre-session token id) opened, or all of them. */
  private closeSockets(userId: string, jti: string | null): void {
    const sockets = jti ? this.#sessions.ofToken(jti) : this.#sessions.ofUser(userId).map((s) => s.ws);
    for (const ws of sockets) closeSocket(ws, CloseCode.revoked, "logged out");
    // Live conversation sockets are held by the conversations: ask each one this user is in.
    for (const conversationId of this.#inbox.conversationIds(userId)) {
      const closing = conversationHome(this.env, conversationId).closeSessions(conversationId, userId, jti);
      // A live socket left open keeps receiving the conversation after its session ended.
      this.#object.waitUntil(closing.catch((error: unknown) => log.error("live sockets of an ended session not closed", { user_id: userId, conversation_id: conversationId, error })));
    }
  }

  // ---- media uploads (uploads.ts) ----

  /** A new upload: granted within the user's rate and quota (its size counts from now), or refused. */
  admitUpload(userId: string, mediaId: string, size: number, expiresAt: number): Result<void> {
    if (!this.#profiles.has(userId)) return refuse(ErrorCode.userNotFound, "your account no longer exists");
    return this.#uploads.admit(userId, mediaId, size, expiresAt);
  }

  /** The upload was checked and completed: it stays. */
  mediaUploaded(userId: string, mediaId: string): void {
    if (this.#profiles.has(userId)) this.#uploads.completed(userId, mediaId);
  }

  /** The upload's bytes were erased (every message carrying it was deleted for everyone): its size is the user's again. */
  mediaErased(userId: string, mediaId: string): void {
    if (this.#profiles.has(userId)) this.#uploads.erased(userId, mediaId);
  }

  // ---- message marks (marks.ts): starred, and hidden by "delete for me" ----

  /** Stars a message the route checked the user can see; their devices are told. */
  starMessage(userId: string, message: MarkedMessage): Result<void> {
    if (!this.#profiles.has(userId)) return refuse(ErrorCode.userNotFound, "your account no longer exists");
    if (this.#marks.star(userId, message, Date.now()) === "hidden") return refuse(ErrorCode.messageNotFound, "you deleted that message for you");
    return ok(undefined);
  }

  unstarMessage(userId: string, conversationId: string, serverMsgId: string): void {
    if (this.#profiles.has(userId)) this.#marks.unstar(userId, conversationId, serverMsgId, Date.now());
  }

  /** Hides a message the route checked the user can see, on all their devices, for good. */
  hideMessage(userId: string, message: MarkedMessage): Result<void> {
    if (!this.#profiles.has(userId)) return refuse(ErrorCode.userNotFound, "your account no longer exists");
    this.#marks.hide(userId, message, Date.now());
    return ok(undefined);
  }

  starredMarks(userId: string, before: number | undefined, limit: number): { starred: StarredMark[]; has_more: boolean } {
    return this.#profiles.has(userId) ? this.#marks.starred(userId, before, limit) : { starred: [], has_more: false };
  }

  markChanges(userId: string, after: number, limit: number): MarksResponse {
    return this.#profiles.has(userId) ? this.#marks.changes(userId, after, limit) : { marks: [], has_more: false };
  }

  // ---- push notifications (push.ts) ----

  subscribePush(userId: string, body: PushSubscriptionBody, sessionId: string | null = null): Result<void> {
    if (!this.#profiles.has(userId)) return refuse(ErrorCode.userNotFound, "your account no longer exists");
    return this.#push.subscribe(userId, body, Date.now(), sessionId);
  }

  // A user not held here (never was, or moved) has nothing to change: these answer without reading.
  unsubscribePush(userId: string, deviceId: string): boolean {
    return this.#profiles.has(userId) && this.#push.unsubscribe(userId, deviceId);
  }

  forgetPushEndpoint(userId: string, deviceId: string, endpoint: string): void {
    if (this.#profiles.has(userId)) this.#push.forgetEndpoint(userId, deviceId, endpoint);
  }

  pushAlreadySent(userId: string, pushId: string, deviceId: string): boolean {
    return this.#profiles.has(userId) && this.#push.pushAlreadySent(userId, pushId, deviceId);
  }

  notePushSent(userId: string, pushId: string, deviceId: string): void {
    if (this.#profiles.has(userId)) this.#push.notePushSent(userId, pushId, deviceId, Date.now());
  }

  noteDeadPush(userId: string, job: unknown): void {
    if (this.#profiles.has(userId)) this.#push.noteDeadLetter(userId, job, Date.now());
  }

  pushStats(userId: string): { subscriptions: number; dead_letters: number } {
    return { subscriptions: this.#push.subscriptionCount(userId), dead_letters: this.#push.deadLetters(userId) };
  }

  // ---- moving users between objects (handover.ts) ----------------------------

  /**
   * Hands every user held here whose home, under the current USER_SHARDS, is another object over to
   * it, and forgets them here. Returns how many moved. `npm start` calls it on every user object on
   * disk when USER_SHARDS changed (scripts/server.ts); docs/deploy.md says how on Cloudflare.
   */
  async rehome(): Promise<number> {
    let moved = 0;
    if (!this.#object.schema.ready) return 0;
    for (const userId of this.#profiles.ids()) {
      if (this.env.USERS.idFromName(userHomeName(this.env, userId)).equals(this.ctx.id)) continue;
      this.#inbox.flush();
      await userHome(this.env, userId).adopt(exportUser(this.ctx.storage.sql, userId));
      this.forgetUser(userId);
      moved++;
    }
    return moved;
  }

  /** Takes in a user moved here from another object. */
  adopt(bundle: UserBundle): void {
    this.#object.schema.ensure();
    this.ctx.storage.transactionSync(() => importUser(this.ctx.storage.sql, bundle));
    this.#inbox.dropCaches();
    this.#conversationSettings.dropCaches();
    this.#profiles.forget(bundle.user_id);
    // Their sessions, uploads and pushes came with them: each alarm task looks at what it now holds.
    this.#object.alarms.bookEvery(Date.now());
    // A read-receipts switch the old home had not finished telling is told again from here.
    if (!this.#profiles.privacy(bundle.user_id).read_receipts) this.#readReceipts.switched(bundle.user_id);
  }

  private forgetUser(userId: string): void {
    for (const conversationId of this.#inbox.conversationIds(userId)) this.#inbox.leave(userId, conversationId);
    forgetUserRows(this.ctx.storage.sql, userId);
    this.#profiles.forget(userId);
    // Their devices reconnect, to the user's new home.
    for (const s of this.#sessions.ofUser(userId)) {
      this.#sessions.drop(s.ws);
      closeSocket(s.ws, CloseCode.serviceRestart, "moved to another server object; reconnect");
    }
  }

  // ---- device sockets ------------------------------------------------------

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return jsonError(426, ErrorCode.badRequest, "expected a WebSocket upgrade");
    }
    const userId = request.headers.get(USER_ID_HEADER) ?? "";
    const deviceId = new URL(request.url).searchParams.get("device_id") ?? "";
    if (!this.#profiles.has(userId)) return jsonError(401, ErrorCode.unauthorized, "unknown user");
    if (!Limits.deviceIdPattern.test(deviceId)) {
      return jsonError(400, ErrorCode.badRequest, "device_id must be 1-64 characters of A-Z, a-z, 0-9, _ and -");
    }
    const now = Date.now();
    if (!this.#sessions.deviceAllowed(userId, deviceId, Limits.devicesPerUser, now)) {
      return jsonError(429, ErrorCode.rateLimited, `at most ${Limits.devicesPerUser} devices per account in 30 days`);
    }
    // One socket per device: a reconnect replaces the old socket rather than doubling deliveries.
    for (const old of this.#sessions.ofDevice(userId, deviceId)) {
      this.#sessions.drop(old);
      closeSocket(old, CloseCode.replaced, "replaced by a newer connection");
    }
    const wasOnline = this.#presence.isOnline(userId);
    const pair = new WebSocketPair();
    const batched = request.headers.get(SUBPROTOCOL_HEADER) === Subprotocol.batched;
    const session = this.#sessions.accept(pair[1], { user_id: userId, device_id: deviceId, connected_at: now, batched }, request.headers.get(TOKEN_ID_HEADER));
    this.#sessions.touchDevice(userId, deviceId, now);
    this.#presence.connected(userId, wasOnline, now);
    this.#push.deviceConnected(userId);
    this.ctx.waitUntil(this.#delivery.replay(session));
    return upgradeResponse(request, pair[0]);
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const session = this.#sessions.get(ws);
    if (!session) return;
    this.#presence.noteFrame(ws, Date.now());
    await this.#frames.core.receive(session, raw);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // The close is always answered, whatever the bookkeeping does.
    closeSocket(ws, code, reason);
    await guarded("device socket close", this.socketFields(ws), async () => this.socketGone(ws));
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    const fields = this.socketFields(ws);
    log.warn("device socket error", { ...fields, error });
    await guarded("device socket error", fields, async () => this.socketGone(ws));
  }

  /** Whose socket it is, for the log. */
  private socketFields(ws: WebSocket): LogFields {
    const session = this.#sessions.get(ws);
    return session ? { user_id: session.userId, device_id: session.deviceId } : {};
  }

  private socketGone(ws: WebSocket): void {
    const session = this.#sessions.drop(ws);
    if (!session) return;
    const now = Date.now();
    this.#sessions.touchDevice(session.userId, session.deviceId, now);
    this.#presence.maybeGone(session.userId, now);
  }
}
