import { ErrorCode, errorStatus, type ErrorCode as ErrorCodeValue } from "../protocol/errors";
import { actionOutgoing, checkOutgoing, type MessageAckFrame } from "../protocol/frames";
import { Limits } from "../protocol/limits";
import { ClientContentType, quoteOf, type ActionType, type Mention, type Message } from "../protocol/models";
import type { ClientContext } from "./context";
import type { ConversationList } from "./conversation-list";
import { applyAction } from "./fold";
import type { Marks } from "./marks";
import { isPendingAction, type OutboxEntry, type PendingAction, type PendingMessage } from "./outbox";
import type { RecentEmojis } from "./recent-emojis";
import { ParleyApiError } from "./rest";
import { newClientMsgId, outboxTime, type Sender } from "./sending";
import type { Timelines } from "./timelines";

/** What the server would answer, said by this device before sending. */
function refusal(code: ErrorCodeValue, message: string): ParleyApiError {
  return new ParleyApiError(errorStatus[code], code, message);
}

/**
 * Replies, mentions, forwards and the message actions (edit, reaction, delete for everyone, played): each
 * pre-checked against what this device holds (the server decides), then queued in the outbox like
 * a send; and, once acknowledged, the row the server stored, built here so it joins the timeline
 * without a round trip.
 */
export class MessageActions {
  constructor(
    private readonly ctx: ClientContext,
    private readonly parts: { timelines: Timelines; sender: Sender; list: ConversationList; marks: Marks; emojis: RecentEmojis },
  ) {}

  /** A text message, with its quote built from this device's copy of what it replies to. */
  async send(conversationId: string, content: string, options: { replyTo?: string; mentions?: Mention[] }): Promise<PendingMessage> {
    const quoted = options.replyTo === undefined ? undefined : this.shown(conversationId, options.replyTo);
    if (quoted?.deleted) throw refusal(ErrorCode.messageDeleted, "that message was deleted");
    const quote = quoted ? quoteOf(quoted) : null;
    const pending: PendingMessage = {
      conversation_id: conversationId,
      client_msg_id: newClientMsgId(),
      content,
      content_type: "text",
      created_at: outboxTime(),
      ...(options.replyTo !== undefined ? { reply_to: options.replyTo } : {}),
      ...(quote ? { quote } : {}),
      ...(options.mentions?.length ? { mentions: options.mentions } : {}),
    };
    const refused = checkOutgoing(pending);
    if (refused) throw new ParleyApiError(400, refused.code, refused.message);
    await this.parts.sender.enqueue(pending);
    this.ctx.emit("conversation", conversationId);
    return pending;
  }

  async edit(conversationId: string, serverMsgId: string, content: string): Promise<void> {
    const target = this.shown(conversationId, serverMsgId);
    if (target) {
      if (target.deleted) throw refusal(ErrorCode.messageDeleted, "that message was deleted");
      if (target.sender_id !== this.ctx.user.user_id) throw refusal(ErrorCode.notEditable, "only its sender can edit a message");
      if (target.content_type !== "text") throw refusal(ErrorCode.notEditable, "only text messages can be edited");
      if (Date.now() - target.timestamp > Limits.editWindowMs) {
        throw refusal(ErrorCode.actionWindowClosed, `a message can be edited for ${Limits.editWindowMs / 60_000} minutes after it was sent`);
      }
      if (target.content === content) return;
    }
    await this.queue(conversationId, serverMsgId, "edit", content);
  }

  async react(conversationId: string, serverMsgId: string, emoji: string | null): Promise<void> {
    const content = emoji ?? "";
    const target = this.shown(conversationId, serverMsgId);
    if (target?.deleted) throw refusal(ErrorCode.messageDeleted, "that message was deleted");
    const mine = target?.reactions?.find((r) => r.user_id === this.ctx.user.user_id)?.emoji ?? "";
    if (target && mine === content) return; // already so: nothing to store
    await this.queue(conversationId, serverMsgId, "reaction", content);
    if (content !== "") this.parts.emojis.note(content);
  }

  async deleteForEveryone(conversationId: string, serverMsgId: string): Promise<void> {
    const target = this.shown(conversationId, serverMsgId);
    if (target) {
      const me = this.ctx.user.user_id;
      if (target.deleted) throw refusal(ErrorCode.messageDeleted, "that message was deleted");
      const summary = this.parts.list.get(conversationId);
      const admin = summary?.type === "group" && summary.members.some((m) => m.user_id === me && m.role === "admin");
      // Without the conversation list this device cannot tell who is an admin: the server says.
      if (target.sender_id !== me && summary && !admin) {
        throw refusal(ErrorCode.forbidden, "only its sender or a group admin can delete a message for everyone");
      }
      if (target.sender_id === me && !admin && Date.now() - target.timestamp > Limits.deleteWindowMs) {
        throw refusal(ErrorCode.actionWindowClosed, `a message can be deleted for everyone for ${Limits.deleteWindowMs / 3_600_000} hours after it was sent`);
      }
    }
    await this.queue(conversationId, serverMsgId, "delete", "");
  }

