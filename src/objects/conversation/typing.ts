import type { Env } from "../../env";
import { byUserHome, userHomeStub } from "../homes";
import { TypingGate } from "../../lib/typingGate";
import { Limits, type TypingUpdateFrame } from "../../protocol";
import type { ConversationHost } from "./conversation";
import type { LiveSockets } from "./live";
import type { ConversationStore } from "./store";
import type { WithheldRanges } from "./withheld";

/**
 * Typing indicators: fire-and-forget, kept only in memory. A member's `typing` is forwarded to the
 * other members' live sockets at most once a second (and a `stopped` only after a forwarded `typing`,
 * however the frames that arrive alternate), and, in conversations of up to
 * `Limits.typingToDevicesMaxMembers`, to their user objects too (for "typing…" in conversation
 * lists). A state with no `stopped` ends by itself after ~5 s (the object's alarm sends the
 * `stopped`). Nothing is written to storage and nothing is pushed to offline devices.
 *
 * Why big groups stop at the live sockets: a forward to user objects is one call per member, online
 * or not, so in a busy 500-member group typing was three quarters of the conversation's calls out
 * (docs/scaling.md) while only members looking at the chat can see it anyway.
 */
export class TypingTracker {
  /** What the other members are shown: at most a typing a second and its stopped, per member. */
  private readonly gate = new TypingGate(Limits.typingMinIntervalMs);
  private readonly expiresAt = new Map<string, number>();

  private readonly env: Env;

  constructor(
    /** The object's parts: the typing alarm task (expiry), waitUntil. */
    private readonly host: ConversationHost,
    private readonly store: ConversationStore,
    private readonly live: LiveSockets,
    /** Blocks in a direct chat: whoever blocks the typist does not see them typing. */
    private readonly withheld: Pick<WithheldRanges, "blocking">,
  ) {
    this.env = host.env;
  }

  update(userId: string, status: "typing" | "stopped", now: number): void {
    if (status === "typing") {
      this.expiresAt.set(userId, now + Limits.typingExpiryMs);
      this.host.tasks.typing.book(now + Limits.typingExpiryMs, this.store.conversationId);
    } else {
      this.expiresAt.delete(userId);
    }
    if (this.gate.pass(userId, status, now)) this.forward(userId, status);
  }

  /** Ends the states that ran out by `now`; returns when the next one does (or null). */
  expire(now: number): number | null {
    let next: number | null = null;
    for (const [userId, at] of this.expiresAt) {
      if (at <= now) {
        this.expiresAt.delete(userId);
        if (this.gate.pass(userId, "stopped", now)) this.forward(userId, "stopped");
      } else if (next === null || at < next) {
        next = at;
      }
    }
    return next;
  }

  private forward(userId: string, status: "typing" | "stopped") {
    const frame: TypingUpdateFrame = { type: "typing", conversation_id: this.store.conversationId, user_id: userId, status };
    const encoded = JSON.stringify(frame);
    const members = this.store.memberIds();
    const blockers = new Set(members.filter((id) => id !== userId && this.withheld.blocking(id, userId)));
    this.live.pushToOthers(encoded, userId, blockers);
    if (members.length > Limits.typingToDevicesMaxMembers) return;
    const others = members.filter((id) => id !== userId && !blockers.has(id)).map((id) => ({ user_id: id, frames: [encoded] }));
    // Failures ignored: a typing indicator lapses within seconds anyway, and the next keystroke sends it again.
    this.host.waitUntil(Promise.allSettled([...byUserHome(this.env, others, (o) => o.user_id)].map(([home, group]) => userHomeStub(this.env, home).pushFrames(group))));
  }
}
