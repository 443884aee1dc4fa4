import type { EndpointInput, EndpointOutput } from "../protocol/endpoints";
import { ErrorCode } from "../protocol/errors";
import { describeIssues, type MessageAckFrame, type Presence, type ServerFrame } from "../protocol/frames";
import { Limits } from "../protocol/limits";
import type { MediaUrlResponse } from "../protocol/media";
import { isAction, VoiceInfo, type Conversation, type ConversationSettings, type ConversationSummary, type Invitation, type Mention, type Message, type Photo, type User } from "../protocol/models";
import type { BulkResponse, ConversationSearchResponse, SearchResponse, StarredMessage, UserSettings } from "../protocol/rest";
import type { MemberHistoryResponse } from "../protocol/memberHistory";
import { CatchUp } from "./catch-up";
import {
  Connection,
  defaultBackoff,
  socketUrl,
  type BackoffOptions,
  type ConnectionOptions,
  type ConnectionState,
  type SocketFactory,
} from "./connection";
import type { ClientContext } from "./context";
import { ConversationList } from "./conversation-list";
import { Emitter } from "./emitter";
import { ChatEntries, type ChatEntry } from "./entries";
import type { ParleyClientEvents } from "./events";
import { Invitations } from "./invitations";
import { LiveSocket } from "./live";
import { Media, type MediaOptions, type UploadInProgress } from "./media";
import { Marks } from "./marks";
import { MessageActions } from "./message-actions";
import { isPendingAction, MemoryOutbox, type OutboxStore, type PendingMessage } from "./outbox";
import { PresenceWatch } from "./presence";
import { Receipts } from "./receipts";
import { ParleyApiError, RestClient } from "./rest";
import { RecentEmojis } from "./recent-emojis";
import { Sender } from "./sending";
import { Session } from "./session";
import { defaultStorage, type KeyValueStorage } from "./storage";
import { Timelines } from "./timelines";
import { TypingSender, TypingState } from "./typing";
import { Users } from "./users";

export interface ParleyClientOptions {
  /** Where the Worker is, e.g. `http://127.0.0.1:8787` or `https://chat.example.com`. */
  baseUrl: string;
  token: string;
  user: User;
  /** Stable per install: delivery cursors are kept per device. */
  deviceId: string;
  /** Where unacknowledged messages and actions wait; `IndexedDbOutbox` in browsers. Default: in memory. */
  outbox?: OutboxStore;
  /**
   * Where small values are kept across restarts: star and hide changes not yet sent, the marks
   * version seen, recent emojis. Default: `localStorage` where there is one, else memory.
   */
  storage?: KeyValueStorage;
  createSocket?: SocketFactory;
  fetch?: typeof fetch;
  backoff?: Partial<BackoffOptions>;
  heartbeatMs?: number;
  /**
   * While messages keep arriving, `delivered` is acknowledged about this often per device (the
   * first after a quiet spell goes at once). Cursors are cumulative, so nothing is lost by
   * coalescing; in a busy group it turns one acknowledgement per member per message into one per
   * member per interval. Each interval is drawn from ±25% of this: members of a group all receive a
   * message at the same moment, and acknowledging in step would land on the server as one burst.
   * Default 1,000 ms.
   */
  deliveredAckIntervalMs?: number;
}

/**
 * The Parley client: one device socket kept connected, an outbox that makes every send exactly-once,
 * each conversation's messages in seq order without duplicates or holes, delivered/read receipts
 * both ways, typing and presence. Runs in browsers, Node 22 and workerd.
 *
 * A facade: each concern is a module beside this file (see docs/sdk.md, "Inside"); this class wires
 * them to the sockets and routes frames between them.
 */
