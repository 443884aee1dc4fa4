import { ErrorCode, errorStatus } from "../protocol/errors";
import type { MessageMark } from "../protocol/frames";
import type { StarredMessage } from "../protocol/rest";
import type { ClientContext } from "./context";
import { ParleyApiError } from "./rest";
import { readJson, writeJson, type KeyValueStorage } from "./storage";
import type { Timelines } from "./timelines";

type MarkKind = MessageMark["kind"];

/** A change the user made that the server has not taken yet (its endpoints are idempotent: sending it twice is harmless). */
interface MarkChange {
  conversation_id: string;
  server_msg_id: string;
  kind: MarkKind;
  active: boolean;
  at: number;
}

/** A mark as the server last told it (its `version`), or as a change of ours it took. */
type KnownMark = Omit<MessageMark, "seq" | "version"> & { version: number };

interface Saved {
  version: number;
  marks: KnownMark[];
  queue: MarkChange[];
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** Whether a refused mark change may succeed later (offline, the server busy or restarting, a token being refreshed). */
function worthRetrying(err: unknown): boolean {
  if (!(err instanceof ParleyApiError)) return true;
  return err.status === 0 || err.status === 401 || err.status === 429 || err.status >= 500;
}

/**
 * The user's own marks on messages: starred, and hidden ("delete for me"). They are REST calls,
 * not frames, so they get their own small outbox: a change shows at once, waits in storage, and is
 * sent until the server takes it (offline too). The server's word comes as `marks` frames, and on
 * every (re)connect as the changes after the last `version` seen (kept in storage), so a device that
 * was away catches up.
 */
export class Marks {
  private readonly known = new Map<string, KnownMark>();
  private queue: MarkChange[] = [];
  /** The marks version everything up to is held: where the next catch-up starts. */
  private version = 0;
  /** Live frames move `version` only once this connection's catch-up is done (none can be missed then). */
  private caughtUp = false;
  private flushing = false;
  /** Between the client's start and stop: a stopped client sends nothing (its changes wait in storage). */
  private running = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryDelay = 0;
  private starredList: StarredMessage[] | null = null;
  private starredRefresh: ReturnType<typeof setTimeout> | null = null;
  private readonly storageKey: string;

  constructor(
    private readonly ctx: ClientContext,
    private readonly storage: KeyValueStorage,
    private readonly timelines: Timelines,
  ) {
    this.storageKey = `parley:${ctx.user.user_id}:marks`;
    const saved = readJson<Saved | null>(storage, this.storageKey, null);
    if (saved && typeof saved.version === "number" && Array.isArray(saved.marks) && Array.isArray(saved.queue)) {
      this.version = saved.version;
      for (const m of saved.marks) this.known.set(keyOf(m), m);
      this.queue = saved.queue;
    }
  }

  /** Changes the server has not taken yet (for a "waiting to sync" hint). */
  get waiting(): number {
    return this.queue.length;
  }

  start(): void {
    this.running = true;
    void this.flush();
  }

  isStarred(conversationId: string, serverMsgId: string): boolean {
    return this.shown(conversationId, serverMsgId, "starred");
  }

  isHidden(conversationId: string, serverMsgId: string): boolean {
    return this.shown(conversationId, serverMsgId, "hidden");
  }

  /** The user starred, unstarred or hid a message: shown at once, sent until the server takes it. */
  change(conversationId: string, serverMsgId: string, kind: MarkKind, active: boolean): void {
    const change: MarkChange = { conversation_id: conversationId, server_msg_id: serverMsgId, kind, active, at: Date.now() };
    // One change per message and kind waits: the last one is what the user wants.
    this.queue = [...this.queue.filter((c) => keyOf(c) !== keyOf(change)), change];
    this.save();
    this.changed([conversationId]);
    void this.flush();
  }

  /** Marks from the server: a live `marks` frame, or a page of catch-up. */
  heard(marks: MessageMark[], live: boolean): void {
    const touched = new Set<string>();
    let top = this.version;
    for (const m of marks) {
      top = Math.max(top, m.version);
      const key = keyOf(m);
      if ((this.known.get(key)?.version ?? 0) >= m.version) continue;
      const { seq: _, ...mark } = m;
      this.known.set(key, mark);
      touched.add(m.conversation_id);
      if (live && this.starredList && m.kind === "starred" && m.active && !this.timelines.message(m.conversation_id, m.server_msg_id)) {
        this.refreshStarredSoon(); // starred elsewhere, a message this device has not loaded
      }
    }
    if (!live || this.caughtUp) this.version = top;
    this.save();
    if (touched.size) this.changed([...touched]);
  }

  /** A new connection: fetch what changed while away, and send what waits. */
  async connected(): Promise<void> {
    this.caughtUp = false;
    void this.flush();
    try {
      for (;;) {
        const page = await this.ctx.rest.call("marks", { query: { after: this.version } });
        this.heard(page.marks, false);
        if (!page.has_more || page.marks.length === 0) break;
      }
      this.caughtUp = true;
    } catch {
      /* offline again or the server is busy: the next connect asks again from the same version */
    }
  }

