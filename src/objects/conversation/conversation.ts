import { log } from "../../lib/log";
import { sameSecret } from "../../lib/timingSafe";
import { ok, refuse, type Result } from "../../lib/result";
import {
  CloseCode,
  ErrorCode,
  Limits,
  countsAsMessage,
  type Conversation as ConversationInfo,
  type DeliveryStatus,
  type HistoryQuery,
  type HistoryResponse,
  type MemberHistoryQuery,
  type MemberHistoryResponse,
  type MemberRole,
  type Message,
  type Outgoing,
  type ProtocolError,
  type Receipt,
  type UpdateGroupBody,
} from "../../protocol";
import type { TaskKind } from "../alarms";
import type { ObjectContext } from "../context";
import { byUserHome, userHome, userHomeStub } from "../homes";
import { CURSOR_WRITE_DELAY_MS } from "../writeBehind";
import { ARCHIVE_DELAY_MS, HistoryArchive } from "./archive";
import { CursorMoves, type CursorMove, type CursorMoved } from "./cursors";
import { Fanout, FANOUT_RETRY_MS } from "./fanout";
import { LiveSockets, type LiveAttachment } from "./live";
import { LiveFramePort, liveSession } from "./liveFrames";
import * as membership from "./membership";
import { memberHistoryPage, recordArchived } from "./memberHistory";
import type { DeliveryPost } from "./post";
import type { SenderNotices } from "./receipts";
import type { SegmentStore } from "./segments";
import { archivedReferences, visibleMessage } from "./actions";
import { Erasure } from "./erasure";
import { Expiry } from "./expiry";
import { ConversationSearch } from "./search";
import { SendPath, type Appended, type ForwardedContent, type ForwardLookup, type SendOutcome } from "./sending";
import { MessageStates } from "./state";
import { ConversationStore } from "./store";
import { TypingTracker } from "./typing";
import { WithheldRanges } from "./withheld";

/** What every conversation of a conversation object shares: the object's context and its own parts. */
export interface ConversationHost extends ObjectContext {
  /** Status notices on their way to senders, gathered across the object's conversations. */
  readonly notices: SenderNotices;
  /** Where archived history is stored (R2). */
  readonly segments: SegmentStore;
  readonly hotWindow: number;
  readonly fanoutConcurrency: number;
  /** The alarm tasks each conversation books under its id (the object has one alarm: alarms.ts). */
  readonly tasks: { readonly fanout: TaskKind; readonly typing: TaskKind; readonly archive: TaskKind; readonly erase: TaskKind; readonly expire: TaskKind };
  /** A forward's original, from whichever conversation holds it (this object's, or another's by RPC). */
  readonly forwardLookup: ForwardLookup;
  /** Fan-out rounds on their way to user objects; rounds to the same object go as one call. */
  readonly post: DeliveryPost;
}

/**
 * One conversation: the single writer of its sequence. It stores each message before acking,
 * answers history and sync, keeps members' delivered/read cursors, and fans messages out to the
 * members' user objects. A conversation object holds one (CONVERSATION_SHARDS unset) or many; each
 * is one of these, over the modules beside it.
 */
export class Conversation implements Appended {
  readonly store: ConversationStore;
  /** History older than the hot window, in R2 (archive.ts). */
  readonly archive: HistoryArchive;
  readonly fanout: Fanout;
  readonly live: LiveSockets;
  private readonly typingTracker: TypingTracker;
  /** Blocks in a direct chat (withheld.ts). */
  private readonly withheld: WithheldRanges;
  private readonly sending: SendPath;
  /** What actions did to messages (state.ts), folded into every message read. */
  private readonly states: MessageStates;
  /** Deletes for everyone: their copies in R2 (erasure.ts). */
  readonly erasure: Erasure;
  /** Disappearing messages (expiry.ts). */
  private readonly expiry: Expiry;
  private readonly cursors: CursorMoves;
  /** Full-text search of the messages (search.ts). */
  readonly search: ConversationSearch;
  /** When a message was last stored (the alarm stands by while messages keep coming). */
  private lastAppendAt = 0;
  /** Frames from live sockets, through the frame core both socket kinds share. */
  private readonly liveFramePort: LiveFramePort;

