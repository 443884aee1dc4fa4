import type { Env } from "../../env";
import { log } from "../../lib/log";
import { conversationHome } from "../homes";
import { count } from "../../lib/metrics";
import { KeyedSerialQueue } from "../../lib/serial";
import { catchUpRate } from "../../lib/sendRate";
import { TokenBuckets } from "../../lib/tokenBucket";
import { Limits, SystemEvent, type Message } from "../../protocol";
import { deliveredOf, type DeliveredMessage, type DeliveryBatch, type DeliveryReceipt, type Recipient } from "../delivery";
import { newMessageFrame, sendFrames } from "../sockets";
import type { ObjectContext } from "../context";
import type { ConversationSettingsStore } from "./conversationSettings";
import type { InboxStore } from "./inbox";
import type { Profiles } from "./profiles";
import type { PushNotifier } from "./push";
import type { DeviceSession, DeviceSessions } from "./sessions";

export const encodeDelivered = (m: Message): DeliveredMessage => deliveredOf(m);

/**
 * Gets messages from conversations onto the devices of the users an object holds: live as they are
 * fanned out (one call per object, naming which of its users get what), and by replay when a device
 * (re)connects. Per conversation the object's head only moves by one at a time: a batch that
 * arrives past a gap first pulls the missing messages, so devices see every conversation in seq
 * order even if the object lost what it held in a restart.
 */
export class Delivery {
  private readonly perConversation = new KeyedSerialQueue();
  /** Catch-up bytes per user (in memory: an eviction only ever lets a user catch up sooner). */
  private readonly catchUpBytes: TokenBuckets;
  private readonly env: Env;

  constructor(
    object: ObjectContext,
    private readonly profiles: Profiles,
    private readonly inbox: InboxStore,
    private readonly sessions: DeviceSessions,
    /** Told what reached a user while none of their devices was connected. */
    private readonly push: Pick<PushNotifier, "noteUndelivered">,
    /** Told what arrived, which may bring archived conversations back to their users' lists. */
    private readonly settings: Pick<ConversationSettingsStore, "delivered">,
  ) {
    this.env = object.env;
    const rate = catchUpRate(object.env);
    this.catchUpBytes = new TokenBuckets(rate.burst, rate.perSecond);
  }

  async deliver(batch: DeliveryBatch): Promise<DeliveryReceipt> {
    await this.perConversation.run(batch.conversation_id, () => this.deliverInOrder(batch));
    return this.receipt(batch.conversation_id);
  }

  /**
   * How far the conversation is written here, and how far held. A conversation asking a moment after
   * a burst gets the answer as it stands (the held writes go within a second anyway; forcing them out
   * for every conversation that asks would cost a commit per question); its alarm, settling
   * everything before it records progress, has them written now (`writeNow`).
   */
  receipt(conversationId: string, writeNow = false): DeliveryReceipt {
    const { written, held } = this.inbox.progress(conversationId, writeNow);
    return { written_seq: written, held_seq: held };
  }

  private async deliverInOrder(batch: DeliveryBatch): Promise<void> {
    const conversationId = batch.conversation_id;
    const here = this.inbox.usersIn(conversationId);
    const unknown = batch.recipients.filter((r) => !here.has(r.user_id) && this.profiles.has(r.user_id));
    // The fan-out beat the join notice (or the join was lost): learn the conversation first.
    if (unknown.length > 0) await this.learn(conversationId, unknown);
    const head = this.inbox.lastSeq(conversationId);
    if (head === null) return; // none of our users is in it: nothing of this conversation is ours to show
    let fresh = batch.messages.filter((m) => m.seq > head);
    if (fresh.length === 0) return;
    if (fresh[0]!.seq > head + 1) fresh = [...(await this.fetchRange(conversationId, batch.recipients, head, fresh[0]!.seq)), ...fresh];
    const recipients = batch.recipients.filter((r) => here.has(r.user_id));
    const first = fresh[0]!.seq;
    const last = fresh[fresh.length - 1]!.seq;
    // Push before writing: a socket send issued after a write waits for that write to be durable
    // (the output gate), which would put a second fsync on every message's path. The conversation
    // already holds the message durably; this object's reply to `deliver` still waits for the inbox
    // write, so fan-out delivers again if we die in between, and a repeat is dropped by seq.
    const offline: [string, DeliveredMessage[]][] = [];
    const withheld = fresh.some((m) => m.withheld_from !== undefined); // a block in a direct chat: rare
    for (const r of recipients) {
      const theirs = r.after < first && r.upTo >= last ? fresh : fresh.filter((m) => m.seq > r.after && m.seq <= r.upTo);
      if (theirs.length === 0) continue;
      const sessions = this.sessions.ofUser(r.user_id);
      for (const session of sessions) this.pushLive(session, conversationId, theirs);
      // A message withheld from this user (they blocked its sender) reached their devices as a placeholder: no push.
      const pushable = withheld ? theirs.filter((m) => m.withheld_from !== r.user_id) : theirs;
      if (sessions.length === 0 && pushable.length > 0) offline.push([r.user_id, pushable]);
    }
    this.inbox.applyDelivered(conversationId, fresh, recipients);
    this.settings.delivered(conversationId, fresh, recipients);
    // After the inbox counts them, so a push says the unread count that includes them.
    const now = Date.now();
    for (const [userId, theirs] of offline) this.push.noteUndelivered(userId, conversationId, theirs, now);
    count(this.env, "deliveries", fresh.length * recipients.length);
    for (const m of fresh) {
      if (m.system === undefined) continue;
      const event = SystemEvent.safeParse(JSON.parse(m.system));
      if (event.success) this.inbox.applySystemEvent(conversationId, event.data);
    }
  }