export class ParleyClient extends Emitter<ParleyClientEvents> {
  readonly rest: RestClient;
  readonly user: User;
  private readonly session: Session;
  private readonly connection: Connection;
  private readonly sender: Sender;
  private readonly catchUp: CatchUp;
  private readonly timelines: Timelines;
  private readonly list: ConversationList;
  /** Whether the device socket opened before: a later open is a reconnect. */
  private openedBefore = false;
  private readonly receipts: Receipts;
  private readonly presence: PresenceWatch;
  private readonly invites: Invitations;
  private readonly users: Users;
  private readonly media: Media;
  private readonly chat: ChatEntries;
  private readonly live: LiveSocket;
  private readonly typingState: TypingState;
  private readonly typingSender: TypingSender;
  private readonly marks: Marks;
  private readonly emojis: RecentEmojis;
  private readonly actions: MessageActions;
  private started: Promise<void> | null = null;
  /** Conversations whose "marked unread" is being cleared by `markRead`. */
  private readonly clearingUnread = new Set<string>();

  constructor(options: ParleyClientOptions) {
    super();
    this.user = options.user;
    this.session = new Session({
      token: options.token,
      refresh: () => this.rest.call("refresh"),
      refreshed: (token) => this.emit("token", token),
    });
    this.rest = new RestClient(options.baseUrl, () => this.session.token, options.fetch);
    const socket = {
      createSocket: options.createSocket ?? ((url, protocols) => new WebSocket(url, protocols)),
      backoff: { ...defaultBackoff, ...options.backoff },
      heartbeatMs: options.heartbeatMs ?? Limits.heartbeatIntervalMs,
      token: () => this.session.token,
    } satisfies Pick<ConnectionOptions, "createSocket" | "backoff" | "heartbeatMs" | "token">;
    this.connection = new Connection({
      ...socket,
      url: socketUrl(options.baseUrl, "/api/v1/ws", { device_id: options.deviceId }),
      onOpen: () => this.onOpen(),
      onFrame: (frame) => this.onFrame(frame),
      onState: (state) => {
        if (state !== "open") this.presence.forget();
        this.emit("connection", state);
      },
      onProtocolError: () => this.emit("error", { type: "error", code: ErrorCode.invalidFrame, message: "unreadable frame from server" }),
    });
    const ctx: ClientContext = { user: this.user, rest: this.rest, socket: this.connection, emit: (event, payload) => this.emit(event, payload) };
    this.sender = new Sender(ctx, options.outbox ?? new MemoryOutbox());
    this.catchUp = new CatchUp(this.connection);
    this.timelines = new Timelines(ctx, this.catchUp);
    this.list = new ConversationList(ctx, this.timelines);
    this.receipts = new Receipts(ctx, this.timelines, this.list, options.deliveredAckIntervalMs ?? 1_000);
    this.presence = new PresenceWatch(ctx);
    this.invites = new Invitations(ctx, this.list);
    this.users = new Users(ctx);
    this.media = new Media(ctx);
    const storage = options.storage ?? defaultStorage();
    this.marks = new Marks(ctx, storage, this.timelines);
    this.emojis = new RecentEmojis(storage, this.user.user_id);
    this.actions = new MessageActions(ctx, { timelines: this.timelines, sender: this.sender, list: this.list, marks: this.marks, emojis: this.emojis });
    this.chat = new ChatEntries(this.user, {
      timelines: this.timelines,
      receipts: this.receipts,
      list: this.list,
      sender: this.sender,
      media: this.media,
      marks: this.marks,
    });
    this.live = new LiveSocket({
      baseUrl: options.baseUrl,
      socket,
      contiguousSeq: (id) => this.timelines.contiguousSeq(id),
      onFrame: (frame) => this.onFrame(frame),
    });
    this.typingState = new TypingState((conversation_id, user_id, typing) => {
      this.emit("typing", { conversation_id, user_id, typing });
      this.emit("conversation", conversation_id);
    });
    this.typingSender = new TypingSender((conversation_id, status) => this.connection.send([{ type: "typing", conversation_id, status }]));
  }

  /** Logs in and returns the account and token to construct a client with. */
  static login(baseUrl: string, body: EndpointInput<"login">["body"], fetchImpl?: typeof fetch): Promise<EndpointOutput<"login">> {
    return new RestClient(baseUrl, () => null, fetchImpl).call("login", { body });
  }

