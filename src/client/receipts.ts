import type { DeliveryStatus } from "../protocol/frames";

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
  stateOf(seq: number, recipients: string[]): "sent" | "delivered" | "read" {
    if (recipients.length === 0) return "sent";
    const cursors = recipients.map((user) => this.byUser.get(user));
    if (cursors.every((c) => c !== undefined && c.read >= seq)) return "read";
    if (cursors.every((c) => c !== undefined && c.delivered >= seq)) return "delivered";
    return "sent";
  }
}
