import { DurableObject } from "cloudflare:workers";
import { objectContext } from "../context";
import type { Env } from "../../env";
import { setLogLevel } from "../../lib/log";
import { ok, type Result } from "../../lib/result";
import {
  CloseCode,
  ErrorCode,
  HEARTBEAT_REQUEST,
  HEARTBEAT_RESPONSE,
  Subprotocol,
  type Conversation as ConversationInfo,
  type DeliveryStatus,
  type HistoryQuery,
  type HistoryResponse,
  type MemberHistoryQuery,
  type MemberHistoryResponse,
  type MemberRole,
  type Message,
  type Outgoing,
  type Receipt,
  type UpdateGroupBody,
} from "../../protocol";
import { conversationHome, conversationHomeName } from "../homes";
import { claimPhoto } from "../../media/records";
import { photoErasure } from "../photoErasure";
import { closeSocket } from "../sockets";
import { CONVERSATION_ID_HEADER, jsonError, SUBPROTOCOL_HEADER, TOKEN_ID_HEADER, upgradeResponse, USER_ID_HEADER } from "../upgrade";
import { parseHotWindow } from "./archive";
import { findAcross } from "./search";
import { Conversation, type ConversationHost } from "./conversation";
import type { CursorMove, CursorMoved } from "./cursors";
import { parseFanoutConcurrency } from "./fanout";
import { exportConversation, forgetConversationRows, heldConversations, importConversation, type ConversationBundle } from "./handover";
import { liveAttachment } from "./live";
import { conversationMigrations } from "./migrations";
import { DeliveryPost } from "./post";
import { SenderNotices } from "./receipts";
import { r2SegmentStore } from "./segments";
import type { ForwardedContent, SendOutcome } from "./sending";

export type { SendOutcome } from "./sending";

/** One sender's messages for one conversation, as a user object hands them over. */
export interface SendBatch {
  conversation_id: string;
  sender_id: string;
  origin_device?: string;
  messages: Outgoing[];
}

/**
 * The home of one conversation (CONVERSATION_SHARDS unset) or of a shard of them
 * (src/objects/homes.ts). A shell: every method names the conversation it is about and hands it to
 * that conversation (conversation.ts), created from storage the first time it is asked for. What
 * the shell itself keeps is what the conversations share: the object's context and alarm tasks,
 * the socket events, the notices to senders and the post to user objects.
 */
