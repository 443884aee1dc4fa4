import { ErrorCode } from "../protocol/errors";
import {
  checkOutgoing,
  type ClientFrame,
  type ErrorFrame,
  type MessageAckFrame,
  type MessageStatusUpdateFrame,
  type Presence,
  type ServerFrame,
} from "../protocol/frames";
import { Limits } from "../protocol/limits";
import type { BulkResponse } from "../protocol/rest";
import { mediaKindOf, type MediaKind, type MediaUrlResponse } from "../protocol/media";
import { membersAfter, removes, SystemEvent, type ConversationSummary, type Invitation, type MediaRef, type Message, type User } from "../protocol/models";
import { putBytes } from "./media";
import {
  Connection,
  defaultBackoff,
  type BackoffOptions,
  type ConnectionOptions,
  type ConnectionState,
  type SocketFactory,
} from "./connection";
import { Emitter } from "./emitter";
import { MemoryOutbox, type OutboxStore, type PendingMessage } from "./outbox";
import { ReceiptCursors } from "./receipts";
import { ParleyApiError, RestClient } from "./rest";
import { ConversationTimeline } from "./timeline";
import { TypingSender, TypingState } from "./typing";

export interface ParleyClientOptions {
  /** Where the Worker is, e.g. `http://127.0.0.1:8787` or `https://chat.example.com`. */
  baseUrl: string;
  token: string;
  user: User;
  /** Stable per install: delivery cursors are kept per device. */
  deviceId: string;
  /** Where unacknowledged messages wait; `IndexedDbOutbox` in browsers. Default: in memory. */
  outbox?: OutboxStore;
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

/** How one of your messages stands: in the outbox, stored, delivered to / read by every recipient, or refused. */
export type MessageState = "pending" | "sent" | "delivered" | "read" | "failed";

/** One row of a chat as an app shows it: a stored message, or one of yours still waiting to be stored. */
export interface ChatEntry {
  /** Stable across the pending → sent transition: the client_msg_id for your messages sent here. */
  key: string;
  conversation_id: string;
  seq: number | null;
  server_msg_id: string | null;
  sender_id: string;
  content: string;
  content_type: Message["content_type"];
  timestamp: number;
  media?: Message["media"];
  own: boolean;
  /** For your own messages; null for others'. */
  state: MessageState | null;
  error?: { code: string; message: string };
  /** While a media message's bytes are still uploading. */
  upload?: { loaded: number; total: number };
}

/** A media upload in progress, before its message joins the outbox. */
export interface UploadInProgress {
  key: string;
  conversation_id: string;
  content_type: string;
  kind: MediaKind;
  filename: string | null;
  loaded: number;
  total: number;
  created_at: number;
  caption: string;
}

export interface ParleyClientEvents {
  connection: ConnectionState;
  /** A message new to this device, from someone else or from another of your devices. */
  message: Message;
  /** Something shown for this conversation changed: messages, ticks, typing. */
  conversation: string;
  /** The conversation list changed (order, last message, unread counts, names, members). */
  conversations: ConversationSummary[];
  sent: { pending: PendingMessage; ack: MessageAckFrame };
  failed: { pending: PendingMessage; error: { code: string; message: string } };
  receipt: MessageStatusUpdateFrame;
  typing: { conversation_id: string; user_id: string; typing: boolean };
  presence: Presence;
  /** An error frame not tied to one of your messages. */
  error: ErrorFrame;
  /** A user's profile was fetched: names can be shown for them now. */
  user: User;
  /** An upload moved forward (or ended: `done`). */
  upload: UploadInProgress & { done: boolean };
  /** The session token was refreshed: store the new one (e.g. for the next app start). */
  token: string;
  /** Someone invited you to a group: accept or decline with `acceptInvitation` / `declineInvitation`. */
  invitation: Invitation;
  /** The pending invitations changed. */
  invitations: Invitation[];
}

/** Codes after which resending the same message cannot succeed. */
const retryable = new Set<string>([ErrorCode.internal]);
const PRESENCE_RENEW_MS = Limits.presenceSubscriptionMs / 2;
type StatusFrame = Extract<ClientFrame, { type: "message_status" }>;
const newClientMsgId = () => `c_${crypto.randomUUID()}`;

/**
 * The Parley client: one device socket kept connected, an outbox that makes every send exactly-once,
 * each conversation's messages in seq order without duplicates or holes, delivered/read receipts
 * both ways, typing and presence. Runs in browsers, Node 22 and workerd.
 */
export class ParleyClient extends Emitter<ParleyClientEvents> {
  readonly rest: RestClient;
  readonly user: User;
  private token: string;
  private readonly connection: Connection;
  private readonly outbox: OutboxStore;
  private readonly pendingById = new Map<string, PendingMessage>();
  private readonly failed = new Map<string, { pending: PendingMessage; error: { code: string; message: string } }>();
  private readonly timelines = new Map<string, ConversationTimeline>();
  private readonly receiptsByConversation = new Map<string, ReceiptCursors>();
  private readonly summaries = new Map<string, ConversationSummary>();
  private readonly olderExhausted = new Set<string>();
  private readonly deliveredSent = new Map<string, number>();
  private readonly readSent = new Map<string, number>();
  private readonly readWanted = new Set<string>();
  private readonly syncing = new Map<string, { afterSeq: number; at: number }>();
  private readonly deliveredDirty = new Set<string>();
  private deliveredTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * After the server refused a send for rate: sends wait here (ids) until one timer sends them all
   * again in the order they were made, so none overtakes another (the server refuses the socket's
   * later sends too until the first refused one comes back).
   */
  private rateHold: ReturnType<typeof setTimeout> | null = null;
  private readonly heldBack = new Set<string>();
  private lastDeliveredFlush = -Infinity;
  private readonly deliveredAckIntervalMs: number;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private presenceTimer: ReturnType<typeof setInterval> | null = null;
  private readonly presence = new Map<string, Presence>();
  private readonly watched = new Set<string>();
  private readonly typingState: TypingState;
  private readonly typingSender: TypingSender;
  private started: Promise<void> | null = null;
  private refreshTimerForToken: ReturnType<typeof setTimeout> | null = null;
  private readonly baseUrl: string;
  private readonly socketOptions: Pick<ConnectionOptions, "createSocket" | "backoff" | "heartbeatMs">;
  private live: { conversationId: string; connection: Connection } | null = null;
  private outgoing: ClientFrame[] = [];
  private readonly users = new Map<string, User>();
  private readonly uploads = new Map<string, UploadInProgress>();
  /** server_msg_id → client_msg_id of messages sent from this device, so their row key never changes. */
  private readonly ownKeys = new Map<string, string>();
  private readonly mediaUrlCache = new Map<string, Promise<MediaUrlResponse>>();
  private readonly usersLoading = new Set<string>();

