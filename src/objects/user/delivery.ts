import { conversationStub, type Env } from "../../env";
import { count } from "../../lib/metrics";
import { KeyedSerialQueue } from "../../lib/serial";
import { Limits, SystemEvent, type Message } from "../../protocol";
import type { DeliveredMessage, DeliveryBatch, DeliveryReceipt } from "../delivery";
import type { InboxStore } from "./inbox";
import { sendFrames } from "../sockets";
import type { DeviceSession, DeviceSessions } from "./sessions";

const encode = (m: Message): DeliveredMessage => ({
  seq: m.seq,
  sender_id: m.sender_id,
  timestamp: m.timestamp,
  frame: JSON.stringify({ type: "new_message", ...m }),
  system: m.content_type === "system" ? m.content : undefined,
});

/**
 * Gets messages from conversations onto this user's devices: live as they are fanned out, and
 * by replay when a device (re)connects. Per conversation the inbox's `last_seq` only moves by
 * one at a time: a batch that arrives past a gap first pulls the missing messages, so devices
 * see every conversation in seq order even if fan-out calls overtake each other.
 */
export class Delivery {
  private readonly perConversation = new KeyedSerialQueue();

  constructor(
    private readonly env: Env,
    private readonly userId: () => string,
    private readonly inbox: InboxStore,
    private readonly sessions: DeviceSessions,
    /** Called with what arrived while no device was connected (push notifications). */
    private readonly undelivered: (conversationId: string, messages: DeliveredMessage[]) => void = () => {},
  ) {}

  async deliver(batch: DeliveryBatch): Promise<DeliveryReceipt> {
    await this.perConversation.run(batch.conversation_id, () => this.deliverInOrder(batch));
    return { written_seq: this.inbox.writtenLastSeq(batch.conversation_id) };
  }

  /** Writes what is held for the conversation now, and says how far that is. */
  confirm(conversationId: string): DeliveryReceipt {
    return { written_seq: this.inbox.flushHead(conversationId) };
  }

  private async deliverInOrder(batch: DeliveryBatch): Promise<void> {
    const conversationId = batch.conversation_id;
    let lastSeq = this.inbox.lastSeq(conversationId);
    if (lastSeq === null) {
      // The fan-out beat the join notice (or the join was lost): learn the conversation first.
      const described = await conversationStub(this.env, conversationId).describe(this.userId());
      if (!described.ok) return; // not a member: nothing of this conversation is ours to show
      this.inbox.join(described.value);
      lastSeq = this.inbox.lastSeq(conversationId) ?? 0;
    }
    let fresh = batch.messages.filter((m) => m.seq > lastSeq!);
    if (fresh.length === 0) return;
    if (fresh[0]!.seq > lastSeq + 1) {
      const missing = await this.fetchRange(conversationId, lastSeq, fresh[0]!.seq);
      fresh = [...missing, ...fresh];
    }
    // Push before writing: a socket send issued after a write waits for that write to be durable
    // (the output gate), which would put a second fsync on every message's path. The conversation
    // already holds the message durably; this object's reply to `deliver` still waits for the inbox
    // write, so fan-out retries if we die in between, and a repeat is dropped by seq on the device.
    for (const session of this.sessions.all()) this.pushLive(session, conversationId, fresh);
    this.inbox.applyDelivered(conversationId, this.userId(), fresh);
    count(this.env, "deliveries", fresh.length);
    if (this.sessions.all().length === 0) this.undelivered(conversationId, fresh);
    for (const m of fresh) {
      if (m.system === undefined) continue;
      const event = SystemEvent.safeParse(JSON.parse(m.system));
      if (event.success && !this.inbox.applySystemEvent(conversationId, this.userId(), event.data)) return;
    }
  }

  private pushLive(session: DeviceSession, conversationId: string, messages: DeliveredMessage[]) {
    if (session.replaying.has(conversationId)) return; // the replay loop will reach these
    let sent = session.sentSeq.get(conversationId) ?? 0;
    const frames: string[] = [];
    for (const m of messages) {
      if (m.seq <= sent) continue;
      if (m.origin_device !== session.deviceId) frames.push(m.frame);
      sent = m.seq;
    }
    if (frames.length > 0) sendFrames(session.ws, frames, session.batched);
    session.sentSeq.set(conversationId, sent);
  }

  /** Messages with seq in (after, before), pulled from the conversation to close a gap. */
  private async fetchRange(conversationId: string, after: number, before: number): Promise<DeliveredMessage[]> {
    const out: DeliveredMessage[] = [];
    let cursor = after;
    while (cursor < before - 1) {
      const page = await conversationStub(this.env, conversationId).history(this.userId(), {
        after: cursor,
        limit: Limits.historyMaxPage,
      });
      if (!page.ok || page.value.messages.length === 0) break;
      for (const m of page.value.messages) if (m.seq < before) out.push(encode(m));
      cursor = page.value.messages[page.value.messages.length - 1]!.seq;
      if (!page.value.has_more) break;
    }
    return out;
  }

  /**
   * Catches a (re)connected device up on everything past its delivery cursors, conversation by
   * conversation, in bounded pages. Conversations are marked before the first await so no live
   * push can overtake the replay; each is released the moment the replay reaches the inbox head.
   */
  async replay(session: DeviceSession): Promise<void> {
    const behind = this.inbox.behind(session.deviceId);
    for (const b of behind) session.replaying.add(b.conversation_id);
    for (const { conversation_id, from_seq } of behind) {
      try {
        await this.replayConversation(session, conversation_id, from_seq);
      } catch (err) {
        console.error(JSON.stringify({ level: "error", msg: "replay failed", conversation: conversation_id, error: String(err) }));
      } finally {
        session.replaying.delete(conversation_id);
      }
      if (session.ws.readyState !== WebSocket.OPEN) return;
    }
  }

  private async replayConversation(session: DeviceSession, conversationId: string, fromSeq: number) {
    let cursor = fromSeq;
    for (;;) {
      const page = await conversationStub(this.env, conversationId).history(this.userId(), {
        after: cursor,
        limit: Limits.replayPage,
      });
      if (!page.ok) return;
      // A page is one socket message for a parley.v2 client: per-message sends were most of the cost.
      const frames = page.value.messages.map((m) => JSON.stringify({ type: "new_message", ...m }));
      if (frames.length > 0 && !sendFrames(session.ws, frames, session.batched)) return;
      if (frames.length > 0) cursor = page.value.messages[page.value.messages.length - 1]!.seq;
      // Checked with no await in between, so a delivery that lands later finds the replay done.
      const head = this.inbox.lastSeq(conversationId) ?? 0;
      if (!page.value.has_more && cursor >= head) {
        session.sentSeq.set(conversationId, cursor);
        return;
      }
      if (page.value.messages.length === 0 && !page.value.has_more) {
        // The inbox is ahead of the conversation's history (cannot normally happen): stop.
        session.sentSeq.set(conversationId, cursor);
        return;
      }
    }
  }
}