  constructor(
    private readonly host: ConversationHost,
    readonly id: string,
    /** False in an object nothing was ever stored in: this conversation does not exist (and is not looked for). */
    schemaReady = true,
  ) {
    this.store = new ConversationStore(host.storage, id, schemaReady);
    this.states = new MessageStates(host.storage.sql, id);
    this.archive = new HistoryArchive(host.storage, this.store, host.segments, host.hotWindow, this.states);
    this.erasure = new Erasure(host.env, host.storage.sql, this.store, this.archive);
    this.live = new LiveSockets(host.ctx, id);
    this.withheld = new WithheldRanges(host.storage, id);
    this.search = new ConversationSearch(host.storage.sql, this.store, this.archive, this.states, this.withheld);
    this.fanout = new Fanout(host, this.store, this.live, this.withheld);
    this.expiry = new Expiry(host.storage.sql, this.store, {
      archive: this.archive,
      states: this.states,
      erasure: this.erasure,
      fanout: this.fanout,
      search: this.search.index,
    });
    this.sending = new SendPath(
      host.env,
      this.store,
      {
        fanout: this.fanout,
        archive: this.archive,
        states: this.states,
        erasure: this.erasure,
        search: this.search.index,
        forwardLookup: host.forwardLookup,
      },
      this,
    );
    this.cursors = new CursorMoves(host, this.store, this.archive, this.withheld);
    this.typingTracker = new TypingTracker(host, this.store, this.live, this.withheld);
    this.liveFramePort = new LiveFramePort(this, host.env);
  }

  get exists(): boolean {
    return this.store.exists;
  }

  /** A restart may have cut a fan-out short: finish it now rather than at the next message. */
  resume(): void {
    if (!this.store.exists || !this.fanout.behind) return;
    if (!this.fanout.alarmBooked) this.fanout.bookAlarm(Date.now() + FANOUT_RETRY_MS);
    this.host.waitUntil(this.fanout.publish());
  }