  constructor(options: ParleyClientOptions) {
    super();
    this.user = options.user;
    this.token = options.token;
    this.outbox = options.outbox ?? new MemoryOutbox();
    this.deliveredAckIntervalMs = options.deliveredAckIntervalMs ?? 1_000;
    this.baseUrl = options.baseUrl;
    this.users.set(options.user.user_id, options.user);
    this.rest = new RestClient(options.baseUrl, () => this.token, options.fetch);
    this.socketOptions = {
      createSocket: options.createSocket ?? ((url, protocols) => new WebSocket(url, protocols)),
      backoff: { ...defaultBackoff, ...options.backoff },
      heartbeatMs: options.heartbeatMs ?? Limits.heartbeatIntervalMs,
    };
    this.connection = new Connection({
      ...this.socketOptions,
      url: this.socketUrl("/api/v1/ws", { device_id: options.deviceId }),
      token: () => this.token,
      onOpen: () => this.onOpen(),
      onFrame: (frame) => this.onFrame(frame),
      onState: (state) => {
        // Presence heard before a drop may be stale by now; it is sent afresh on resubscribe.
        if (state !== "open") this.presence.clear();
        this.emit("connection", state);
      },
      onProtocolError: () => this.emit("error", { type: "error", code: ErrorCode.invalidFrame, message: "unreadable frame from server" }),
    });
    this.typingState = new TypingState((conversation_id, user_id, typing) => {
      this.emit("typing", { conversation_id, user_id, typing });
      this.emit("conversation", conversation_id);
    });
    this.typingSender = new TypingSender((conversation_id, status) =>
      this.connection.send([{ type: "typing", conversation_id, status }]),
    );
  }

  /** Logs in and returns the account and token to construct a client with. */
  static login(baseUrl: string, body: { username: string; password: string }, fetchImpl?: typeof fetch) {
    return new RestClient(baseUrl, () => null, fetchImpl).call("login", { body });
  }