  /**
   * Marks someone else's voice message played, once: nothing is queued when this device already
   * shows you among `played_by` (the server answers a repeat with the first anyway).
   */
  async markPlayed(conversationId: string, serverMsgId: string): Promise<void> {
    const target = this.shown(conversationId, serverMsgId);
    const me = this.ctx.user.user_id;
    if (target) {
      if (target.deleted) throw refusal(ErrorCode.messageDeleted, "that message was deleted");
      if (target.content_type !== "audio" || !target.media?.voice) throw refusal(ErrorCode.notVoice, "only a voice message can be marked played");
      if (target.sender_id === me) throw refusal(ErrorCode.ownMessage, "only its recipients can mark a voice message played");
      if (target.played_by?.includes(me)) return;
    }
    await this.queue(conversationId, serverMsgId, "played", "");
  }

  /** One `forward_message` per target, each with its own client_msg_id, shown pending with this device's copy. */
  async forward(fromConversationId: string, serverMsgId: string, targetConversationIds: string[]): Promise<PendingMessage[]> {
    const targets = [...new Set(targetConversationIds)];
    if (targets.length < 1 || targets.length > Limits.forwardMaxTargets) {
      throw refusal(ErrorCode.badRequest, `a message is forwarded to 1 to ${Limits.forwardMaxTargets} conversations at once`);
    }
    const source =
      this.shown(fromConversationId, serverMsgId) ??
      this.parts.marks.starred().find((s) => s.message.conversation_id === fromConversationId && s.message.server_msg_id === serverMsgId)?.message;
    if (source?.deleted) throw refusal(ErrorCode.messageDeleted, "that message was deleted");
    const kind = source ? ClientContentType.safeParse(source.content_type) : null;
    if (kind && !kind.success) throw refusal(ErrorCode.badRequest, "only messages people sent can be forwarded");
    const queued: PendingMessage[] = targets.map((conversationId) => ({
      conversation_id: conversationId,
      client_msg_id: newClientMsgId(),
      content: source?.content ?? "",
      content_type: kind?.success ? kind.data : "text",
      created_at: outboxTime(),
      forward_of: { conversation_id: fromConversationId, server_msg_id: serverMsgId },
      ...(source?.media ? { media: source.media } : {}),
      ...(source ? { forwarded: (source.forwarded ?? 0) + 1 } : {}),
    }));
    for (const pending of queued) {
      await this.parts.sender.enqueue(pending);
      this.ctx.emit("conversation", pending.conversation_id);
    }
    return queued;
  }

  /** A message as this device shows it: stored, with your actions still in the outbox applied. */
  shown(conversationId: string, serverMsgId: string): Message | undefined {
    let m = this.parts.timelines.message(conversationId, serverMsgId);
    if (!m) return undefined;
    for (const a of this.parts.sender.pendingActions(conversationId)) {
      if (a.server_msg_id === serverMsgId) {
        m = applyAction(m, { content_type: a.action, content: a.content ?? "", sender_id: this.ctx.user.user_id, timestamp: a.created_at });
      }
    }
    return m;
  }

  /**
   * The row the server stored for something sent from here, as it stored it; null when this device
   * lacks part of it (the quote or the forwarded original was not loaded, an action's target not
   * held), and the row is fetched instead.
   */
  storedRow(pending: OutboxEntry, ack: MessageAckFrame): Message | null {
    const stored = { conversation_id: ack.conversation_id, server_msg_id: ack.server_msg_id, seq: ack.seq, sender_id: this.ctx.user.user_id, timestamp: ack.timestamp };
    if (isPendingAction(pending)) {
      if (pending.target_seq === undefined || pending.target_sender_id === undefined) return null;
      return {
        ...stored,
        content: pending.action === "delete" || pending.action === "played" ? "" : (pending.content ?? ""),
        content_type: pending.action,
        target: { server_msg_id: pending.server_msg_id, seq: pending.target_seq, sender_id: pending.target_sender_id },
      };
    }
    if ((pending.reply_to !== undefined && !pending.quote) || (pending.forward_of && pending.forwarded === undefined)) return null;
    return {
      ...stored,
      content: pending.content,
      content_type: pending.content_type,
      ...(pending.media ? { media: pending.media } : {}),
      ...(pending.quote ? { reply_to: pending.quote } : {}),
      ...(pending.mentions?.length ? { mentions: pending.mentions } : {}),
      ...(pending.forwarded ? { forwarded: pending.forwarded } : {}),
    };
  }

  private async queue(conversationId: string, serverMsgId: string, action: ActionType, content: string): Promise<void> {
    const target = this.parts.timelines.message(conversationId, serverMsgId);
    const pending: PendingAction = {
      kind: "action",
      conversation_id: conversationId,
      server_msg_id: serverMsgId,
      action,
      client_msg_id: newClientMsgId(),
      content,
      created_at: outboxTime(),
      ...(target ? { target_seq: target.seq, target_sender_id: target.sender_id } : {}),
    };
    const refused = checkOutgoing(actionOutgoing(pending, serverMsgId));
    if (refused) throw new ParleyApiError(errorStatus[refused.code], refused.code, refused.message);
    await this.parts.sender.enqueue(pending);
    this.ctx.emit("conversation", conversationId);
  }
}
