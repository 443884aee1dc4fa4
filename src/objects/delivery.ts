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
