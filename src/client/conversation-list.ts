import { Limits } from "../protocol/limits";
import { isAction, membersAfter, removes, SystemEvent, type ConversationSettings, type ConversationSummary, type Message } from "../protocol/models";
import { foldActions } from "./fold";
import type { BulkResponse, UpdateConversationSettingsBody } from "../protocol/rest";
import type { ClientContext } from "./context";
import type { Timelines } from "./timelines";
import { isWithheld } from "./entries";

/**
 * The conversation list, kept current by the socket: last message, unread counts, and a group's
 * name and members from its system messages. A conversation it does not know, a missed event or
 * being removed fetches the list again.
 */
export class ConversationList {
  private readonly summaries = new Map<string, ConversationSummary>();
  /** The newest seq noted per conversation, action rows included: a system event that follows it missed nothing. */
  private readonly heads = new Map<string, number>();
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private fetched = false;
  /** The fetch of the list under way: a second ask meanwhile (the app and a reconnect at once) shares it. */
  private fetching: Promise<ConversationSummary[]> | null = null;
  /**
   * Rows noted while a fetch was under way: the server may have read the list before they were
   * stored, so they are noted again on top of what it answers (`note` counts a row only once).
   */
  private notedWhileFetching: { message: Message; readUpTo: number }[] = [];

  constructor(
    private readonly ctx: ClientContext,
    private readonly timelines: Timelines,
  ) {}

  /** True once the list has been fetched (an empty list is then really empty). */
  get loaded(): boolean {
    return this.fetched;
  }

  /** Pinned first (most recently pinned first), then most recently active first. */
  all(): ConversationSummary[] {
    return [...this.summaries.values()].sort(
      (a, b) =>
        (b.pinned_at ?? 0) - (a.pinned_at ?? 0) || (b.last_message?.timestamp ?? b.updated_at) - (a.last_message?.timestamp ?? a.updated_at),
    );
  }

  get(conversationId: string): ConversationSummary | undefined {
    return this.summaries.get(conversationId);
  }

  /** Fetches the list from the server (one fetch at a time: an ask while one runs gets its answer). */
  refresh(): Promise<ConversationSummary[]> {
    this.fetching ??= this.fetch().finally(() => (this.fetching = null));
    return this.fetching;
  }

  private async fetch(): Promise<ConversationSummary[]> {
    // Page by page (the server caps a page), archived ones too (each summary says which it is); the
    // list is bounded by the per-user conversation caps.
    const conversations: ConversationSummary[] = [];
    try {
      for (const archived of ["false", "true"] as const) {
        let cursor: string | undefined;
        do {
          const page = await this.ctx.rest.call("listConversations", { query: { limit: Limits.conversationListMaxPage, cursor, archived } });
          conversations.push(...page.conversations);
          cursor = page.next ?? undefined;
        } while (cursor);
      }
    } catch (err) {
      this.notedWhileFetching = [];
      throw err;
    }
    const noted = this.notedWhileFetching.splice(0);
    this.fetched = true;
    this.summaries.clear();
    this.heads.clear();
    for (const summary of conversations) {
      this.summaries.set(summary.conversation_id, summary);
      const timeline = this.timelines.of(summary.conversation_id);
      if (summary.last_message && timeline.contiguousSeq === null) timeline.anchor(summary.last_message.seq);
    }
    for (const { message, readUpTo } of noted) this.note(message, readUpTo);
    this.changed();
    return this.all();
  }

  /** Archives (hides from the main list) or unarchives conversations: one request for many. */
  async setArchived(conversationIds: string[], archived: boolean): Promise<BulkResponse> {
    const result = await this.ctx.rest.call("archiveMany", { body: { conversation_ids: conversationIds, archived } });
    for (const id of result.done) {
      const summary = this.summaries.get(id);
      if (summary) this.summaries.set(id, { ...summary, archived });
    }
    this.changed();
    return result;
  }

  /**
   * Changes the user's own settings for a conversation (mute, pin, mark as unread, archive). The
   * server tells this user's other devices; this one applies the answer.
   */
  async updateSettings(conversationId: string, changes: UpdateConversationSettingsBody): Promise<ConversationSettings> {
    const { settings } = await this.ctx.rest.call("conversationSettings", { conversation_id: conversationId, body: changes });
    this.applySettings(settings);
    return settings;
  }

