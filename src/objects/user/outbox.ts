import type { Env } from "../../env";
import { log } from "../../lib/log";
import { ErrorCode, type Outgoing, type ProtocolError } from "../../protocol";
import type { SendBatch, SendOutcome } from "../conversation/ConversationObject";
import { conversationHome, conversationHomeName, conversationHomeStub } from "../homes";
import type { Result } from "../../lib/result";
import { sendFrames, sendOutcomeFrame } from "../sockets";
import type { DeviceSession, DeviceSessions } from "./sessions";

type Send = { session: DeviceSession; conversationId: string; message: Outgoing };
/** The sends waiting for a conversation object's next call, and a promise settled once that call is answered. */
type Waiting = { sends: Send[]; answered: Promise<void>; settle: () => void };

const couldNotStore: ProtocolError = { code: ErrorCode.internal, message: "could not store the message; retry" };

/**
 * Sends from the devices of the users an object holds, on their way to the conversations.
 *
 * Text goes in one call per conversation object, whatever conversations and devices it is from:
 * what arrived in the same turn of this object (a timer fires only once the frames already queued
 * have run) is stored by the conversation object in one turn, one commit, and its fan-outs share
 * calls. One call per conversation object is in flight at a time; what arrives meanwhile goes in
 * the next, so every device's sends to a conversation keep their order.
 *
 * A media send is checked against R2 by the conversation, which takes a while: it goes alone, after
 * whatever its device sent to the conversation before it, and the device's later sends to that
 * conversation follow it one by one until it is answered.
 */
export class Outbox {
  private readonly waiting = new Map<string, Waiting>();
  private readonly inFlight = new Set<string>();
  private timer = false;
  /** Per lane (user, device, conversation): the last call carrying its sends, or its media chain. */
  private readonly lanes = new Map<string, { after: Promise<void>; slow: boolean }>();

  constructor(
    private readonly env: Env,
    /** The device's socket that is open now: a reconnected device's acks go to its new socket. */
    private readonly sessions: Pick<DeviceSessions, "current">,
  ) {}

  add(session: DeviceSession, conversationId: string, message: Outgoing): void {
    const lane = `${session.userId}\n${session.deviceId}\n${conversationId}`;
    const current = this.lanes.get(lane);
    if (message.media_id !== undefined || message.forward_of !== undefined || current?.slow) return this.addSlow(lane, session, conversationId, message, current?.after);
    const home = conversationHomeName(this.env, conversationId);
    let waiting = this.waiting.get(home);
    if (!waiting) {
      let settle = () => {};
      const answered = new Promise<void>((resolve) => (settle = resolve));
      this.waiting.set(home, (waiting = { sends: [], answered, settle }));
    }
    waiting.sends.push({ session, conversationId, message });
    this.track(lane, waiting.answered, false);
    if (!this.timer) {
      this.timer = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  private flush(): void {
    this.timer = false;
    for (const home of this.waiting.keys()) if (!this.inFlight.has(home)) void this.call(home);
  }

  private async call(home: string): Promise<void> {
    const waiting = this.waiting.get(home)!;
    this.waiting.delete(home);
    this.inFlight.add(home);
    try {
      // One batch per conversation, sender and device, in the order they arrived.
      const batches = new Map<string, SendBatch & { sends: Send[] }>();
      for (const s of waiting.sends) {
        const key = `${s.conversationId}\n${s.session.userId}\n${s.session.deviceId}`;
        let b = batches.get(key);
        if (!b) {
          batches.set(key, (b = { conversation_id: s.conversationId, sender_id: s.session.userId, origin_device: s.session.deviceId, messages: [], sends: [] }));
        }
        b.messages.push(s.message);
        b.sends.push(s);
      }
      const list = [...batches.values()];
      let outcomes: Result<SendOutcome[]>[];
      try {
        outcomes = await conversationHomeStub(this.env, home).sendMany(list.map(({ sends: _s, ...b }) => b));
      } catch (err) {
        log.error("send failed", { home, conversation_ids: [...new Set(list.map((b) => b.conversation_id))], error: err });
        // Nothing was acked: the clients keep these in their outboxes and resend with the same ids.
        outcomes = list.map(() => ({ ok: false as const, error: couldNotStore }));
      }
      this.answer(list.map((b, i) => ({ sends: b.sends, result: outcomes[i]! })));
    } finally {
      this.inFlight.delete(home);
      waiting.settle();
      if (this.waiting.has(home)) void this.call(home);
    }
  }

  /** A media send (or one behind it): alone, after what its device sent to the conversation before. */
  private addSlow(lane: string, session: DeviceSession, conversationId: string, message: Outgoing, after = Promise.resolve()) {
    const done = after.then(async () => {
      let result: Result<SendOutcome[]>;
      try {
        result = await conversationHome(this.env, conversationId).sendMessages(conversationId, session.userId, [message], session.deviceId);
      } catch (err) {
        log.error("send failed", { conversation_id: conversationId, user_id: session.userId, device_id: session.deviceId, error: err });
        result = { ok: false, error: couldNotStore };
      }
      this.answer([{ sends: [{ session, conversationId, message }], result }]);
    });
    this.track(lane, done, true);
  }

  /** Remembers the lane's latest call, and forgets it once answered if nothing came after. */
  private track(lane: string, after: Promise<void>, slow: boolean) {
    const entry = { after, slow };
    this.lanes.set(lane, entry);
    void after.then(() => {
      if (this.lanes.get(lane) === entry) this.lanes.delete(lane);
    });
  }

  /** Acks (or refusals) go back to each device's socket open now, one socket message per device. */
  private answer(batches: { sends: Send[]; result: Result<SendOutcome[]> }[]) {
    const byDevice = new Map<string, { session: DeviceSession; frames: string[] }>();
    for (const { sends, result } of batches) {
      sends.forEach((s, i) => {
        const outcome = result.ok ? result.value[i]! : { ok: false as const, client_msg_id: s.message.client_msg_id, error: result.error };
        const frame = sendOutcomeFrame(outcome);
        const key = `${s.session.userId}\n${s.session.deviceId}`;
        let device = byDevice.get(key);
        if (!device) {
          const session = s.session.ws.readyState === WebSocket.OPEN ? s.session : this.sessions.current(s.session.userId, s.session.deviceId);
          if (!session) return; // gone: the client resends with the same ids and gets these acks then
          byDevice.set(key, (device = { session, frames: [] }));
        }
        device.frames.push(frame);
      });
    }
    for (const { session, frames } of byDevice.values()) sendFrames(session.ws, frames, session.batched);
  }
}
