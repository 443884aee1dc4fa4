import type { z } from "zod";
import type { ForwardSource, MessageActionFrame, SendMessageFrame } from "../protocol/frames";
import type { MediaRef, QuotedMessage } from "../protocol/models";

/**
 * A message the user wrote (or forwarded) that the server has not acknowledged yet: its
 * `send_message` frame, and when. A forward (`forward_of`) goes as a `forward_message` frame.
 */
export interface PendingMessage extends Omit<z.infer<typeof SendMessageFrame>, "type"> {
  /** When the user wrote it (client clock); orders the outbox. */
  created_at: number;
  /** For media messages: what the upload became, to show it before the message is stored. */
  media?: MediaRef;
  /** A reply: the quote shown while pending, built from this device's copy of the quoted message. */
  quote?: QuotedMessage;
  /** A forward: the original, which the server copies. `content`, `content_type` and `media` are this device's copy, to show meanwhile. */
  forward_of?: ForwardSource;
  /** A forward's hops, as the stored message will carry them. */
  forwarded?: number;
}

/**
 * An edit, reaction or delete for everyone the server has not acknowledged yet: its
 * `message_action` frame, and when. Shown applied to its message until then.
 */
export interface PendingAction extends Omit<z.infer<typeof MessageActionFrame>, "type"> {
  kind: "action";
  created_at: number;
  /** The target as this device knew it, so the acknowledged action can join the timeline as a row. */
  target_seq?: number;
  target_sender_id?: string;
}

/** What waits in the outbox: messages and actions, in the order they were made. */
export type OutboxEntry = PendingMessage | PendingAction;

export function isPendingAction(entry: OutboxEntry): entry is PendingAction {
  return "kind" in entry && entry.kind === "action";
}

/**
 * Where unacknowledged messages and actions wait. One is put here before it is first sent and
 * removed only when its `message_ack` arrives (or the server refuses it for good), so a crash, a
 * reload or a dropped socket never loses it; resending it keeps its `client_msg_id`, which the
 * server stores once. Implementations must survive whatever restart the app cares about.
 */
export interface OutboxStore {
  list(): Promise<OutboxEntry[]>;
  put(entry: OutboxEntry): Promise<void>;
  remove(clientMsgId: string): Promise<void>;
}

/**
 * An outbox in memory: it survives reconnects and (if the same instance is handed to a new client)
 * a restart of the SDK, but not of the process. Node programs that need more can implement
 * `OutboxStore` over a file; browsers use `IndexedDbOutbox`.
 */
export class MemoryOutbox implements OutboxStore {
  private readonly entries = new Map<string, OutboxEntry>();

  async list(): Promise<OutboxEntry[]> {
    return [...this.entries.values()].sort((a, b) => a.created_at - b.created_at);
  }

  async put(entry: OutboxEntry): Promise<void> {
    this.entries.set(entry.client_msg_id, { ...entry });
  }

  async remove(clientMsgId: string): Promise<void> {
    this.entries.delete(clientMsgId);
  }
}
