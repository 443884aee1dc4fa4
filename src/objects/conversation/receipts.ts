import type { Env } from "../../env";
import { log } from "../../lib/log";
import { byUserHome, userHomeStub } from "../homes";
import type { MessageStatusUpdateFrame } from "../../protocol";

/** How long status notices to one sender gather before they go as one call. */
const NOTICE_WINDOW_MS = 200;

/**
 * Status notices on their way to senders' user objects, coalesced. The first after a quiet spell
 * goes at once; the ones that follow within `NOTICE_WINDOW_MS` go together, one call per user object,
 * keeping only the newest per reader and status (they are cumulative). In a 500-member group every
 * member acknowledges every message: without this each acknowledgement was one more call into the
 * sender's user object.
 */
export class SenderNotices {
  private readonly pending = new Map<string, Map<string, MessageStatusUpdateFrame>>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSent = -Infinity;

  constructor(private readonly env: Env) {}

  add(senderId: string, frame: MessageStatusUpdateFrame): void {
    let frames = this.pending.get(senderId);
    if (!frames) this.pending.set(senderId, (frames = new Map()));
    const key = `${frame.user_id}\n${frame.status}`;
    if ((frames.get(key)?.seq ?? 0) < frame.seq) frames.set(key, frame);
    this.timer ??= setTimeout(() => this.send(), Math.max(0, this.lastSent + NOTICE_WINDOW_MS - Date.now()));
  }

  private send(): void {
    this.timer = null;
    this.lastSent = Date.now();
    const batches = [...this.pending].map(([senderId, frames]) => ({ user_id: senderId, frames: [...frames.values()].map((f) => JSON.stringify(f)) }));
    this.pending.clear();
    // One call per user object holding senders. Receipts are best effort (the receipts endpoint
    // answers from the cursor log).
    for (const [home, group] of byUserHome(this.env, batches, (b) => b.user_id)) {
      userHomeStub(this.env, home)
        .pushFrames(group)
        .catch((error: unknown) => log.warn("status notice failed", { home, senders: group.length, error }));
    }
  }
}