  /** Sends waiting changes, oldest first, until one cannot go yet (then retried with backoff, and on reconnect). */
  async flush(): Promise<void> {
    if (this.flushing || !this.running) return;
    this.flushing = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    try {
      while (this.queue.length > 0) {
        const change = this.queue[0]!;
        try {
          await this.send(change);
        } catch (err) {
          if (!this.running) return;
          if (worthRetrying(err)) {
            this.retryDelay = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.retryDelay * 2));
            this.retryTimer = setTimeout(() => void this.flush(), this.retryDelay);
            return;
          }
          // Refused for good (the message is gone, or the user left): the change is taken back.
          this.queue = this.queue.filter((c) => c !== change);
          this.save();
          const code = err instanceof ParleyApiError && err.code in errorStatus ? (err.code as ErrorCode) : ErrorCode.internal;
          this.ctx.emit("error", { type: "error", code, message: err instanceof Error ? err.message : "the change was refused" });
          this.changed([change.conversation_id]);
          continue;
        }
        this.retryDelay = 0;
        // The server took it: it is known now (its frame, with the new version, follows).
        const key = keyOf(change);
        const before = this.known.get(key);
        this.known.set(key, {
          conversation_id: change.conversation_id,
          server_msg_id: change.server_msg_id,
          kind: change.kind,
          active: change.active,
          at: change.at,
          version: before?.version ?? 0,
        });
        // A change made meanwhile for the same message stays queued.
        this.queue = this.queue.filter((c) => c !== change);
        this.save();
        this.ctx.emit("conversation", change.conversation_id);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Fetches the starred messages (every page), newest starred first. */
  async loadStarred(): Promise<StarredMessage[]> {
    const all: StarredMessage[] = [];
    let before: number | undefined;
    for (;;) {
      const page = await this.ctx.rest.call("starred", { query: before === undefined ? {} : { before } });
      all.push(...page.starred);
      const last = page.starred[page.starred.length - 1];
      if (!page.has_more || !last) break;
      before = last.starred_at;
    }
    this.starredList = all;
    this.ctx.emit("starred", this.starred());
    return this.starred();
  }

  /**
   * Starred messages as shown now: the fetched list with this device's changes applied, each message
   * as this device holds it now (edited, deleted) when it does.
   */
  starred(): StarredMessage[] {
    const out = new Map<string, StarredMessage>();
    const consider = (conversationId: string, serverMsgId: string, fallback: StarredMessage["message"] | undefined, at: number) => {
      const key = `${conversationId} ${serverMsgId}`;
      if (out.has(key) || !this.isStarred(conversationId, serverMsgId) || this.isHidden(conversationId, serverMsgId)) return;
      const message = this.timelines.message(conversationId, serverMsgId) ?? fallback;
      if (message) out.set(key, { message, starred_at: at });
    };
    for (const s of this.starredList ?? []) consider(s.message.conversation_id, s.message.server_msg_id, s.message, s.starred_at);
    // Starred since the list was fetched, here or on another device.
    for (const c of this.queue) if (c.kind === "starred") consider(c.conversation_id, c.server_msg_id, undefined, c.at);
    for (const m of this.known.values()) if (m.kind === "starred") consider(m.conversation_id, m.server_msg_id, undefined, m.at);
    return [...out.values()].sort((a, b) => b.starred_at - a.starred_at);
  }

  stop(): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.starredRefresh) clearTimeout(this.starredRefresh);
    this.retryTimer = null;
    this.starredRefresh = null;
  }

  private send(change: MarkChange): Promise<unknown> {
    const where = { conversation_id: change.conversation_id, server_msg_id: change.server_msg_id };
    if (change.kind === "hidden") return this.ctx.rest.call("hideMessage", where);
    return this.ctx.rest.call(change.active ? "starMessage" : "unstarMessage", where);
  }

  /** What the user sees: their change waiting to be sent, else what the server said. */
  private shown(conversationId: string, serverMsgId: string, kind: MarkKind): boolean {
    const key = keyOf({ conversation_id: conversationId, server_msg_id: serverMsgId, kind });
    for (let i = this.queue.length - 1; i >= 0; i--) if (keyOf(this.queue[i]!) === key) return this.queue[i]!.active;
    return this.known.get(key)?.active ?? false;
  }

  private refreshStarredSoon(): void {
    this.starredRefresh ??= setTimeout(() => {
      this.starredRefresh = null;
      this.loadStarred().catch(() => {
        /* the next change or reconnect shows it */
      });
    }, 50);
  }

  private save(): void {
    writeJson(this.storage, this.storageKey, { version: this.version, marks: [...this.known.values()], queue: this.queue } satisfies Saved);
  }

  private changed(conversationIds: string[]): void {
    for (const id of conversationIds) this.ctx.emit("conversation", id);
    this.ctx.emit("starred", this.starred());
  }
}

function keyOf(m: Pick<MessageMark, "conversation_id" | "server_msg_id" | "kind">): string {
  return `${m.conversation_id} ${m.server_msg_id} ${m.kind}`;
}