  static register(baseUrl: string, body: { username: string; password: string; display_name?: string }, fetchImpl?: typeof fetch) {
    return new RestClient(baseUrl, () => null, fetchImpl).call("register", { body });
  }

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
      for (const pending of await this.outbox.list()) this.pendingById.set(pending.client_msg_id, pending);
      for (const pending of this.pendingById.values()) this.emit("conversation", pending.conversation_id);
      this.connection.start();
      this.presenceTimer = setInterval(() => this.renewPresence(), PRESENCE_RENEW_MS);
      this.scheduleRefresh();
    })();
    return this.started;
  }

  /** Disconnects and stops every timer. Pending messages stay in the outbox for the next start. */
  stop(): void {
    this.unwatch();
    this.connection.stop();
    this.clearHold();
    this.typingState.clear();
    this.typingSender.clear();
    for (const timer of [this.deliveredTimer, this.refreshTimer, this.refreshTimerForToken]) if (timer) clearTimeout(timer);
    this.refreshTimerForToken = null;
    if (this.presenceTimer) clearInterval(this.presenceTimer);
    this.deliveredTimer = this.refreshTimer = this.presenceTimer = null;
    this.started = null;
  }

  reconnectNow(): void {
    this.connection.reconnectNow();
  }

  /** Swaps in a refreshed token; the next (re)connect and REST call use it. */
  setToken(token: string): void {
    this.token = token;
    this.scheduleRefresh();
  }

  /** Logs this device out (or, with `all`, every device of the user) and stops. */
  async logout(options: { all?: boolean } = {}): Promise<void> {
    try {
      await this.rest.call("logout", { body: options.all ? { all: true } : {} });
    } finally {
      this.stop();
    }
  }

  /**
   * Tokens live a day: refresh an hour before expiry (or soon, if less is left), so a client that
   * stays open never finds its session expired. The new token is announced with a `token` event.
   */
  private scheduleRefresh(): void {
    if (this.refreshTimerForToken) clearTimeout(this.refreshTimerForToken);
    const exp = tokenExpiry(this.token);
    if (exp === null || !this.started) return;
    const delay = Math.max(60_000, exp - Date.now() - 60 * 60_000);
    this.refreshTimerForToken = setTimeout(() => {
      this.rest
        .call("refresh")
        .then(({ token }) => {
          this.token = token;
          this.emit("token", token);
          this.scheduleRefresh();
        })
        .catch((err: unknown) => {
          // The session ended (logged out, too old, or this token was already replaced): nothing to
          // retry; its socket is closed with 4003 ("revoked").
          if (err instanceof ParleyApiError && err.status === 401) return;
          // Offline or the server is down: try again in a minute (the old token still works until exp).
          this.refreshTimerForToken = setTimeout(() => this.scheduleRefresh(), 60_000);
        });
    }, Math.min(delay, 2 ** 31 - 1));
  }

  // ---- sending ---------------------------------------------------------------------------------

  /**
   * Queues a text message: it is in the outbox (and shown as pending) before this resolves, and
   * goes out now if connected, else when the connection returns. Throws a ParleyApiError for
   * content the server would refuse (empty, too large).
   */
  async send(conversationId: string, content: string): Promise<PendingMessage> {
    const pending: PendingMessage = {
      conversation_id: conversationId,
      client_msg_id: newClientMsgId(),
      content,
      content_type: "text",
      created_at: Date.now(),
    };
    const refused = checkOutgoing(pending);
    if (refused) throw new ParleyApiError(400, refused.code, refused.message);
    this.pendingById.set(pending.client_msg_id, pending);
    await this.outbox.put(pending);
    // Shown as pending only once it is stored: an app closed right after the tap still sends it on
    // the next start (the put resolves when IndexedDB has committed it).
    this.emit("conversation", conversationId);
    // It may have been acked already if an earlier flush raced the put; only send what is still pending.
    if (this.pendingById.has(pending.client_msg_id)) this.sendPending(pending);
    this.typingSender.stop(conversationId);
    return pending;
  }

  /**
   * Sends a photo, video or document: uploads the bytes (progress on `upload` events and in
   * `entries()`), then queues the message like `send()`. The upload needs a connection; the message,
   * once uploaded, is in the outbox and survives like any other. Throws ParleyApiError when the
   * server refuses the file (type, size) or the upload fails.
   */
  async sendMedia(conversationId: string, file: Blob, options: { filename?: string; caption?: string } = {}): Promise<PendingMessage> {
    const contentType = (file.type || "application/octet-stream").split(";")[0]!.toLowerCase();
    const kind = mediaKindOf(contentType);
    if (!kind) throw new ParleyApiError(415, ErrorCode.unsupportedMediaType, `${contentType} files cannot be sent`);
    const filename = options.filename ?? (file as { name?: string }).name ?? null;
    const upload: UploadInProgress = {
      key: newClientMsgId(),
      conversation_id: conversationId,
      content_type: contentType,
      kind,
      filename,
      loaded: 0,
      total: file.size,
      created_at: Date.now(),
      caption: options.caption ?? "",
    };
    const progressed = (done: boolean) => {
      this.emit("upload", { ...upload, done });
      this.emit("conversation", conversationId);
    };
    this.uploads.set(upload.key, upload);
    progressed(false);
    let media: MediaRef;
    try {
      const slot = await this.rest.call("mediaUpload", {
        body: { content_type: contentType, size: file.size, ...(filename ? { filename } : {}) },
      });
      await putBytes(slot.upload_url, slot.headers, file, (loaded, total) => {
        upload.loaded = loaded;
        upload.total = total;
        progressed(false);
      });
      ({ media } = await this.rest.call("mediaComplete", { media_id: slot.media_id }));
    } catch (err) {
      this.uploads.delete(upload.key);
      progressed(true);
      if (err instanceof ParleyApiError) throw err;
      const e = err as { status?: number; code?: string; message?: string };
      throw new ParleyApiError(e.status ?? 0, e.code ?? "upload_failed", e.message ?? "the upload failed");
    }
    const pending: PendingMessage = {
      conversation_id: conversationId,
      client_msg_id: upload.key,
      content: upload.caption,
      content_type: kind,
      media_id: media.media_id,
      media,
      created_at: upload.created_at,
    };
    // The message row takes over from the upload row in one step: no render sees neither.
    this.pendingById.set(pending.client_msg_id, pending);
    this.uploads.delete(upload.key);
    progressed(true);
    await this.outbox.put(pending);
    if (this.pendingById.has(pending.client_msg_id)) this.sendPending(pending);
    return pending;
  }

  /** Uploads under way, oldest first. */
  uploadsIn(conversationId: string): UploadInProgress[] {
    return [...this.uploads.values()].filter((u) => u.conversation_id === conversationId);
  }

  /**
   * URLs for a media's bytes and thumbnail that need no token (for <img>, <video>, download links),
   * fetched once and reused until shortly before they expire.
   */
  mediaUrls(mediaId: string): Promise<MediaUrlResponse> {
    const cached = this.mediaUrlCache.get(mediaId);
    if (cached) return cached;
    const fetching = this.rest.call("mediaUrl", { media_id: mediaId });
    this.mediaUrlCache.set(mediaId, fetching);
    fetching.then(
      (urls) => setTimeout(() => this.mediaUrlCache.delete(mediaId), Math.max(0, urls.expires_at - Date.now() - 5 * 60_000)),
      () => this.mediaUrlCache.delete(mediaId),
    );
    return fetching;
  }

  /** Messages the server has not acknowledged yet, oldest first. */
  pending(conversationId?: string): PendingMessage[] {
    return [...this.pendingById.values()]
      .filter((p) => conversationId === undefined || p.conversation_id === conversationId)
      .sort((a, b) => a.created_at - b.created_at);
  }

  /** Forgets a message the server refused. */
  discardFailed(clientMsgId: string): void {
    const entry = this.failed.get(clientMsgId);
    if (!entry) return;
    this.failed.delete(clientMsgId);
    this.emit("conversation", entry.pending.conversation_id);
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
    const top = this.timelines.get(conversationId)?.contiguousSeq ?? null;
    if (top === null) return;
    if (top <= (this.readSent.get(conversationId) ?? 0)) {
      this.clearUnread(conversationId);
      return;
    }
    this.readWanted.add(conversationId);
    this.flushReads();
  }

  // ---- reading ---------------------------------------------------------------------------------

  /** The conversation list, most recently active first, kept current by the socket. */
  conversations(): ConversationSummary[] {
    return [...this.summaries.values()].sort(
      (a, b) => (b.last_message?.timestamp ?? b.updated_at) - (a.last_message?.timestamp ?? a.updated_at),
    );
  }

  conversation(conversationId: string): ConversationSummary | undefined {
    return this.summaries.get(conversationId);
  }

  /** True once the conversation list has been fetched (an empty list is then really empty). */
  conversationsLoaded = false;

  /** Fetches the conversation list from the server. */
  async refreshConversations(): Promise<ConversationSummary[]> {
    // Page by page (the server caps a page), archived ones too (each summary says which it is); the
    // list is bounded by the per-user conversation caps.
    const conversations: ConversationSummary[] = [];
    for (const archived of ["false", "true"] as const) {
      let cursor: string | undefined;
      do {
        const page = await this.rest.call("listConversations", { query: { limit: Limits.conversationListMaxPage, cursor, archived } });
        conversations.push(...page.conversations);
        cursor = page.next ?? undefined;
      } while (cursor);
    }
    this.conversationsLoaded = true;
    this.summaries.clear();
    for (const summary of conversations) {
      this.summaries.set(summary.conversation_id, summary);
      if (summary.last_message && this.timeline(summary.conversation_id).contiguousSeq === null) {
        this.timeline(summary.conversation_id).anchor(summary.last_message.seq);
      }
    }
    this.emitConversations();
    return this.conversations();
  }

  /** Archives (hides from the main list) or unarchives conversations: one request for many. */
  async setArchived(conversationIds: string[], archived: boolean): Promise<BulkResponse> {
    const result = await this.rest.call("archiveMany", { body: { conversation_ids: conversationIds, archived } });
    for (const id of result.done) {
      const summary = this.summaries.get(id);
      if (summary) this.summaries.set(id, { ...summary, archived });
    }
    this.emitConversations();
    return result;
  }

  /** Leaves groups: one request for many. */
  async leave(conversationIds: string[]): Promise<BulkResponse> {
    const result = await this.rest.call("leaveMany", { body: { conversation_ids: conversationIds } });
    for (const id of result.done) this.summaries.delete(id);
    this.emitConversations();
    return result;
  }

  // ---- invitations -----------------------------------------------------------------------------

  private readonly pendingInvitations = new Map<string, Invitation>();

  /** Invitations to groups waiting for this user's answer (fetched with `refreshInvitations`, then kept by the socket). */
  invitations(): Invitation[] {
    const now = Date.now();
    return [...this.pendingInvitations.values()].filter((i) => i.expires_at > now).sort((a, b) => b.created_at - a.created_at);
  }

  async refreshInvitations(): Promise<Invitation[]> {
    const { invitations } = await this.rest.call("invitations");
    this.pendingInvitations.clear();
    for (const i of invitations) this.pendingInvitations.set(i.conversation_id, i);
    this.emit("invitations", this.invitations());
    return this.invitations();
  }

  /** Joins the group; it then shows in the conversation list. */
  async acceptInvitation(conversationId: string): Promise<void> {
    try {
      await this.rest.call("acceptInvitation", { conversation_id: conversationId });
    } finally {
      this.pendingInvitations.delete(conversationId);
      this.emit("invitations", this.invitations());
    }
    if (this.conversationsLoaded) await this.refreshConversations();
  }

  async declineInvitation(conversationId: string): Promise<void> {
    this.pendingInvitations.delete(conversationId);
    this.emit("invitations", this.invitations());
    await this.rest.call("declineInvitation", { conversation_id: conversationId }).catch((err: unknown) => {
      // Already gone (expired, or answered on another device): nothing left to decline.
      if (!(err instanceof ParleyApiError && err.code === ErrorCode.invitationNotFound)) throw err;
    });
  }

  /** Stored messages and this device's unsent ones, in the order the conversation shows them. */
  entries(conversationId: string): ChatEntry[] {
    const timeline = this.timelines.get(conversationId);
    const receipts = this.receiptsByConversation.get(conversationId);
    const recipients = (this.summaries.get(conversationId)?.members ?? [])
      .map((m) => m.user_id)
      .filter((id) => id !== this.user.user_id);
    // A withheld placeholder (you blocked its sender) only keeps the sequence whole: not shown.
    const rows: ChatEntry[] = (timeline?.messages() ?? []).filter((m) => !isWithheld(m)).map((m) => {
      const own = m.sender_id === this.user.user_id && m.content_type !== "system";
      return {
        ...m,
        key: this.ownKeys.get(m.server_msg_id) ?? m.server_msg_id,
        own,
        state: own ? (receipts?.stateOf(m.seq, recipients) ?? "sent") : null,
      };
    });
    const local = [...this.pending(conversationId).map((p) => ({ pending: p, error: undefined })), ...this.failedIn(conversationId)];
    for (const { pending, error } of local.sort((a, b) => a.pending.created_at - b.pending.created_at)) {
      rows.push({
        key: pending.client_msg_id,
        conversation_id: conversationId,
        seq: null,
        server_msg_id: null,
        sender_id: this.user.user_id,
        content: pending.content,
        content_type: pending.content_type,
        timestamp: pending.created_at,
        ...(pending.media ? { media: pending.media } : {}),
        own: true,
        state: error ? "failed" : "pending",
        ...(error ? { error } : {}),
      });
    }
    for (const upload of this.uploadsIn(conversationId)) {
      rows.push({
        key: upload.key,
        conversation_id: conversationId,
        seq: null,
        server_msg_id: null,
        sender_id: this.user.user_id,
        content: upload.caption,
        content_type: upload.kind,
        timestamp: upload.created_at,
        media: { media_id: "", content_type: upload.content_type, size: upload.total, filename: upload.filename },
        own: true,
        state: "pending",
        upload: { loaded: upload.loaded, total: upload.total },
      });
    }
    return rows;
  }

  messages(conversationId: string): Message[] {
    return this.timelines.get(conversationId)?.messages() ?? [];
  }

  /** The highest seq this device holds with nothing missing below it. */
  contiguousSeq(conversationId: string): number | null {
    return this.timelines.get(conversationId)?.contiguousSeq ?? null;
  }

  typingIn(conversationId: string): string[] {
    return this.typingState.typingIn(conversationId);
  }

  /**
   * A user's profile if known; otherwise undefined now, and fetched once in the background (a
   * `user` event follows), so a list can render at once and fill in names as they arrive.
   */
  userById(userId: string): User | undefined {
    const known = this.users.get(userId);
    if (known || this.usersLoading.has(userId)) return known;
    this.usersLoading.add(userId);
    this.rest
      .call("user", { user_id: userId })
      .then(({ user }) => {
        this.users.set(user.user_id, user);
        this.emit("user", user);
      })
      .catch(() => {
        /* unknown or unreachable: the app keeps its fallback */
      })
      .finally(() => this.usersLoading.delete(userId));
    return undefined;
  }

  /** Records a profile the app learned another way (e.g. a username lookup). */
  rememberUser(user: User): void {
    this.users.set(user.user_id, user);
  }

  presenceOf(userId: string): Presence | undefined {
    return this.presence.get(userId);
  }

  hasOlder(conversationId: string): boolean {
    return !this.olderExhausted.has(conversationId);
  }

  /**
   * Loads the page of history before the oldest message held (the newest page when none is held).
   * Returns how many messages were new to this device.
   */
  async loadOlder(conversationId: string, limit: number = Limits.historyDefaultPage): Promise<number> {
    const timeline = this.timeline(conversationId);
    const before = timeline.oldestSeq();
    if (before !== null && before <= 1) {
      this.olderExhausted.add(conversationId);
      return 0;
    }
    const page = await this.rest.call("history", {
      conversation_id: conversationId,
      query: before === null ? { limit } : { before, limit },
    });
    if (!page.has_more) this.olderExhausted.add(conversationId);
    const added = timeline.addPage(page.messages, before === null);
    this.emit("conversation", conversationId);
    return added;
  }

  /**
   * Fetches who has received and read your newest message in a conversation, so ticks are right
   * after a reload (receipts that arrived while this device was away are not replayed as frames).
   */
  async loadReceipts(conversationId: string): Promise<void> {
    const own = [...this.messages(conversationId)].reverse().find((m) => m.sender_id === this.user.user_id && m.content_type !== "system");
    if (!own) return;
    const { receipts } = await this.rest.call("receipts", { conversation_id: conversationId, server_msg_id: own.server_msg_id });
    const cursors = this.receipts(conversationId);
    for (const r of receipts) {
      if (r.read_at !== null) cursors.note(r.user_id, "read", own.seq);
      else if (r.delivered_at !== null) cursors.note(r.user_id, "delivered", own.seq);
    }
    this.emit("conversation", conversationId);
  }

  /** Watches users' presence (people you share a conversation with); kept renewed while connected. */
  subscribePresence(userIds: string[]): void {
    const fresh = userIds.filter((id) => id !== this.user.user_id && !this.watched.has(id));
    for (const id of fresh) this.watched.add(id);
    if (fresh.length) this.sendPresenceSubscribe(fresh);
  }

  /**
   * Opens the conversation's live socket, the fastest path for the conversation on screen (served
   * by the conversation object itself). Messages arriving on both sockets are merged by seq.
   * One at a time: watching another conversation closes the previous live socket.
   */
  watch(conversationId: string): void {
    if (this.live?.conversationId === conversationId) return;
    this.unwatch();
    const connection: Connection = new Connection({
      ...this.socketOptions,
      url: this.socketUrl(`/api/v1/conversations/${encodeURIComponent(conversationId)}/ws`, {}),
      token: () => this.token,
      // The live socket sends only what is stored after it opened; sync closes any gap behind it.
      onOpen: () => {
        const top = this.contiguousSeq(conversationId);
        if (top !== null) connection.send([{ type: "sync", conversation_id: conversationId, after_seq: top, limit: Limits.syncMaxPage }]);
      },
      onFrame: (frame) => {
        if (frame.type === "new_message" || frame.type === "typing") this.onFrame(frame);
      },
      onState: () => {},
      onProtocolError: () => {},
    });
    this.live = { conversationId, connection };
    connection.start();
  }

  unwatch(): void {
    this.live?.connection.stop();
    this.live = null;
  }

  // ---- the socket ------------------------------------------------------------------------------

  /** A message from the outbox goes now, or with the held ones if the server asked us to slow down. */
  private sendPending(pending: PendingMessage): void {
    if (this.rateHold) this.heldBack.add(pending.client_msg_id);
    else this.transmit(sendFrame(pending));
  }

  private releaseHeld(): void {
    this.rateHold = null;
    const held = this.pending().filter((p) => this.heldBack.has(p.client_msg_id));
    this.heldBack.clear();
    for (const p of held) this.transmit(sendFrame(p));
  }

  private clearHold(): void {
    if (this.rateHold) clearTimeout(this.rateHold);
    this.rateHold = null;
    this.heldBack.clear();
  }

  /** Queues a send for this turn of the event loop: sends made together leave as one socket message. */
  private transmit(frame: ClientFrame): void {
    this.outgoing.push(frame);
    if (this.outgoing.length > 1) return;
    queueMicrotask(() => this.connection.send(this.outgoing.splice(0)));
  }

  private socketUrl(path: string, params: Record<string, string>): string {
    const url = new URL(path, this.baseUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  }

  private onOpen(): void {
    // Everything unacknowledged goes again with its own client_msg_id, in order: the server stores
    // each once. (A new socket starts with no rate block, so nothing is held back any more.)
    this.clearHold();
    this.connection.send(this.pending().map(sendFrame));
    this.syncing.clear();
    this.flushReads();
    if (this.watched.size) this.sendPresenceSubscribe([...this.watched]);
  }

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
        if (this.receipts(frame.conversation_id).note(frame.user_id, frame.status, frame.seq)) {
          this.emit("receipt", frame);
          this.emit("conversation", frame.conversation_id);
        }
        break;
      case "error":
        this.refused(frame);
        break;
      case "typing":
        this.typingState.update(frame.conversation_id, frame.user_id, frame.status === "typing");
        break;
      case "presence": {
        const { type: _, ...presence } = frame;
        this.presence.set(presence.user_id, presence);
        this.emit("presence", presence);
        break;
      }
      case "invitation":
        this.pendingInvitations.set(frame.invitation.conversation_id, frame.invitation);
        this.emit("invitation", frame.invitation);
        this.emit("invitations", this.invitations());
        break;
      case "heartbeat_ack":
        break;
    }
  }

  private receive(message: Message): void {
    const timeline = this.timeline(message.conversation_id);
    const outcome = timeline.add(message);
    if (outcome.kind === "duplicate") return;
    if (outcome.kind === "gap") this.requestSync(message.conversation_id, outcome.afterSeq);
    const syncing = this.syncing.get(message.conversation_id);
    if (syncing && (timeline.contiguousSeq ?? 0) > syncing.afterSeq) this.syncing.delete(message.conversation_id);
    // A message from someone else means they are no longer typing it.
    this.typingState.update(message.conversation_id, message.sender_id, false);
    this.noteInSummary(message);
    this.deliveredDirty.add(message.conversation_id);
    // 10 ms lets a burst of frames land first; after that, at most one flush per interval.
    const interval = this.deliveredAckIntervalMs * (0.75 + Math.random() / 2);
    const wait = Math.max(10, this.lastDeliveredFlush + interval - Date.now());
    this.deliveredTimer ??= setTimeout(() => this.flushDelivered(), wait);
    this.emit("message", message);
    this.emit("conversation", message.conversation_id);
  }

  private acknowledged(ack: MessageAckFrame): void {
    const pending = this.pendingById.get(ack.client_msg_id);
    if (pending) {
      this.pendingById.delete(ack.client_msg_id);
      void this.outbox.remove(ack.client_msg_id);
      this.ownKeys.set(ack.server_msg_id, ack.client_msg_id);
    }
    const message: Message = {
      conversation_id: ack.conversation_id,
      server_msg_id: ack.server_msg_id,
      seq: ack.seq,
      sender_id: this.user.user_id,
      content: pending?.content ?? "",
      content_type: pending?.content_type ?? "text",
      timestamp: ack.timestamp,
      ...(pending?.media ? { media: pending.media } : {}),
    };
    if (pending) {
      const outcome = this.timeline(ack.conversation_id).add(message);
      if (outcome.kind === "gap") this.requestSync(ack.conversation_id, outcome.afterSeq);
      if (outcome.kind !== "duplicate") this.noteInSummary(message);
      this.emit("sent", { pending, ack });
    }
    this.emit("conversation", ack.conversation_id);
  }

  private refused(error: ErrorFrame): void {
    const pending = error.client_msg_id ? this.pendingById.get(error.client_msg_id) : undefined;
    if (!pending) {
      this.emit("error", error);
      return;
    }
    if (error.code === ErrorCode.rateLimited) {
      // Sending faster than the server allows: the message waits with every send made meanwhile,
      // and they go again together, in order, same ids.
      this.heldBack.add(pending.client_msg_id);
      this.rateHold ??= setTimeout(() => this.releaseHeld(), 1_000 + Math.random() * 1_000);
      return;
    }
    if (retryable.has(error.code)) return; // stays in the outbox; the next connect resends it
    this.pendingById.delete(pending.client_msg_id);
    void this.outbox.remove(pending.client_msg_id);
    const detail = { code: error.code, message: error.message };
    this.failed.set(pending.client_msg_id, { pending, error: detail });
    this.emit("failed", { pending, error: detail });
    this.emit("conversation", pending.conversation_id);
  }

  private requestSync(conversationId: string, afterSeq: number): void {
    const current = this.syncing.get(conversationId);
    if (current && current.afterSeq === afterSeq && Date.now() - current.at < 5_000) return;
    if (this.connection.send([{ type: "sync", conversation_id: conversationId, after_seq: afterSeq, limit: Limits.syncMaxPage }])) {
      this.syncing.set(conversationId, { afterSeq, at: Date.now() });
    }
  }

  /** One `delivered` per conversation for the highest seq held with no hole below it. */
  private flushDelivered(): void {
    this.deliveredTimer = null;
    this.lastDeliveredFlush = Date.now();
    const frames: StatusFrame[] = [];
    for (const conversationId of this.deliveredDirty) {
      const timeline = this.timeline(conversationId);
      const top = timeline.contiguousSeq;
      const message = top === null ? undefined : timeline.get(top);
      if (top === null || !message) continue;
      const covered = Math.max(this.deliveredSent.get(conversationId) ?? 0, this.readSent.get(conversationId) ?? 0);
      if (top <= covered) continue;
      frames.push({ type: "message_status", conversation_id: conversationId, server_msg_id: message.server_msg_id, status: "delivered" });
      this.deliveredSent.set(conversationId, top);
    }
    this.deliveredDirty.clear();
    if (frames.length && !this.connection.send(frames)) {
      // Not connected: the server replays past this device's cursor on reconnect and we ack then.
      for (const f of frames) this.deliveredSent.delete(f.conversation_id);
    }
  }

  private flushReads(): void {
    const frames: StatusFrame[] = [];
    for (const conversationId of this.readWanted) {
      const timeline = this.timeline(conversationId);
      const top = timeline.contiguousSeq;
      const message = top === null ? undefined : timeline.get(top);
      if (top === null || !message || top <= (this.readSent.get(conversationId) ?? 0)) continue;
      frames.push({ type: "message_status", conversation_id: conversationId, server_msg_id: message.server_msg_id, status: "read" });
    }
    if (frames.length === 0 || !this.connection.send(frames)) return;
    for (const f of frames) {
      this.readSent.set(f.conversation_id, this.timeline(f.conversation_id).contiguousSeq!);
      this.clearUnread(f.conversation_id);
    }
    this.readWanted.clear();
  }

  private sendPresenceSubscribe(userIds: string[]): void {
    for (let i = 0; i < userIds.length; i += Limits.presenceSubscribeMaxUsers) {
      this.connection.send([{ type: "presence_subscribe", user_ids: userIds.slice(i, i + Limits.presenceSubscribeMaxUsers) }]);
    }
  }

  private renewPresence(): void {
    if (this.watched.size) this.sendPresenceSubscribe([...this.watched]);
  }

  // ---- bookkeeping -----------------------------------------------------------------------------

  private noteInSummary(message: Message): void {
    // The list is kept only for apps that asked for it (a bot or the benchmarks never do).
    if (!this.conversationsLoaded) return;
    // Nothing of a withheld message shows: not in the preview, not in the unread count.
    if (isWithheld(message)) return;
    let summary = this.summaries.get(message.conversation_id);
    if (!summary) {
      // A conversation we have not listed yet: fetch the list again.
      this.refreshSoon();
      return;
    }
    // The list's unread_count already counts everything up to its last_message: only newer ones add.
    const newer = !summary.last_message || message.seq > summary.last_message.seq;
    if (message.content_type === "system" && newer) summary = this.afterSystemEvent(summary, message);
    const unread =
      newer && message.sender_id !== this.user.user_id && message.seq > (this.readSent.get(message.conversation_id) ?? 0) ? 1 : 0;
    this.summaries.set(message.conversation_id, {
      ...summary,
      last_message: newer ? message : summary.last_message,
      unread_count: summary.unread_count + unread,
    });
    this.emitConversations();
  }

  /**
   * A change of name or members, applied to the list as the user objects apply it to the inbox, so
   * a group's membership change does not make every member's app fetch its whole list. The list is
   * fetched instead when the event does not follow what the summary shows (one may have been missed),
   * cannot be read, or takes this user out.
   */
  private afterSystemEvent(summary: ConversationSummary, message: Message): ConversationSummary {
    const follows = summary.last_message !== null && message.seq === summary.last_message.seq + 1;
    let event: SystemEvent | null = null;
    try {
      const parsed = SystemEvent.safeParse(JSON.parse(message.content));
      if (parsed.success) event = parsed.data;
    } catch {
      /* not JSON: fetch below */
    }
    if (!follows || !event || removes(event, this.user.user_id)) {
      this.refreshSoon();
      return summary;
    }
    const members = membersAfter(summary.members, event);
    return { ...summary, name: event.event === "renamed" ? event.name : summary.name, members, member_count: members.length };
  }

  private clearUnread(conversationId: string): void {
    const summary = this.summaries.get(conversationId);
    if (!summary || summary.unread_count === 0) return;
    this.summaries.set(conversationId, { ...summary, unread_count: 0 });
    this.emitConversations();
  }

  private refreshSoon(): void {
    this.refreshTimer ??= setTimeout(() => {
      this.refreshTimer = null;
      this.refreshConversations().catch(() => {
        /* the next message or reconnect tries again */
      });
    }, 50);
  }

  private emitConversations(): void {
    this.emit("conversations", this.conversations());
  }

  private timeline(conversationId: string): ConversationTimeline {
    let timeline = this.timelines.get(conversationId);
    if (!timeline) this.timelines.set(conversationId, (timeline = new ConversationTimeline()));
    return timeline;
  }

  private receipts(conversationId: string): ReceiptCursors {
    let cursors = this.receiptsByConversation.get(conversationId);
    if (!cursors) this.receiptsByConversation.set(conversationId, (cursors = new ReceiptCursors()));
    return cursors;
  }

  private failedIn(conversationId: string) {
    return [...this.failed.values()].filter((f) => f.pending.conversation_id === conversationId);
  }
}

/** A JWT's `exp` in milliseconds (read, not verified: the server verifies). */
/** A placeholder for a message from someone you blocked (docs/protocol.md, Block). */
export function isWithheld(m: Pick<Message, "content_type" | "content">): boolean {
  return m.content_type === "system" && m.content.startsWith('{"event":"withheld"');
}

function tokenExpiry(token: string): number | null {
  try {
    const payload = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: unknown };
    return typeof payload.exp === "number" ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

function sendFrame(pending: PendingMessage): ClientFrame {
  return {
    type: "send_message",
    conversation_id: pending.conversation_id,
    client_msg_id: pending.client_msg_id,
    content: pending.content,
    content_type: pending.content_type,
    ...(pending.media_id ? { media_id: pending.media_id } : {}),
  };
}
