/**
 * What a conversation object hands a member's user object when it fans messages out.
 * `frame` is the `new_message` frame already encoded: JSON is built once per message,
 * not once per member or device.
 */
export interface DeliveredMessage {
  seq: number;
  sender_id: string;
  timestamp: number;
  frame: string;
  /** The device that sent it already has it (from its ack); it is not echoed back there. */
  origin_device?: string;
  /** For `system` messages, the event (JSON): user objects keep their copy of name and members from it. */
  system?: string;
}

export interface DeliveryBatch {
  conversation_id: string;
  messages: DeliveredMessage[];
}

/**
 * A user object's answer to a delivery: how far its inbox for the conversation is written to
 * storage (the answer leaves only once that write is durable), or null when the conversation is not
 * in its inbox (not a member, or just left) and there is nothing to wait for. Inbox writes are held
 * for up to a second, so this lags what was just delivered; the conversation counts a member as
 * having a message only once it is written (Fanout, confirmation).
 */
export type DeliveryReceipt = { written_seq: number | null };