  /** Settings changed on the server (here, on another device, or a new message unarchived the conversation). */
  applySettings(settings: ConversationSettings): void {
    const summary = this.summaries.get(settings.conversation_id);
    if (!summary) return;
    const { conversation_id: _, ...changed } = settings;
    this.summaries.set(settings.conversation_id, { ...summary, ...changed });
    this.changed();
  }

  /** The socket opened again: settings changed while it was away are read with the list. */
  reconnected(): void {
    if (this.loaded) this.refreshSoon();
  }

  /** Leaves groups: one request for many. */
  async leave(conversationIds: string[]): Promise<BulkResponse> {
    const result = await this.ctx.rest.call("leaveMany", { body: { conversation_ids: conversationIds } });
    for (const id of result.done) this.summaries.delete(id);
    this.changed();
    return result;
  }

  /**
   * A row new to this device: the conversation's last message and unread count follow a message.
   * An action counts for neither; it changes the preview when it edits or deletes the last message.
   */
  note(message: Message, readUpTo: number): void {
    if (this.fetching) this.notedWhileFetching.push({ message, readUpTo });
    // The list is kept only for apps that asked for it (a bot or the benchmarks never do).
    if (!this.loaded) return;
    // Nothing of a withheld message shows: not in the preview, not in the unread count.
    if (isWithheld(message)) return;
    let summary = this.summaries.get(message.conversation_id);
    if (!summary) {
      // A conversation we have not listed yet: fetch the list again.
      this.refreshSoon();
      return;
    }
    const head = this.heads.get(message.conversation_id) ?? 0;
    if (message.seq > head) this.heads.set(message.conversation_id, message.seq);
    if (isAction(message)) {
      const last = summary.last_message;
      if (!last || message.target?.server_msg_id !== last.server_msg_id) return;
      this.summaries.set(message.conversation_id, { ...summary, last_message: foldActions(last, [message]) });
      this.changed();
      return;
    }
    // The list's unread_count already counts everything up to its last_message: only newer ones add.
    const newer = !summary.last_message || message.seq > summary.last_message.seq;
    if (message.content_type === "system" && newer) summary = this.afterSystemEvent(summary, message, head);
    const unread = newer && message.sender_id !== this.ctx.user.user_id && message.seq > readUpTo ? 1 : 0;
    this.summaries.set(message.conversation_id, {
      ...summary,
      last_message: newer ? message : summary.last_message,
      unread_count: summary.unread_count + unread,
    });
    this.changed();
  }

  /** The user read the conversation (the `read` acknowledgement went out). */
  clearUnread(conversationId: string): void {
    const summary = this.summaries.get(conversationId);
    if (!summary || summary.unread_count === 0) return;
    this.summaries.set(conversationId, { ...summary, unread_count: 0 });
    this.changed();
  }

  stop(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  /**
   * A change of name or members, applied to the list as the user objects apply it to the inbox, so
   * a group's membership change does not make every member's app fetch its whole list. The list is
   * fetched instead when the event does not follow what the summary shows (one may have been missed),
   * cannot be read, or takes this user out.
   */
  private afterSystemEvent(summary: ConversationSummary, message: Message, head: number): ConversationSummary {
    // Action rows between the last message and this event are noted too: it must follow the newest row noted.
    const follows = summary.last_message !== null && message.seq === Math.max(summary.last_message.seq, head) + 1;
    let event: SystemEvent | null = null;
    try {
      const parsed = SystemEvent.safeParse(JSON.parse(message.content));
      if (parsed.success) event = parsed.data;
    } catch {
      /* not JSON: fetch below */
    }
    if (!follows || !event || removes(event, this.ctx.user.user_id)) {
      this.refreshSoon();
      return summary;
    }
    const members = membersAfter(summary.members, event);
    const next: ConversationSummary = { ...summary, name: event.event === "renamed" ? event.name : summary.name, members, member_count: members.length };
    if (event.event === "photo_changed") {
      if (event.photo) next.photo = event.photo;
      else delete next.photo;
    }
    return next;
  }

  private refreshSoon(): void {
    this.refreshTimer ??= setTimeout(() => {
      this.refreshTimer = null;
      this.refresh().catch(() => {
        /* the next message or reconnect tries again */
      });
    }, 50);
  }

  private changed(): void {
    this.ctx.emit("conversations", this.all());
  }
}
