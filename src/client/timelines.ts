import { Limits } from "../protocol/limits";
import type { Message } from "../protocol/models";
import type { CatchUp } from "./catch-up";
import type { ClientContext } from "./context";
import { ConversationTimeline } from "./timeline";

/**
 * Every conversation's messages on this device: one `ConversationTimeline` each, holes reported to
 * catch-up as they open, and pages of older history fetched on demand.
 */
export class Timelines {
  private readonly byConversation = new Map<string, ConversationTimeline>();
  private readonly olderExhausted = new Set<string>();
  /** server_msg_id → client_msg_id of messages sent from this device, so their row key never changes. */
  private readonly ownKeys = new Map<string, string>();

  constructor(
    private readonly ctx: ClientContext,
    private readonly catchUp: CatchUp,
  ) {}

  /** The conversation's timeline, made empty on first use. */
  of(conversationId: string): ConversationTimeline {
    let timeline = this.byConversation.get(conversationId);
    if (!timeline) this.byConversation.set(conversationId, (timeline = new ConversationTimeline()));
    return timeline;
  }

  /** The conversation's timeline if any message of it was ever held. */
  find(conversationId: string): ConversationTimeline | undefined {
    return this.byConversation.get(conversationId);
  }

  /** Adds a message from either socket; false if it was held already. A hole it opens is asked for. */
  add(message: Message): boolean {
    const timeline = this.of(message.conversation_id);
    const outcome = timeline.add(message);
    if (outcome.kind === "duplicate") return false;
    if (outcome.kind === "gap") this.catchUp.gap(message.conversation_id, outcome.afterSeq);
    this.catchUp.advanced(message.conversation_id, timeline.contiguousSeq);
    return true;
  }

  /**
   * A row stored at `seq` that this device cannot build itself (your own, acknowledged, whose
   * message it did not hold enough of): ask the server for it now rather than at the next gap.
   */
  expect(conversationId: string, seq: number): void {
    const timeline = this.of(conversationId);
    const top = timeline.contiguousSeq;
    if (top !== null && seq > top && !timeline.has(seq)) this.catchUp.gap(conversationId, top);
  }

  /** A message of yours, stored: its row keeps the key it had while pending. */
  addOwn(message: Message, clientMsgId: string): boolean {
    this.ownKeys.set(message.server_msg_id, clientMsgId);
    return this.add(message);
  }

  /** The key of a stored message's row: its client_msg_id if it was sent from here. */
  keyOf(message: Message): string {
    return this.ownKeys.get(message.server_msg_id) ?? message.server_msg_id;
  }

  /** Messages (not action rows) as they are now, in seq order. */
  messages(conversationId: string): Message[] {
    return this.byConversation.get(conversationId)?.messages() ?? [];
  }

  /** A message as it is now, if this device holds it. */
  message(conversationId: string, serverMsgId: string): Message | undefined {
    return this.byConversation.get(conversationId)?.find(serverMsgId);
  }

  /** The highest seq this device holds with nothing missing below it. */
  contiguousSeq(conversationId: string): number | null {
    return this.byConversation.get(conversationId)?.contiguousSeq ?? null;
  }

  hasOlder(conversationId: string): boolean {
    return !this.olderExhausted.has(conversationId);
  }

  /**
   * Loads the page of history before the oldest message held (the newest page when none is held).
   * Returns how many messages were new to this device.
   */
  async loadOlder(conversationId: string, limit: number = Limits.historyDefaultPage): Promise<number> {
    const timeline = this.of(conversationId);
    const before = timeline.oldestSeq();
    if (before !== null && before <= 1) {
      this.olderExhausted.add(conversationId);
      return 0;
    }
    const page = await this.ctx.rest.call("history", {
      conversation_id: conversationId,
      query: before === null ? { limit } : { before, limit },
    });
    if (!page.has_more) this.olderExhausted.add(conversationId);
    const added = timeline.addPage(page.messages, before === null);
    this.ctx.emit("conversation", conversationId);
    return added;
  }

  /**
   * Loads older history until row `seq` is held (a reply's quote was tapped); false if the
   * conversation has no such row for this user (before they joined, or past its end).
   */
  async jumpTo(conversationId: string, seq: number): Promise<boolean> {
    const timeline = this.of(conversationId);
    while (!timeline.has(seq)) {
      const oldest = timeline.oldestSeq();
      if (oldest !== null && seq > oldest) {
        // Inside what is held, in a hole not filled yet: fetch just that row.
        const page = await this.ctx.rest.call("history", { conversation_id: conversationId, query: { before: seq + 1, limit: 1 } });
        timeline.addPage(page.messages, false);
        this.ctx.emit("conversation", conversationId);
        return timeline.has(seq);
      }
      if (!this.hasOlder(conversationId)) return false;
      const before = oldest;
      await this.loadOlder(conversationId, Limits.historyMaxPage);
      if (timeline.oldestSeq() === before) return timeline.has(seq);
    }
    return true;
  }
}