  /** Adds the conversation to the lists of users who should have it (asking the conversation what it is). */
  private async learn(conversationId: string, recipients: Recipient[]): Promise<void> {
    const home = conversationHome(this.env, conversationId);
    for (const r of recipients) {
      const described = await home.describe(conversationId, r.user_id);
      if (!described.ok) continue; // not a member (any more): nothing of it is theirs
      for (const other of recipients) {
        if (described.value.members.some((m) => m.user_id === other.user_id)) this.inbox.join(other.user_id, described.value, other.after);
      }
      return;
    }
  }

  private pushLive(session: DeviceSession, conversationId: string, messages: DeliveredMessage[]) {
    if (session.replaying.has(conversationId)) return; // the replay loop will reach these
    let sent = session.sentSeq.get(conversationId) ?? 0;
    const frames: string[] = [];
    for (const m of messages) {
      if (m.seq <= sent) continue;
      if (m.origin_device !== session.deviceId || m.sender_id !== session.userId) frames.push(m.withheld_from === session.userId ? m.withheld_frame! : m.frame);
      sent = m.seq;
    }
    if (frames.length > 0) sendFrames(session.ws, frames, session.batched);
    session.sentSeq.set(conversationId, sent);
  }

  /** Messages with seq in (after, before), pulled from the conversation to close a gap. */
  private async fetchRange(conversationId: string, recipients: Recipient[], after: number, before: number): Promise<DeliveredMessage[]> {
    // Read as the member who may see the most of the range (the earliest joined).
    const reader = recipients.filter((r) => this.inbox.has(r.user_id, conversationId)).sort((x, y) => x.after - y.after)[0];
    if (!reader) return [];
    const out: DeliveredMessage[] = [];
    let cursor = after;
    while (cursor < before - 1) {
      const page = await conversationHome(this.env, conversationId).history(conversationId, reader.user_id, { after: cursor, limit: Limits.historyMaxPage });
      if (!page.ok || page.value.messages.length === 0) break;
      for (const m of page.value.messages) if (m.seq < before) out.push(encodeDelivered(m));
      cursor = page.value.messages[page.value.messages.length - 1]!.seq;
      if (!page.value.has_more) break;
    }
    return out;
  }

  /**
   * Catches a (re)connected device up on everything past its delivery cursors, conversation by
   * conversation, in bounded pages. Conversations are marked before the first await so no live
   * push can overtake the replay; each is released the moment the replay reaches the head.
   */
  async replay(session: DeviceSession): Promise<void> {
    const behind = this.inbox.behind(session.userId, session.deviceId);
    for (const b of behind) session.replaying.add(b.conversation_id);
    for (const { conversation_id, from_seq } of behind) {
      try {
        await this.replayConversation(session, conversation_id, from_seq);
      } catch (err) {
        log.error("replay failed", { user_id: session.userId, device_id: session.deviceId, conversation_id, error: err });
      } finally {
        session.replaying.delete(conversation_id);
      }
      if (session.ws.readyState !== WebSocket.OPEN) return;
    }
  }

  private async replayConversation(session: DeviceSession, conversationId: string, fromSeq: number) {
    let cursor = fromSeq;
    for (;;) {
      const page = await conversationHome(this.env, conversationId).history(conversationId, session.userId, { after: cursor, limit: Limits.replayPage });
      if (!page.ok) return;
      // A page goes in as few socket messages as fit for a parley.v2 client: per-message sends were most of the cost.
      const frames = page.value.messages.map(newMessageFrame);
      // Each page draws its size from the user's catch-up budget, waiting for it if need be: one page
      // is at most 1 MiB, the burst far more, so this only ever slows a backlog pulled again and again.
      let owed = frames.reduce((n, f) => n + f.length, 0);
      for (;;) {
        owed -= this.catchUpBytes.takeUpTo(session.userId, owed);
        if (owed <= 0) break;
        if (session.ws.readyState !== WebSocket.OPEN) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (frames.length > 0 && !sendFrames(session.ws, frames, session.batched)) return;
      if (frames.length > 0) cursor = page.value.messages[page.value.messages.length - 1]!.seq;
      // Checked with no await in between, so a delivery that lands later finds the replay done.
      const head = this.inbox.lastSeq(conversationId) ?? 0;
      if (!page.value.has_more && cursor >= head) {
        session.sentSeq.set(conversationId, cursor);
        return;
      }
      if (page.value.messages.length === 0 && !page.value.has_more) {
        // The head is ahead of the conversation's history (cannot normally happen): stop.
        session.sentSeq.set(conversationId, cursor);
        return;
      }
    }
  }
}
