import type { z } from "zod";
import type { DeliveryStatus, MessageAckFrame, MessageStatusFrame, MessageStatusUpdateFrame } from "../protocol/frames";
import type { ClientContext } from "./context";
import type { ConversationList } from "./conversation-list";
import type { Timelines } from "./timelines";

type StatusFrame = z.infer<typeof MessageStatusFrame>;

/** Where one of your stored messages stands with its recipients. */
export type ReceiptState = MessageAckFrame["status"] | DeliveryStatus;

interface Cursor {
  delivered: number;
  read: number;
}

/**
 * What the other members of one conversation have delivered and read, as cumulative seq cursors
 * (a `read` for seq 10 covers 1..10 and implies delivered). Fed by `message_status` frames and by
 * the receipts endpoint when a chat is opened.
 */
export class ReceiptCursors {
  private readonly byUser = new Map<string, Cursor>();

  note(userId: string, status: DeliveryStatus, seq: number): boolean {
    const cursor = this.byUser.get(userId) ?? { delivered: 0, read: 0 };
    const before = { ...cursor };
    if (status === "read") cursor.read = Math.max(cursor.read, seq);
    cursor.delivered = Math.max(cursor.delivered, cursor.read, seq);
    this.byUser.set(userId, cursor);
    return before.delivered !== cursor.delivered || before.read !== cursor.read;
  }

  /** The state of message `seq` for a sender, given who else it went to. */
  stateOf(seq: number, recipients: string[]): ReceiptState {
    if (recipients.length === 0) return "sent";
    const cursors = recipients.map((user) => this.byUser.get(user));
    if (cursors.every((c) => c !== undefined && c.read >= seq)) return "read";
    if (cursors.every((c) => c !== undefined && c.delivered >= seq)) return "delivered";
    return "sent";
  }
}

/**
 * Receipts both ways: this device's `delivered` and `read` acknowledgements (cumulative, for the
 * highest seq held with no hole below it), and the other members' receipts for your messages.
 */
export class Receipts {
  private readonly theirs = new Map<string, ReceiptCursors>();
  private readonly deliveredSent = new Map<string, number>();
  private readonly readSent = new Map<string, number>();
  private readonly readWanted = new Set<string>();
  private readonly deliveredDirty = new Set<string>();
  private deliveredTimer: ReturnType<typeof setTimeout> | null = null;
  private lastDeliveredFlush = -Infinity;

  constructor(
    private readonly ctx: ClientContext,
    private readonly timelines: Timelines,
    private readonly list: ConversationList,
    /** See `ParleyClientOptions.deliveredAckIntervalMs`. */
    private readonly deliveredAckIntervalMs: number,
  ) {}

  /** A `message_status` frame: someone received or read your messages up to a seq. */
  heard(frame: MessageStatusUpdateFrame): void {
    if (!this.cursors(frame.conversation_id).note(frame.user_id, frame.status, frame.seq)) return;
    this.ctx.emit("receipt", frame);
    this.ctx.emit("conversation", frame.conversation_id);
  }

  /** A message arrived: `delivered` follows, coalesced with whatever else arrives meanwhile. */
  arrived(conversationId: string): void {
    this.deliveredDirty.add(conversationId);
    // 10 ms lets a burst of frames land first; after that, at most one flush per interval.
    const interval = this.deliveredAckIntervalMs * (0.75 + Math.random() / 2);
    const wait = Math.max(10, this.lastDeliveredFlush + interval - Date.now());
    this.deliveredTimer ??= setTimeout(() => this.flushDelivered(), wait);
  }

  /** The seq this device has acknowledged `read` up to in the conversation (0 for none). */
  readUpTo(conversationId: string): number {
    return this.readSent.get(conversationId) ?? 0;
  }

  /**
   * The user has seen the conversation: acknowledge `read` up to the newest message held. The
   * unread count drops when the acknowledgement goes out (at once, or when the connection returns).
   */
  markRead(conversationId: string): void {
    const top = this.timelines.contiguousSeq(conversationId);
    if (top === null) return;
    if (top <= this.readUpTo(conversationId)) {
      this.list.clearUnread(conversationId);
      return;
    }
    this.readWanted.add(conversationId);
    this.flushReads();
  }

  /** Sends the `read` acknowledgements still owed (after `markRead` while offline, on reconnect). */
  flushReads(): void {
    const frames: StatusFrame[] = [];
    for (const conversationId of this.readWanted) {
      const timeline = this.timelines.of(conversationId);
      const top = timeline.contiguousSeq;
      const message = top === null ? undefined : timeline.get(top);
      if (top === null || !message || top <= this.readUpTo(conversationId)) continue;
      frames.push({ type: "message_status", conversation_id: conversationId, server_msg_id: message.server_msg_id, status: "read" });
    }
    if (frames.length === 0 || !this.ctx.socket.send(frames)) return;
    for (const f of frames) {
      this.readSent.set(f.conversation_id, this.timelines.contiguousSeq(f.conversation_id)!);
      this.list.clearUnread(f.conversation_id);
    }
    this.readWanted.clear();
  }

  /**
   * Fetches who has received and read your newest message in a conversation, so ticks are right
   * after a reload (receipts that arrived while this device was away are not replayed as frames).
   */
  async load(conversationId: string): Promise<void> {
    const own = [...this.timelines.messages(conversationId)]
      .reverse()
      .find((m) => m.sender_id === this.ctx.user.user_id && m.content_type !== "system");
    if (!own) return;
    const { receipts } = await this.ctx.rest.call("receipts", { conversation_id: conversationId, server_msg_id: own.server_msg_id });
    const cursors = this.cursors(conversationId);
    for (const r of receipts) {
      if (r.read_at !== null) cursors.note(r.user_id, "read", own.seq);
      else if (r.delivered_at !== null) cursors.note(r.user_id, "delivered", own.seq);
    }
    this.ctx.emit("conversation", conversationId);
  }

  /** Where your message `seq` stands with `recipients`, as far as this device has heard. */
  stateOf(conversationId: string, seq: number, recipients: string[]): ReceiptState {
    return this.theirs.get(conversationId)?.stateOf(seq, recipients) ?? "sent";
  }

  stop(): void {
    if (this.deliveredTimer) clearTimeout(this.deliveredTimer);
    this.deliveredTimer = null;
  }

  /** One `delivered` per conversation for the highest seq held with no hole below it. */
  private flushDelivered(): void {
    this.deliveredTimer = null;
    this.lastDeliveredFlush = Date.now();
    const frames: StatusFrame[] = [];
    for (const conversationId of this.deliveredDirty) {
      const timeline = this.timelines.of(conversationId);
      const top = timeline.contiguousSeq;
      const message = top === null ? undefined : timeline.get(top);
      if (top === null || !message) continue;
      const covered = Math.max(this.deliveredSent.get(conversationId) ?? 0, this.readUpTo(conversationId));
      if (top <= covered) continue;
      frames.push({ type: "message_status", conversation_id: conversationId, server_msg_id: message.server_msg_id, status: "delivered" });
      this.deliveredSent.set(conversationId, top);
    }
    this.deliveredDirty.clear();
    if (frames.length && !this.ctx.socket.send(frames)) {
      // Not connected: the server replays past this device's cursor on reconnect and we ack then.
      for (const f of frames) this.deliveredSent.delete(f.conversation_id);
    }
  }

  private cursors(conversationId: string): ReceiptCursors {
    let cursors = this.theirs.get(conversationId);
    if (!cursors) this.theirs.set(conversationId, (cursors = new ReceiptCursors()));
    return cursors;
  }
}
