import type { z } from "zod";
import type { SendMessageFrame } from "../protocol/frames";
import type { MediaRef } from "../protocol/models";

/** A message the user wrote that the server has not acknowledged yet: its `send_message` frame, and when. */
export interface PendingMessage extends Omit<z.infer<typeof SendMessageFrame>, "type"> {
  /** When the user wrote it (client clock); orders the outbox. */
  created_at: number;
  /** For media messages: what the upload became, to show it before the message is stored. */
  media?: MediaRef;
}

/**
 * Where unacknowledged messages wait. A message is put here before it is first sent and removed
 * only when its `message_ack` arrives (or the server refuses it for good), so a crash, a reload or
 * a dropped socket never loses it; resending it keeps its `client_msg_id`, which the server stores
 * once. Implementations must survive whatever restart the app cares about.
 */
export interface OutboxStore {
  list(): Promise<PendingMessage[]>;
  put(message: PendingMessage): Promise<void>;
  remove(clientMsgId: string): Promise<void>;
}

/**
 * An outbox in memory: it survives reconnects and (if the same instance is handed to a new client)
 * a restart of the SDK, but not of the process. Node programs that need more can implement
 * `OutboxStore` over a file; browsers use `IndexedDbOutbox`.
 */
export class MemoryOutbox implements OutboxStore {
  private readonly messages = new Map<string, PendingMessage>();

  async list(): Promise<PendingMessage[]> {
    return [...this.messages.values()].sort((a, b) => a.created_at - b.created_at);
  }

  async put(message: PendingMessage): Promise<void> {
    this.messages.set(message.client_msg_id, { ...message });
  }

  async remove(clientMsgId: string): Promise<void> {
    this.messages.delete(clientMsgId);
  }
}