  /** Creates the direct conversation of a pair, or returns the one that exists. */
  async openDirect(a: string, b: string): Promise<Result<{ conversation: ConversationInfo; created: boolean }>> {
    let created = false;
    if (!this.store.exists) {
      this.store.create(
        {
          conversation_id: this.id,
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
  async createGroup(creatorId: string, name: string, memberIds: string[]): Promise<Result<ConversationInfo>> {
    if (this.store.exists) return refuse(ErrorCode.internal, "group id collision");
    const now = Date.now();
    const others = [...new Set(memberIds)].filter((id) => id !== creatorId);
    this.store.transaction(() => {
      this.store.create(
        {
          conversation_id: this.id,
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
    this.appended();
    return ok(conversation);
  }

  /** Name, description, photo, settings (membership.ts); and the photo a new one replaced. */
  updateGroup(actor: string, change: UpdateGroupBody): Result<{ conversation: ConversationInfo; replacedPhoto: string | null }> {
    const updated = membership.updateGroup(this.store, actor, change, Date.now());
    const changed = this.change(updated);
    if (!changed.ok || !updated.ok) return changed as Result<never>;
    return ok({ conversation: changed.value, replacedPhoto: updated.value.replacedPhoto });
  }

  /** Why `actor` may not make `change` (membership.ts), or null: asked before a new photo is claimed. */
  groupChangeRefusal(actor: string, change: UpdateGroupBody): Result<never> | null {
    return membership.groupChangeRefusal(this.store, actor, change);
  }

  /** Whether `userId` may load `mediaId` as this group's photo: a member, and it is the photo now. */
  showsPhoto(userId: string, mediaId: string): boolean {
    return this.store.member(userId) !== undefined && this.store.describe().photo?.media_id === mediaId;
  }

  /** A member switched read receipts (their user object's setting): this conversation's copy follows. */
  setReadReceipts(userId: string, on: boolean): void {
    this.store.setReadReceipts(userId, on);
  }

  async addMembers(actor: string, userIds: string[]): Promise<Result<ConversationInfo>> {
    const added = membership.addMembers(this.store, actor, userIds, Date.now());
    if (added.ok) await this.announce(this.store.describe(), added.value);
    return this.change(added);
  }

  /** Joins `userId` by an invitation from `inviter`, or with the group's invite link. */
  async join(userId: string, via: { invitation: string } | { token: string }): Promise<Result<ConversationInfo>> {
    const joined = membership.join(this.store, userId, via, Date.now());
    if (joined.ok && joined.value) await this.announce(this.store.describe(), [userId]);
    return this.change(joined);
  }

  /**
   * `userId` blocks or unblocks `otherId`, both members of this direct chat: from the next message
   * on, the other's messages reach the user only as placeholders, and their typing not at all.
   */
  setBlocked(userId: string, otherId: string, blocked: boolean): void {
    if (!this.store.exists || this.store.type !== "direct" || !this.store.member(userId) || !this.store.member(otherId)) return;
    this.withheld.set(userId, otherId, blocked, this.store.lastSeq);
  }

  /** An admin gets (creating it if need be) or revokes the group's invite link. */
  inviteLink(actor: string, action: "get" | "revoke"): Result<string | null> {
    return membership.inviteLink(this.store, actor, action, Date.now());
  }

  /** What an invite link leads to, for whoever holds it (null: not a valid link). */
  previewInvite(token: string): { conversation_id: string; name: string | null; member_count: number } | null {
    if (!this.store.exists || this.store.type !== "group") return null;
    const current = this.store.inviteToken();
    if (current === null || !sameSecret(token, current)) return null;
    const c = this.store.describe();
    return { conversation_id: c.conversation_id, name: c.name, member_count: c.members.length };
  }

  removeMember(actor: string, target: string): Result<ConversationInfo> {
    return this.change(membership.removeMember(this.store, actor, target, Date.now()));
  }

  setRole(actor: string, target: string, role: MemberRole): Result<ConversationInfo> {
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
    // Whoever blocked the sender never got it: their cursor passing it says nothing.
    const blocker = this.withheld.withheldFrom(message);
    // Read receipts off (the asker's, or a reader's): delivered shows, read does not.
    const askerSees = this.store.readReceipts(userId);
    return ok(
      this.store.receipts(message.seq, message.sender_id).map((r) =>
        r.user_id === blocker ? { ...r, delivered_at: null, read_at: null } : askerSees && this.store.readReceipts(r.user_id) ? r : { ...r, read_at: null },
      ),
    );
  }

  private change(result: Result<unknown>): Result<ConversationInfo> {
    if (!result.ok) return result;
    this.appended();
    return ok(this.store.describe());
  }

  /** New members learn of the conversation before its fan-out reaches them (it would also recover). */
  private async announce(conversation: ConversationInfo, userIds: string[]) {
    try {
      await this.tellJoined(conversation, userIds);
    } catch (err) {
      log.warn("join notice failed", { conversation_id: conversation.conversation_id, joined: userIds.length, error: err });
    }
  }

  /** One call per user object holding some of `userIds`. */
  private async tellJoined(conversation: ConversationInfo, userIds: string[]) {
    const joins = userIds.map((id) => ({ user_id: id, joined_seq: this.store.member(id)?.joined_seq ?? 0 }));
    const env = this.host.env;
    const results = await Promise.allSettled(
      [...byUserHome(env, joins, (j) => j.user_id)].map(async ([home, group]) => {
        // Each joiner's read-receipts setting: the conversation keeps a copy (cursors.ts), a re-joiner's too.
        for (const s of await userHomeStub(env, home).joinConversation(conversation, group)) this.store.setReadReceipts(s.user_id, s.read_receipts);
      }),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** The seq after which a current member sees messages, or null for anyone else (media access). */
  joinedSeq(userId: string): number | null {
    return this.store.member(userId)?.joined_seq ?? null;
  }

  describe(userId: string): Result<ConversationInfo> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    return ok(this.store.describe());
  }

  /** Who joined, left and was removed (memberHistory.ts): the group's admins only. */
  async memberHistory(userId: string, query: MemberHistoryQuery): Promise<Result<MemberHistoryResponse>> {
    const denied = membership.requireGroupAdmin(this.store, userId);
    if (denied) return denied;
    await recordArchived(this.host.storage.sql, this.id, this.archive);
    return ok(memberHistoryPage(this.host.storage.sql, this.id, query));
  }

  /** Stores a batch of one sender's messages, in order, durably before the acks (sending.ts). */
  sendMessages(senderId: string, messages: Outgoing[], originDevice?: string): Result<SendOutcome[]> | Promise<Result<SendOutcome[]>> {
    return this.sending.send(senderId, messages, originDevice);
  }

  /** Starts fan-out of whatever was just stored, with its alarm task as the safety net. */
  appended(): void {
    const now = Date.now();
    this.lastAppendAt = now;
    const archiveAt = this.archive.due(now);
    if (archiveAt !== null) this.host.tasks.archive.book(archiveAt, this.id);
    // What was just sent with a disappearing timer ends then (a booking keeps the earliest time).
    if (this.store.disappearingMs > 0) this.host.tasks.expire.book(now + this.store.disappearingMs, this.id);
    if (!this.fanout.behind) return;
    if (!this.fanout.alarmBooked) this.fanout.bookAlarm(now + FANOUT_RETRY_MS);
    this.host.waitUntil(this.fanout.publish());
  }

  /** A delete for everyone left archived copies or media to erase: now, and from the alarm until done. */
  erasing(): void {
    this.host.tasks.erase.book(Date.now(), this.id);
  }

  /** Disappearing messages whose time came (expiry.ts); returns when the next one is due. */
  expire(now: number): number | null {
    const { next, erasing } = this.expiry.run(now);
    if (erasing) this.erasing();
    return next;
  }

  /** Erases what deletes for everyone left outside the hot rows (erasure.ts); returns when to retry. */
  erase(now: number): Promise<number | null> {
    return this.erasure.run(now);
  }

  /**
   * The original of a forward, as `userId` may read it now: a message (not a system message or an
   * action) they can see, not deleted. What the forward copies: content, kind, media and the hop count.
   */
  async forwardable(userId: string, serverMsgId: string): Promise<Result<ForwardedContent>> {
    const [found] = await this.lookup(userId, [serverMsgId]);
    if (found === undefined) return this.checkMember(userId) ?? refuse(ErrorCode.notAMember, "you are not a member of that conversation");
    const message = found;
    if (!message || message.content_type === "system" || !countsAsMessage(message)) {
      return refuse(ErrorCode.messageNotFound, "no such message to forward in that conversation");
    }
    if (message.deleted) return refuse(ErrorCode.messageDeleted, "that message was deleted");
    return ok({
      content: message.content,
      content_type: message.content_type,
      media: message.media ?? null,
      forwarded: (message.forwarded ?? 0) + 1,
    });
  }

  /**
   * Messages by id as `userId` sees them now (actions folded in), null for any they cannot see;
   * refused if they are not a member. For stars and the starred list.
   */
  async messagesAt(userId: string, serverMsgIds: string[]): Promise<Result<(Message | null)[]>> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    return ok(await this.lookup(userId, serverMsgIds));
  }

  /** Reads the archived ones first (R2), then every one with no await between: one consistent view. */
  private async lookup(userId: string, serverMsgIds: string[]): Promise<(Message | null)[]> {
    if (this.checkMember(userId)) return [];
    const archived = new Map<number, Message | null>();
    for (const seq of archivedReferences(this.store, this.archive.archivedUpTo, serverMsgIds.map((id) => ({ target_id: id }) as Outgoing))) {
      archived.set(seq, await this.archive.messageAt(seq));
    }
    if (this.checkMember(userId)) return [];
    return serverMsgIds.map((id) => {
      const m = visibleMessage(this.store, this.states, archived, userId, id);
      return m && this.withheld.any ? this.withheld.view(m, userId) : m;
    });
  }

  /** A page of history, stitched from R2 segments and hot rows (archive.ts). */
  async history(userId: string, query: Pick<HistoryQuery, "before" | "after"> & { limit: number }): Promise<Result<HistoryResponse>> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    const floor = this.store.member(userId)!.joined_seq;
    const limit = query.limit;
    // Each message as it is now (its actions folded in), and what the reader may see of it: a
    // blocked sender's withheld ones are placeholders.
    const view = (rows: Message[]) => {
      const now = this.states.apply(rows);
      return this.withheld.any ? now.map((m) => this.withheld.view(m, userId)) : now;
    };
    if (query.after !== undefined) {
      const rows = await this.archive.messagesAfter(Math.max(query.after, floor), limit + 1);
      const page = withinPageBytes(rows.slice(0, limit));
      return ok({ messages: view(page), has_more: rows.length > page.length });
    }
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    const rows = await this.archive.messagesBefore(before, floor, limit + 1);
    // Newest first here: a cut keeps the newest, and the next page (before the oldest kept) goes on.
    const page = withinPageBytes(rows.slice(0, limit));
    return ok({ messages: view(page.reverse()), has_more: rows.length > page.length });
  }

  /** Messages matching `query` (an FTS5 query: search.ts) that `userId` can see, newest first, before `before`. */
  async searchMessages(userId: string, query: string, before: number, limit: number): Promise<Result<{ messages: Message[]; has_more: boolean }>> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    return ok(await this.search.find(userId, query, before, limit));
  }

  /**
   * Moves members' delivered or read cursors (cumulative) and tells the senders of the messages
   * they passed (cursors.ts); after a read, the member's unread count.
   */
  updateCursors(moves: CursorMove[]): Promise<Result<CursorMoved>[]> {
    return this.cursors.apply(moves);
  }

  /** A member is typing (or stopped); see typing.ts. */
  typing(userId: string, status: "typing" | "stopped"): Result<void> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    this.typingTracker.update(userId, status, Date.now());
    return ok(undefined);
  }

  // ---- the live conversation socket ----------------------------------------

  /** Accepts a live socket for a member; anyone else is refused before anything is accepted. */
  acceptLive(ws: WebSocket, userId: string, tokenId: string | null, batched: boolean): Result<LiveAttachment> {
    const denied = this.checkMember(userId);
    if (denied) return denied;
    return ok(this.live.accept(ws, userId, tokenId, batched));
  }

  /** The user logged out: close their live sockets (those of one token, or all of them). */
  closeSessions(userId: string, tokenId: string | null): void {
    this.live.closeUser(userId, CloseCode.revoked, "logged out", tokenId);
  }

  /** A live socket's message: its frames go through the frame core (../frameCore.ts). */
  async liveMessage(ws: WebSocket, who: LiveAttachment, raw: string | ArrayBuffer): Promise<void> {
    if (!this.store.member(who.user_id)) {
      this.live.closeUser(who.user_id, CloseCode.revoked, "you are no longer a member");
      return;
    }
    await this.liveFramePort.core.receive(liveSession(ws, who), raw);
  }

  /** A cursor moved on a live socket: the user's own inbox (read state, unread count) follows. */
  async updateCursorAndTellUser(userId: string, status: DeliveryStatus, serverMsgId: string) {
    const [moved] = await this.cursors.apply([{ user_id: userId, status, server_msg_id: serverMsgId }]);
    if (moved!.ok) {
      const { seq, unread_count } = moved!.value;
      this.host.waitUntil(userHome(this.host.env, userId).noteCursor(userId, this.id, status, seq, unread_count));
    }
    return moved!;
  }

  // ---- alarm tasks (booked under this conversation's id; the object runs those due) ----

  /** Ends typing states that ran out; returns when the next one does. */
  expireTyping(now: number): number | null {
    return this.typingTracker.expire(now);
  }

  /**
   * Finishes (or retries) fan-out and records how far it got, for when no send comes to carry it.
   * Returns when to run again, if ever. `now` is the alarm's own time.
   */
  async settleFanout(now: number): Promise<number | null> {
    await this.fanout.publish(now);
    // While messages keep coming, each send records fan-out's progress and this alarm only stands
    // by for a crash: it is booked again, so no send has to book one (a booking is a write of its
    // own, on the message's path). Once the conversation is quiet (nothing stored for a second),
    // every member's object is asked to write what it holds, and where fan-out got is recorded.
    const quiet = now - this.lastAppendAt >= CURSOR_WRITE_DELAY_MS;
    if (this.fanout.unconfirmed) await this.fanout.confirm(quiet);
    this.store.flushCursors();
    this.store.saveFanoutSeq(this.fanout.confirmedUpTo);
    // The messages stored since the last batch are taken for search while things are quiet (search.ts).
    if (quiet) this.search.indexHot();
    // A user object that keeps failing is tried again at its own backoff.
    const retry = this.fanout.ledger.nextRetryAt();
    if (retry !== null) return retry;
    return !quiet || this.fanout.unconfirmed || this.fanout.behind ? Date.now() + FANOUT_RETRY_MS : null;
  }

  /**
   * Moves history older than the hot window to R2 (archive.ts); returns when to try again. Only what
   * every member's object has written may leave the hot table: fan-out's progress is recorded
   * first, and a pass held back by a fan-out still under way looks again a little later.
   */
  async archiveHistory(now: number): Promise<number | null> {
    this.store.saveFanoutSeq(this.fanout.confirmedUpTo);
    // Search takes the hot rows before they leave for R2 (search.ts).
    this.search.indexHot();
    const retry = await this.archive.run(now);
    if (retry !== null) return retry;
    return this.archive.due(now) !== null && (this.fanout.behind || this.fanout.unconfirmed) ? now + ARCHIVE_DELAY_MS : null;
  }

  private checkMember(userId: string): { ok: false; error: ProtocolError } | null {
    return membership.memberRefusal(this.store, userId);
  }
}

/** The leading messages that fit in a page's byte budget (at least one, however large). */
function withinPageBytes(messages: Message[]): Message[] {
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    // Content dominates; the envelope (ids, seq, timestamps) is a couple of hundred bytes.
    bytes += messages[i]!.content.length + 200;
    if (bytes > Limits.historyPageMaxBytes && i > 0) return messages.slice(0, i);
  }
  return messages;
}