  static register(baseUrl: string, body: EndpointInput<"register">["body"], fetchImpl?: typeof fetch): Promise<EndpointOutput<"register">> {
    return new RestClient(baseUrl, () => null, fetchImpl).call("register", { body });
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  get connectionState(): ConnectionState {
    return this.connection.state;
  }

  /** When the next reconnect attempt is due, while waiting for one. */
  get retryAt(): number | null {
    return this.connection.retryAt;
  }

  /** Loads the outbox left by an earlier run and connects. Safe to call twice. */
  start(): Promise<void> {
    this.started ??= (async () => {
      for (const pending of await this.sender.load()) this.emit("conversation", pending.conversation_id);
      this.connection.start();
      this.presence.start();
      this.session.start();
      this.marks.start();
    })();
    return this.started;
  }

  /** Disconnects and stops every timer. Pending messages stay in the outbox for the next start. */
  stop(): void {
    this.live.unwatch();
    this.connection.stop();
    this.sender.stop();
    this.typingState.clear();
    this.typingSender.clear();
    this.receipts.stop();
    this.list.stop();
    this.marks.stop();
    this.session.stop();
    this.presence.stop();
    this.started = null;
  }

  reconnectNow(): void {
    this.connection.reconnectNow();
  }

  /** Swaps in a refreshed token; the next (re)connect and REST call use it. */
  setToken(token: string): void {
    this.session.set(token);
  }

  /** Logs this device out (or, with `all`, every device of the user) and stops. */
  async logout(options: EndpointInput<"logout">["body"] = {}): Promise<void> {
    try {
      await this.rest.call("logout", { body: options.all ? { all: true } : {} });
    } finally {
      this.stop();
    }
  }

  // ---- sending ---------------------------------------------------------------------------------

  /**
   * Queues a text message: it is in the outbox (and shown as pending) before this resolves, and
   * goes out now if connected, else when the connection returns. `replyTo` quotes a message of the
   * conversation (its server_msg_id; the pending entry shows the quote when this device holds it);
   * `mentions` name members in the text. Throws a ParleyApiError for what the server would refuse
   * (empty, too large, mentions outside the text, a reply to a deleted message).
   */
  send(conversationId: string, content: string, options: { replyTo?: string; mentions?: Mention[] } = {}): Promise<PendingMessage> {
    return this.actions.send(conversationId, content, options);
  }

  // ---- message actions: through the outbox, shown at once, taken back if refused -------------------

  /**
   * Edits the text of one of your text messages (within Limits.editWindowMs of sending it). Shown
   * edited at once; queued like a send; rolled back (`actionFailed` and `error` events) if the
   * server refuses. Throws ParleyApiError for what this device can already tell would be refused.
   */
  edit(conversationId: string, serverMsgId: string, content: string): Promise<void> {
    return this.actions.edit(conversationId, serverMsgId, content);
  }

  /**
   * Reacts to a message with one emoji, replacing your earlier reaction; `null` or "" takes it back.
   * Shown at once, queued like a send, rolled back if refused. Throws ParleyApiError for anything but
   * a single emoji, or a deleted message.
   */
  react(conversationId: string, serverMsgId: string, emoji: string | null): Promise<void> {
    return this.actions.react(conversationId, serverMsgId, emoji);
  }

  /**
   * Deletes a message for everyone: yours within Limits.deleteWindowMs, or any message of a group
   * you are an admin of. Shown deleted at once, queued like a send, rolled back if refused.
   */
  deleteForEveryone(conversationId: string, serverMsgId: string): Promise<void> {
    return this.actions.deleteForEveryone(conversationId, serverMsgId);
  }

  /**
   * Forwards a message to 1 … Limits.forwardMaxTargets conversations: one `forward_message` each,
   * through the outbox, shown pending in each target at once (with this device's copy of the
   * message). The server copies the original, media included (no new upload).
   */
  forward(fromConversationId: string, serverMsgId: string, targetConversationIds: string[]): Promise<PendingMessage[]> {
    return this.actions.forward(fromConversationId, serverMsgId, targetConversationIds);
  }

  // ---- your marks: starred, deleted for me (REST, retried until taken; offline too) --------------

  /** Hides a message on your devices only ("delete for me"). Shown at once; cannot be undone. */
  deleteForMe(conversationId: string, serverMsgId: string): void {
    this.marks.change(conversationId, serverMsgId, "hidden", true);
  }

  /** Stars or unstars a message (for you, on all your devices). Shown at once. */
  star(conversationId: string, serverMsgId: string, starred: boolean): void {
    this.marks.change(conversationId, serverMsgId, "starred", starred);
  }

  isStarred(conversationId: string, serverMsgId: string): boolean {
    return this.marks.isStarred(conversationId, serverMsgId);
  }

  /** Star and delete-for-me changes the server has not taken yet (they are retried until it does). */
  marksWaiting(): number {
    return this.marks.waiting;
  }

  /** Fetches your starred messages across conversations, newest starred first; kept current afterwards (`starred` events). */
  loadStarred(): Promise<StarredMessage[]> {
    return this.marks.loadStarred();
  }

  /** Your starred messages as shown now (after `loadStarred`, plus what was starred since), newest starred first. */
  starredMessages(): StarredMessage[] {
    return this.marks.starred();
  }

  /** Emojis for a reaction picker: the ones you used, most recent first, then a default set. */
  recentEmojis(): string[] {
    return this.emojis.all();
  }

  /** Your newest stored text message still inside the edit window and not deleted (what ↑ edits). */
  lastEditable(conversationId: string): ChatEntry | undefined {
    const entries = this.entries(conversationId);
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i]!;
      if (!e.own || e.server_msg_id === null || e.content_type !== "text" || e.deleted) continue;
      if (Date.now() - e.timestamp > Limits.editWindowMs) return undefined; // older ones are older still
      return e;
    }
    return undefined;
  }

  // ---- search (REST; a result opens with `jumpTo(conversation_id, seq)`) ----------------------

  /** Searches all your conversations: those whose name matches, people in them by name, and messages (newest first). */
  search(q: string, options: { limit?: number } = {}): Promise<SearchResponse> {
    return this.rest.call("search", { query: { q, ...options } });
  }

  /** Searches one conversation's messages, newest first; `before` a seq (the last result's) for the next page. */
  searchIn(conversationId: string, q: string, options: { before?: number; limit?: number } = {}): Promise<ConversationSearchResponse> {
    return this.rest.call("searchConversation", { conversation_id: conversationId, query: { q, ...options } });
  }

  /**
   * Loads older history until row `seq` is held (a reply's quote was tapped): true if it is now in
   * `entries()` (or is an action row), false if there is no such row for you.
   */
  jumpTo(conversationId: string, seq: number): Promise<boolean> {
    return this.timelines.jumpTo(conversationId, seq);
  }

  // ---- groups --------------------------------------------------------------------------------

  /**
   * Who joined, left and was removed from a group, newest first: `next` of one page is `before` of
   * the next (null: no older changes). Only the group's admins may read it (ParleyApiError `forbidden`).
   */
  memberHistory(conversationId: string, options: { before?: string; limit?: number } = {}): Promise<MemberHistoryResponse> {
    return this.rest.call("memberHistory", { conversation_id: conversationId, query: options });
  }

  /**
   * Sends a photo, video or document: uploads the bytes (progress on `upload` events and in
   * `entries()`), then queues the message like `send()`. The upload needs a connection; the message,
   * once uploaded, is in the outbox and survives like any other. Throws ParleyApiError when the
   * server refuses the file (type, size) or the upload fails.
   */
  async sendMedia(conversationId: string, file: Blob, options: MediaOptions = {}): Promise<PendingMessage> {
    const { upload, media } = await this.media.upload(conversationId, file, options);
    const pending: PendingMessage = {
      conversation_id: conversationId,
      client_msg_id: upload.key,
      content: upload.caption,
      content_type: upload.kind,
      media_id: media.media_id,
      media,
      created_at: upload.created_at,
    };
    // The message row takes over from the upload row in one step: no render sees neither.
    const queued = this.sender.enqueue(pending);
    this.media.finished(upload);
    await queued;
    return pending;
  }

  /**
   * Sends a voice message: the recording (audio/webm, ogg, mp4…) through the same upload and outbox
   * as any media, with the length and waveform (0–100 per bar, at most Limits.waveformMaxBars) its
   * recorder measured. Throws ParleyApiError, before anything is uploaded, for metadata out of range.
   */
  sendVoice(conversationId: string, recording: Blob, voice: VoiceInfo): Promise<PendingMessage> {
    const checked = VoiceInfo.safeParse(voice);
    if (!checked.success) return Promise.reject(new ParleyApiError(400, ErrorCode.badRequest, `voice: ${describeIssues(checked.error)}`));
    return this.sendMedia(conversationId, recording, { voice: checked.data });
  }

  /**
   * Marks someone else's voice message played (their blue microphone), once per member; the
   * sender's devices see you in its `played_by`. Queued like any action.
   */
  markPlayed(conversationId: string, serverMsgId: string): Promise<void> {
    return this.actions.markPlayed(conversationId, serverMsgId);
  }

  /** Uploads under way, oldest first. */
  uploadsIn(conversationId: string): UploadInProgress[] {
    return this.media.uploadsIn(conversationId);
  }

  /**
   * URLs for a media's bytes and thumbnail that need no token (for <img>, <video>, download links),
   * fetched once and reused until shortly before they expire.
   */
  mediaUrls(mediaId: string): Promise<MediaUrlResponse> {
    return this.media.urls(mediaId);
  }

  /** Messages the server has not acknowledged yet, oldest first. */
  pending(conversationId?: string): PendingMessage[] {
    return this.sender.pending(conversationId);
  }

  /** Forgets a message the server refused. */
  discardFailed(clientMsgId: string): void {
    const conversationId = this.sender.discardFailed(clientMsgId);
    if (conversationId !== undefined) this.emit("conversation", conversationId);
  }

  /** Call on every keystroke in a conversation's composer; throttled to the protocol's rate. */
  typing(conversationId: string): void {
    this.typingSender.keystroke(conversationId);
  }

  stopTyping(conversationId: string): void {
    this.typingSender.stop(conversationId);
  }

  /**
   * The user has seen the conversation: acknowledge `read` up to the newest message held. The
   * unread count drops when the acknowledgement goes out (at once, or when the connection returns).
   */
  markRead(conversationId: string): void {
    this.receipts.markRead(conversationId);
    // Reading ends "mark as unread"; a read acknowledgement that moves nothing is not sent, so say it
    // (once: the app calls this on every change while the chat is open).
    if (this.list.get(conversationId)?.marked_unread && !this.clearingUnread.has(conversationId)) {
      this.clearingUnread.add(conversationId);
      this.markUnread(conversationId, false)
        // Failing, the list is fetched again: it shows what the server has.
        .catch(() => this.list.reconnected())
        .finally(() => this.clearingUnread.delete(conversationId));
    }
  }

  // ---- reading ---------------------------------------------------------------------------------

  /** The conversation list, most recently active first, kept current by the socket. */
  conversations(): ConversationSummary[] {
    return this.list.all();
  }

  conversation(conversationId: string): ConversationSummary | undefined {
    return this.list.get(conversationId);
  }

  /** True once the conversation list has been fetched (an empty list is then really empty). */
  get conversationsLoaded(): boolean {
    return this.list.loaded;
  }

  /** Fetches the conversation list from the server. */
  refreshConversations(): Promise<ConversationSummary[]> {
    return this.list.refresh();
  }

  /** Archives (hides from the main list) or unarchives conversations: one request for many. */
  setArchived(conversationIds: string[], archived: boolean): Promise<BulkResponse> {
    return this.list.setArchived(conversationIds, archived);
  }

  /**
   * Mutes the conversation for this user on all their devices until a time, "always", or (null)
   * unmutes it: no push then except for messages that mention the user.
   */
  mute(conversationId: string, until: number | "always" | null): Promise<ConversationSettings> {
    return this.list.updateSettings(conversationId, { muted_until: until });
  }

  /** Pins the conversation to the top of the list (at most three: a fourth is refused with `too_many_pinned`), or unpins it. */
  pin(conversationId: string, pinned: boolean): Promise<ConversationSettings> {
    return this.list.updateSettings(conversationId, { pinned });
  }

  /** Marks the conversation unread (until it is next read, on any device), or takes the mark away. */
  markUnread(conversationId: string, unread: boolean): Promise<ConversationSettings> {
    return this.list.updateSettings(conversationId, { marked_unread: unread });
  }

  /** Leaves groups: one request for many. */
  leave(conversationIds: string[]): Promise<BulkResponse> {
    return this.list.leave(conversationIds);
  }

  /** Invitations to groups waiting for this user's answer (fetched with `refreshInvitations`, then kept by the socket). */
  invitations(): Invitation[] {
    return this.invites.all();
  }

  refreshInvitations(): Promise<Invitation[]> {
    return this.invites.refresh();
  }

  /** Joins the group; it then shows in the conversation list. */
  acceptInvitation(conversationId: string): Promise<void> {
    return this.invites.accept(conversationId);
  }

  declineInvitation(conversationId: string): Promise<void> {
    return this.invites.decline(conversationId);
  }

  /** Stored messages and this device's unsent ones, in the order the conversation shows them. */
  entries(conversationId: string): ChatEntry[] {
    return this.chat.of(conversationId);
  }

  messages(conversationId: string): Message[] {
    return this.timelines.messages(conversationId);
  }

  /** The highest seq this device holds with nothing missing below it. */
  contiguousSeq(conversationId: string): number | null {
    return this.timelines.contiguousSeq(conversationId);
  }

  typingIn(conversationId: string): string[] {
    return this.typingState.typingIn(conversationId);
  }

  /**
   * A user's profile if known; otherwise undefined now, and fetched once in the background (a
   * `user` event follows), so a list can render at once and fill in names as they arrive.
   */
  userById(userId: string): User | undefined {
    return this.users.byId(userId);
  }

  /** Records a profile the app learned another way (e.g. a username lookup). */
  rememberUser(user: User): void {
    this.users.remember(user);
  }

  /** This account's profile as last saved (name, about, photo). */
  profile(): User {
    return this.users.byId(this.user.user_id) ?? this.user;
  }

  /**
   * Changes the profile, privacy or settings (PATCH /users/me): `display_name`, `about`,
   * `photo_visible_to`, `about_visible_to`, `read_receipts`, … A `user` event follows.
   */
  async updateMe(changes: EndpointInput<"updateMe">["body"]): Promise<{ user: User; settings: UserSettings }> {
    const saved = await this.rest.call("updateMe", { body: changes });
    this.users.learned(saved.user);
    return saved;
  }

  /** Uploads `file` as the profile photo (null removes it); the one it replaces is deleted. */
  async setProfilePhoto(file: Blob | null): Promise<User> {
    const photo_media_id = file ? await this.media.uploadPhoto(file) : null;
    return (await this.updateMe({ photo_media_id })).user;
  }

  /** Uploads `file` as a group's photo (null removes it), if this user may edit the group's info. */
  async setGroupPhoto(conversationId: string, file: Blob | null): Promise<Conversation> {
    const photo_media_id = file ? await this.media.uploadPhoto(file) : null;
    return (await this.rest.call("updateGroup", { conversation_id: conversationId, body: { photo_media_id } })).conversation;
  }

  /** A URL for a profile or group photo's thumbnail (an <img> needs no token for it), or null without one. */
  async photoUrl(photo: Photo | undefined): Promise<string | null> {
    if (!photo) return null;
    const urls = await this.media.urls(photo.media_id);
    return urls.thumbnail_url ?? urls.url;
  }

  presenceOf(userId: string): Presence | undefined {
    return this.presence.of(userId);
  }

  hasOlder(conversationId: string): boolean {
    return this.timelines.hasOlder(conversationId);
  }

  /**
   * Loads the page of history before the oldest message held (the newest page when none is held).
   * Returns how many messages were new to this device.
   */
  loadOlder(conversationId: string, limit: number = Limits.historyDefaultPage): Promise<number> {
    return this.timelines.loadOlder(conversationId, limit);
  }

  /**
   * Fetches who has received and read your newest message in a conversation, so ticks are right
   * after a reload (receipts that arrived while this device was away are not replayed as frames).
   */
  loadReceipts(conversationId: string): Promise<void> {
    return this.receipts.load(conversationId);
  }

  /** Watches users' presence (people you share a conversation with); kept renewed while connected. */
  subscribePresence(userIds: string[]): void {
    this.presence.subscribe(userIds);
  }

  /**
   * Opens the conversation's live socket, the fastest path for the conversation on screen (served
   * by the conversation object itself). Messages arriving on both sockets are merged by seq.
   * One at a time: watching another conversation closes the previous live socket.
   */
  watch(conversationId: string): void {
    this.live.watch(conversationId);
  }

  unwatch(): void {
    this.live.unwatch();
  }

  // ---- the sockets -----------------------------------------------------------------------------

  private onOpen(): void {
    // A reopened socket (not the first): settings changed while away come with the list.
    if (this.openedBefore) {
      this.list.reconnected();
      // Names, photos and privacy may have changed while away.
      this.users.stale();
    }
    this.openedBefore = true;
    this.sender.resend();
    this.catchUp.reset();
    this.receipts.flushReads();
    this.presence.renew();
    void this.marks.connected();
  }

  /** Every server frame, from the device socket or the live one, goes to the part it concerns. */
  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case "new_message": {
        const { type: _, ...message } = frame;
        this.receive(message);
        break;
      }
      case "message_ack":
        this.acknowledged(frame);
        break;
      case "message_status":
        this.receipts.heard(frame);
        break;
      case "error":
        if (!this.sender.refused(frame)) this.emit("error", frame);
        break;
      case "typing":
        this.typingState.update(frame.conversation_id, frame.user_id, frame.status === "typing");
        break;
      case "presence": {
        const { type: _, ...presence } = frame;
        this.presence.heard(presence);
        break;
      }
      case "invitation":
        this.invites.received(frame.invitation);
        break;
      case "marks":
        this.marks.heard(frame.marks, true);
        break;
      case "conversation_settings":
        this.list.applySettings(frame.settings);
        break;
      case "profile":
        this.users.learned(frame.user);
        break;
      case "heartbeat_ack":
        break;
    }
  }

  /** A row (message or action) from someone else, or from another of your devices. */
  private receive(message: Message): void {
    if (!this.timelines.add(message)) return;
    const action = isAction(message);
    // A message from someone else means they are no longer typing it (a reaction does not).
    if (!action) this.typingState.update(message.conversation_id, message.sender_id, false);
    this.list.note(message, this.receipts.readUpTo(message.conversation_id));
    this.receipts.arrived(message.conversation_id);
    this.emit(action ? "action" : "message", message);
    this.emit("conversation", message.conversation_id);
  }

  /** One of your messages or actions from this device is stored: it leaves the outbox and joins its timeline. */
  private acknowledged(ack: MessageAckFrame): void {
    const pending = this.sender.acknowledged(ack);
    if (pending) {
      const row = this.actions.storedRow(pending, ack);
      if (!row) this.timelines.expect(ack.conversation_id, ack.seq);
      else if (this.timelines.addOwn(row, pending.client_msg_id)) this.list.note(row, this.receipts.readUpTo(row.conversation_id));
      if (!isPendingAction(pending)) this.emit("sent", { pending, ack });
    }
    this.emit("conversation", ack.conversation_id);
  }
}

