import { ErrorCode } from "../protocol/errors";
import type { ClientFrame, ErrorFrame, MessageAckFrame } from "../protocol/frames";
import type { ClientContext } from "./context";
import type { SendError } from "./events";
import { isPendingAction, type OutboxEntry, type OutboxStore, type PendingAction, type PendingMessage } from "./outbox";

/** Codes after which resending the same message cannot succeed. */
const retryable = new Set<string>([ErrorCode.internal]);

export const newClientMsgId = () => `c_${crypto.randomUUID()}`;

let lastOutboxTime = 0;
/**
 * When something joins the outbox: the clock, but never the same value twice, so the outbox's order
 * (by `created_at`) is the order things were made even after a reload reads them back unordered.
 */
export function outboxTime(): number {
  lastOutboxTime = Math.max(Date.now(), lastOutboxTime + 1);
  return lastOutboxTime;
}

/**
 * The sending side: every message and action goes into the outbox before it goes out, is sent
 * again with the same client_msg_id after any reconnect, and leaves the outbox only on its
 * `message_ack` or a refusal for good (a message is then kept as failed until the app discards it;
 * an action is rolled back).
 */
export class Sender {
  private readonly pendingById = new Map<string, OutboxEntry>();
  private readonly failed = new Map<string, { pending: PendingMessage; error: SendError }>();
  /**
   * After the server refused a send for rate: sends wait here (ids) until one timer sends them all
   * again in the order they were made, so none overtakes another (the server refuses the socket's
   * later sends too until the first refused one comes back).
   */
  private rateHold: ReturnType<typeof setTimeout> | null = null;
  private readonly heldBack = new Set<string>();
  private outgoing: ClientFrame[] = [];

  constructor(
    private readonly ctx: ClientContext,
    private readonly outbox: OutboxStore,
  ) {}

  /** Takes in what an earlier run left in the outbox; returns it. */
  async load(): Promise<OutboxEntry[]> {
    const left = await this.outbox.list();
    for (const pending of left) this.pendingById.set(pending.client_msg_id, pending);
    return [...this.pendingById.values()];
  }

  /**
   * Shown as pending at once; sent once the outbox has stored it, so an app closed right after the
   * tap still sends it on the next start (the put resolves when IndexedDB has committed it).
   */
  async enqueue(pending: OutboxEntry): Promise<void> {
    this.pendingById.set(pending.client_msg_id, pending);
    await this.outbox.put(pending);
    // It may have been acked already if an earlier flush raced the put; only send what is still pending.
    if (this.pendingById.has(pending.client_msg_id)) this.sendPending(pending);
  }

  /** Messages the server has not acknowledged yet, oldest first. */
  pending(conversationId?: string): PendingMessage[] {
    return this.queued(conversationId).filter((p): p is PendingMessage => !isPendingAction(p));
  }

  /** Actions the server has not acknowledged yet, in the order they were made. */
  pendingActions(conversationId?: string): PendingAction[] {
    return this.queued(conversationId).filter(isPendingAction);
  }

  failedIn(conversationId: string): { pending: PendingMessage; error: SendError }[] {
    return [...this.failed.values()].filter((f) => f.pending.conversation_id === conversationId);
  }

  /** Forgets a message the server refused; returns its conversation, if there was one. */
  discardFailed(clientMsgId: string): string | undefined {
    const entry = this.failed.get(clientMsgId);
    if (!entry) return undefined;
    this.failed.delete(clientMsgId);
    return entry.pending.conversation_id;
  }

  /**
   * Everything unacknowledged goes again with its own client_msg_id, in order: the server stores
   * each once. (A new socket starts with no rate block, so nothing is held back any more.)
   */
  resend(): void {
    this.clearHold();
    this.ctx.socket.send(this.queued().map(sendFrame));
  }

  /** The message or action this ack is for, now out of the outbox (undefined if it was not sent from here, or already acked). */
  acknowledged(ack: MessageAckFrame): OutboxEntry | undefined {
    const pending = this.pendingById.get(ack.client_msg_id);
    if (!pending) return undefined;
    this.pendingById.delete(ack.client_msg_id);
    void this.outbox.remove(ack.client_msg_id);
    return pending;
  }

  /** Handles an error frame about one of the messages in the outbox; false if it is about none. */
  refused(error: ErrorFrame): boolean {
    const pending = error.client_msg_id ? this.pendingById.get(error.client_msg_id) : undefined;
    if (!pending) return false;
    if (error.code === ErrorCode.rateLimited) {
      // Sending faster than the server allows: the message waits with every send made meanwhile,
      // and they go again together, in order, same ids.
      this.heldBack.add(pending.client_msg_id);
      this.rateHold ??= setTimeout(() => this.releaseHeld(), 1_000 + Math.random() * 1_000);
      return true;
    }
    if (retryable.has(error.code)) return true; // stays in the outbox; the next connect resends it
    this.pendingById.delete(pending.client_msg_id);
    void this.outbox.remove(pending.client_msg_id);
    const detail: SendError = { code: error.code, message: error.message };
    if (isPendingAction(pending)) {
      // Shown applied until now: leaving the outbox takes it back off the message.
      this.ctx.emit("actionFailed", { action: pending, error: detail });
      this.ctx.emit("error", error);
    } else {
      this.failed.set(pending.client_msg_id, { pending, error: detail });
      this.ctx.emit("failed", { pending, error: detail });
    }
    this.ctx.emit("conversation", pending.conversation_id);
    return true;
  }

  stop(): void {
    this.clearHold();
  }

  /** A message from the outbox goes now, or with the held ones if the server asked us to slow down. */
  private sendPending(pending: OutboxEntry): void {
    if (this.rateHold) this.heldBack.add(pending.client_msg_id);
    else this.transmit(sendFrame(pending));
  }

  private releaseHeld(): void {
    this.rateHold = null;
    const held = this.queued().filter((p) => this.heldBack.has(p.client_msg_id));
    this.heldBack.clear();
    for (const p of held) this.transmit(sendFrame(p));
  }

  /** Everything in the outbox, oldest first. */
  private queued(conversationId?: string): OutboxEntry[] {
    return [...this.pendingById.values()]
      .filter((p) => conversationId === undefined || p.conversation_id === conversationId)
      .sort((a, b) => a.created_at - b.created_at);
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
    queueMicrotask(() => this.ctx.socket.send(this.outgoing.splice(0)));
  }
}

/** The frame an outbox entry goes as: a send, a forward or an action. */
function sendFrame(pending: OutboxEntry): ClientFrame {
  if (isPendingAction(pending)) {
    return {
      type: "message_action",
      conversation_id: pending.conversation_id,
      server_msg_id: pending.server_msg_id,
      action: pending.action,
      client_msg_id: pending.client_msg_id,
      ...(pending.content !== undefined ? { content: pending.content } : {}),
    };
  }
  if (pending.forward_of) {
    return { type: "forward_message", conversation_id: pending.conversation_id, client_msg_id: pending.client_msg_id, from: pending.forward_of };
  }
  return {
    type: "send_message",
    conversation_id: pending.conversation_id,
    client_msg_id: pending.client_msg_id,
    content: pending.content,
    content_type: pending.content_type,
    ...(pending.media_id ? { media_id: pending.media_id } : {}),
    ...(pending.reply_to ? { reply_to: pending.reply_to } : {}),
    ...(pending.mentions?.length ? { mentions: pending.mentions } : {}),
  };
}
