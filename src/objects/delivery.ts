import { isAction, type ActionType, type Message } from "../protocol";
import { newMessageFrame } from "./sockets";

/**
 * What a conversation object hands the user objects when it fans messages out. `frame` is the
 * `new_message` frame already encoded: JSON is built once per message, not once per member or device.
 */
export interface DeliveredMessage {
  seq: number;
  sender_id: string;
  timestamp: number;
  frame: string;
  /** The sender's device that sent it already has it (from its ack); it is not echoed back there. */
  origin_device?: string;
  /** For `system` messages, the event (JSON): user objects keep their copy of name and members from it. */
  system?: string;
  /**
   * A member who blocked the sender (a direct chat) gets `withheld_frame` instead: the message's
   * place in the sequence and nothing of it; it is not counted unread or pushed (withheld.ts).
   */
  withheld_from?: string;
  withheld_frame?: string;
  /**
   * An action (edit, reaction, delete): not counted unread; its target's author may be pushed (a
   * reaction), a pending push of its target dropped (a delete), the inbox preview updated.
   */
  action?: { kind: ActionType; target_seq: number; target_sender: string; content: string };
  /** Users the message mentions: pushed to even when they would otherwise not be. */
  mentioned?: string[];
}

/** A row of the sequence as fan-out and catch-up hand it to user objects: its frame encoded once. */
export function deliveredOf(m: Message, originDevice?: string): DeliveredMessage {
  const delivered: DeliveredMessage = {
    seq: m.seq,
    sender_id: m.sender_id,
    timestamp: m.timestamp,
    frame: newMessageFrame(m),
    origin_device: originDevice,
    system: m.content_type === "system" ? m.content : undefined,
  };
  if (m.target && isAction(m)) {
    delivered.action = { kind: m.content_type as ActionType, target_seq: m.target.seq, target_sender: m.target.sender_id, content: m.content };
  }
  if (m.mentions && m.mentions.length > 0) delivered.mentioned = [...new Set(m.mentions.map((x) => x.user_id))];
  return delivered;
}

/** A member a batch is for, and the part of the conversation they may see: seqs in (after, upTo]. */
export interface Recipient {
  user_id: string;
  after: number;
  upTo: number;
}

/** One call per user object: the messages, and which of the object's users get which of them. */
export interface DeliveryBatch {
  conversation_id: string;
  messages: DeliveredMessage[];
  recipients: Recipient[];
}

/**
 * A user object's answer to a delivery: how far the conversation is written to its storage (the
 * answer leaves only once that write is durable), or null when none of its users has the
 * conversation (they left) and there is nothing to wait for. Inbox writes are held for up to a
 * second, so this lags what was just delivered; the conversation counts a member as having a message
 * only once it is written (its fan-out ledger). `held_seq`: how far it has them at all, written or
 * held; below what it was handed, it lost what it held in a restart.
 */
export type DeliveryReceipt = { written_seq: number | null; held_seq: number | null };