export class ConversationObject extends DurableObject<Env> {
  private readonly conversations = new Map<string, Conversation>();
  /** What every conversation held here shares (conversation.ts). */
  private readonly host: ConversationHost;
  private readonly photos: { erase(mediaId: string): void };

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    setLogLevel(env.LOG_LEVEL);
    // A lookup of an id that names no conversation must leave nothing behind: the schema is made
    // when a conversation is first created here (or moved here), not on construction.
    const object = objectContext(ctx, env, conversationMigrations);
    // Each conversation books its alarm tasks under its id; the object runs those that are due.
    const task = (name: string, run: (c: Conversation, now: number) => Promise<number | null> | number | null) =>
      object.alarms.define(name, (now, id) => {
        const c = this.conversation(id);
        return c.exists ? run(c, now) : null;
      });
    // A photo set again before its deletion ran is kept.
    this.photos = photoErasure(object, (mediaId) => this.ctx.storage.sql.exec("SELECT 1 FROM conversations WHERE photo_media_id = ?", mediaId).toArray().length > 0);
    this.host = {
      ...object,
      notices: new SenderNotices(env),
      segments: r2SegmentStore(env.ARCHIVE),
      hotWindow: parseHotWindow(env.HISTORY_HOT_WINDOW),
      fanoutConcurrency: parseFanoutConcurrency(env.FANOUT_CONCURRENCY),
      tasks: {
        fanout: task("fanout", (c, now) => c.settleFanout(now)),
        typing: task("typing", (c, now) => c.expireTyping(now)),
        archive: task("archive", (c, now) => c.archiveHistory(now)),
        erase: task("erase", (c, now) => c.erase(now)),
        expire: task("expire", (c, now) => c.expire(now)),
      },
      // A forward's original: read here when this object holds its conversation, else from its home.
      forwardLookup: (senderId, from) =>
        env.CONVERSATIONS.idFromName(conversationHomeName(env, from.conversation_id)).equals(ctx.id)
          ? this.conversation(from.conversation_id).forwardable(senderId, from.server_msg_id)
          : conversationHome(env, from.conversation_id).forwardable(from.conversation_id, senderId, from.server_msg_id),
      post: new DeliveryPost(env),
    };
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE));
    // A restart may have cut fan-outs short: finish them now rather than at the next message.
    if (object.schema.ready) for (const id of this.unfinished()) this.conversation(id).resume();
  }

  /** Before the first write: the schema, and conversations read without one (all "not found") read again. */
  private ensureSchema(): void {
    if (this.host.schema.ensure()) this.conversations.clear();
  }

  private conversation(id: string): Conversation {
    let c = this.conversations.get(id);
    if (!c) this.conversations.set(id, (c = new Conversation(this.host, id, this.host.schema.ready)));
    return c;
  }

  /** Conversations whose fan-out was cut short (by a restart, or a failing user object). */
  private unfinished(): string[] {
    return this.ctx.storage.sql
      .exec<{ conversation_id: string }>("SELECT conversation_id FROM conversations WHERE fanout_seq < last_seq")
      .toArray()
      .map((r) => r.conversation_id);
  }

  // ---- RPC: every method names its conversation -------------------------------

  openDirect(conversationId: string, a: string, b: string): Promise<Result<{ conversation: ConversationInfo; created: boolean }>> {
    this.ensureSchema();
    return this.conversation(conversationId).openDirect(a, b);
  }

  createGroup(conversationId: string, creatorId: string, name: string, memberIds: string[]): Promise<Result<ConversationInfo>> {
    this.ensureSchema();
    return this.conversation(conversationId).createGroup(creatorId, name, memberIds);
  }

  /**
   * A group's info and settings. A new photo is claimed for the group (its record then lets the
   * members see it) once the actor is known to be allowed; a replaced one is deleted from the alarm.
   */
  async updateGroup(conversationId: string, actor: string, change: UpdateGroupBody): Promise<Result<ConversationInfo>> {
    const conversation = this.conversation(conversationId);
    if (change.photo_media_id) {
      const refused = conversation.groupChangeRefusal(actor, change);
      if (refused) return refused;
      const claimed = await claimPhoto(this.env, change.photo_media_id, actor, { kind: "group", id: conversationId });
      if (!claimed.ok) return claimed;
    }
    const updated = conversation.updateGroup(actor, change);
    if (!updated.ok) return updated;
    if (updated.value.replacedPhoto) this.photos.erase(updated.value.replacedPhoto);
    return ok(updated.value.conversation);
  }

  /** Whether `userId` may load `mediaId` as the group's photo (routes/media.ts). */
  showsGroupPhoto(conversationId: string, userId: string, mediaId: string): boolean {
    const c = this.conversation(conversationId);
    return c.exists && c.showsPhoto(userId, mediaId);
  }

  /** A user switched read receipts: the copies of their conversations held here follow. */
  setReadReceipts(conversationIds: string[], userId: string, on: boolean): void {
    for (const id of conversationIds) {
      const c = this.conversation(id);
      if (c.exists) c.setReadReceipts(userId, on);
    }
  }

  addMembers(conversationId: string, actor: string, userIds: string[]): Promise<Result<ConversationInfo>> {
    return this.conversation(conversationId).addMembers(actor, userIds);
  }

  join(conversationId: string, userId: string, via: { invitation: string } | { token: string }): Promise<Result<ConversationInfo>> {
    return this.conversation(conversationId).join(userId, via);
  }

  setBlocked(conversationId: string, userId: string, otherId: string, blocked: boolean): void {
    this.conversation(conversationId).setBlocked(userId, otherId, blocked);
  }

  inviteLink(conversationId: string, actor: string, action: "get" | "revoke"): Result<string | null> {
    return this.conversation(conversationId).inviteLink(actor, action);
  }

  previewInvite(conversationId: string, token: string): { conversation_id: string; name: string | null; member_count: number } | null {
    return this.conversation(conversationId).previewInvite(token);
  }

  removeMember(conversationId: string, actor: string, target: string): Result<ConversationInfo> {
    return this.conversation(conversationId).removeMember(actor, target);
  }

  setRole(conversationId: string, actor: string, target: string, role: MemberRole): Result<ConversationInfo> {
    return this.conversation(conversationId).setRole(actor, target, role);
  }

  receipts(conversationId: string, userId: string, serverMsgId: string): Promise<Result<Receipt[]>> {
    return this.conversation(conversationId).receipts(userId, serverMsgId);
  }

  joinedSeq(conversationId: string, userId: string): number | null {
    return this.conversation(conversationId).joinedSeq(userId);
  }

  describe(conversationId: string, userId: string): Result<ConversationInfo> {
    return this.conversation(conversationId).describe(userId);
  }

  memberHistory(conversationId: string, userId: string, query: MemberHistoryQuery): Promise<Result<MemberHistoryResponse>> {
    return this.conversation(conversationId).memberHistory(userId, query);
  }

  history(conversationId: string, userId: string, query: Pick<HistoryQuery, "before" | "after"> & { limit: number }): Promise<Result<HistoryResponse>> {
    return this.conversation(conversationId).history(userId, query);
  }

  typing(conversationId: string, userId: string, status: "typing" | "stopped"): Result<void> {
    return this.conversation(conversationId).typing(userId, status);
  }

  /** The user logged out: close their live sockets (those of one token, or all of them). */
  closeSessions(conversationId: string, userId: string, tokenId: string | null): void {
    this.conversation(conversationId).closeSessions(userId, tokenId);
  }

  /** A forward's original as `userId` may read it (conversation.ts), for the conversation it is forwarded to. */
  forwardable(conversationId: string, userId: string, serverMsgId: string): Promise<Result<ForwardedContent>> {
    return this.conversation(conversationId).forwardable(userId, serverMsgId);
  }

  /** Messages by id as `userId` sees them now (null where they cannot): stars and the starred list. */
  messagesAt(conversationId: string, userId: string, serverMsgIds: string[]): Promise<Result<(Message | null)[]>> {
    return this.conversation(conversationId).messagesAt(userId, serverMsgIds);
  }

  /** Messages of one conversation matching `query` (an FTS5 query built by search.ts's `ftsQuery`). */
  searchConversation(conversationId: string, userId: string, query: string, before: number, limit: number) {
    return this.conversation(conversationId).searchMessages(userId, query, before, limit);
  }

  /**
   * Messages matching `query` in those of `conversationIds` held here that `userId` is in, newest
   * first: one FTS5 query for all of them, each conversation's matches after the seq they joined at.
   */
  async searchConversations(userId: string, conversationIds: string[], query: string, limit: number): Promise<Message[]> {
    if (!this.host.schema.ready) return [];
    const floors = new Map<string, number>();
    for (const id of conversationIds) {
      const c = this.conversation(id);
      const floor = c.exists ? c.joinedSeq(userId) : null;
      if (floor === null) continue;
      await c.search.prepare();
      floors.set(id, floor);
    }
    // Some hits may be withheld from the reader: a few more are read than are answered.
    const byConversation = new Map<string, number[]>();
    for (const hit of findAcross(this.ctx.storage.sql, query, floors, limit * 2)) {
      byConversation.set(hit.conversation_id, [...(byConversation.get(hit.conversation_id) ?? []), hit.seq]);
    }
    const found = await Promise.all([...byConversation].map(([id, seqs]) => this.conversation(id).search.read(userId, seqs)));
    return found
      .flat()
      .sort((a, b) => b.timestamp - a.timestamp)
      .slice(0, limit);
  }

  /** Stores a batch of one sender's messages, in order, durably before the acks (sending.ts). */
  sendMessages(conversationId: string, senderId: string, messages: Outgoing[], originDevice?: string) {
    return this.conversation(conversationId).sendMessages(senderId, messages, originDevice);
  }

  /**
   * Many senders' batches, for any of the conversations held here: what a user object gathered from
   * its devices in one turn. The text of all of them is stored in this one turn, so it shares one
   * commit (and their fan-outs share calls to user objects); each batch still gets its own outcomes.
   */
  sendMany(batches: SendBatch[]): Promise<Result<SendOutcome[]>[]> {
    return Promise.all(batches.map((b) => this.sendMessages(b.conversation_id, b.sender_id, b.messages, b.origin_device)));
  }

  /** Moves members' delivered or read cursors (cumulative) and tells the senders; see cursors.ts. */
  updateCursors(conversationId: string, moves: CursorMove[]): Promise<Result<CursorMoved>[]> {
    return this.conversation(conversationId).updateCursors(moves);
  }

  async updateCursor(conversationId: string, userId: string, status: DeliveryStatus, serverMsgId: string): Promise<Result<CursorMoved>> {
    const [moved] = await this.updateCursors(conversationId, [{ user_id: userId, status, server_msg_id: serverMsgId }]);
    return moved!;
  }

  // ---- moving conversations between objects (handover.ts) --------------------

  /**
   * Hands every conversation held here whose home, under the current CONVERSATION_SHARDS, is another
   * object over to it, and forgets it here. Returns how many moved. `npm start` calls it on every
   * conversation object on disk when CONVERSATION_SHARDS changed (scripts/server.ts).
   */
  async rehome(): Promise<number> {
    let moved = 0;
    if (!this.host.schema.ready) return 0;
    for (const id of heldConversations(this.ctx.storage.sql)) {
      if (this.env.CONVERSATIONS.idFromName(conversationHomeName(this.env, id)).equals(this.ctx.id)) continue;
      // Cursor moves held in memory are written first, so they travel with the rows.
      this.conversations.get(id)?.store.flushCursors();
      await conversationHome(this.env, id).adopt(exportConversation(this.ctx.storage.sql, id));
      this.forget(id);
      moved++;
    }
    return moved;
  }

  /** Takes in a conversation moved here from another object, and finishes any fan-out it had left. */
  adopt(bundle: ConversationBundle): void {
    this.ensureSchema();
    this.ctx.storage.transactionSync(() => importConversation(this.ctx.storage.sql, bundle));
    // Whatever was read of it before (e.g. "no such conversation") is stale now.
    this.conversations.delete(bundle.conversation_id);
    const conversation = this.conversation(bundle.conversation_id);
    conversation.resume();
    // Its history may be due for the archive, and a delete for everyone may have left R2 copies to erase.
    this.host.tasks.archive.book(Date.now(), bundle.conversation_id);
    // Disappearing messages keep disappearing on time here (a run with nothing due costs one query).
    this.host.tasks.expire.book(Date.now(), bundle.conversation_id);
    if (bundle.tables.erasures?.length) this.host.tasks.erase.book(Date.now(), bundle.conversation_id);
  }

  private forget(id: string): void {
    const conversation = this.conversation(id);
    forgetConversationRows(this.ctx.storage.sql, id);
    this.conversations.delete(id);
    this.host.alarms.cancel(id);
    // Live sockets reconnect, to the conversation's new home.
    conversation.live.closeAll(CloseCode.serviceRestart, "moved to another server object; reconnect");
  }

  // ---- the live conversation socket ----------------------------------------

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return jsonError(426, ErrorCode.badRequest, "expected a WebSocket upgrade");
    }
    const conversationId = request.headers.get(CONVERSATION_ID_HEADER) ?? "";
    const pair = new WebSocketPair();
    const batched = request.headers.get(SUBPROTOCOL_HEADER) === Subprotocol.batched;
    const accepted = this.conversation(conversationId).acceptLive(pair[1], request.headers.get(USER_ID_HEADER) ?? "", request.headers.get(TOKEN_ID_HEADER), batched);
    // Refused before accepting: a non-member never gets an open socket.
    if (!accepted.ok) return jsonError(accepted.error.code === ErrorCode.notAMember ? 403 : 404, accepted.error.code, accepted.error.message);
    return upgradeResponse(request, pair[0]);
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const who = liveAttachment(ws);
    if (!who) return;
    await this.conversation(who.conversation_id).liveMessage(ws, who, raw);
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeSocket(ws, code, reason);
  }

  // ---- the alarm ------------------------------------------------------------

  /**
   * Runs the conversations' alarm tasks that are due (alarms.ts): fan-out retries and the safety
   * net, typing expiry, archive passes, each booked under its conversation's id. A task that
   * throws is recorded as not done and booked again; the others still run.
   */
  override async alarm(): Promise<void> {
    await this.host.alarms.run();
  }
}
