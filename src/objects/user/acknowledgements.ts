import type { Env } from "../../env";
import { log } from "../../lib/log";
import { conversationHome } from "../homes";
import type { CursorMove } from "../conversation/cursors";
import { errorFrame, sendFrame } from "../sockets";
import type { InboxStore } from "./inbox";
import type { DeviceSession } from "./sessions";

/**
 * After a quiet spell an acknowledgement goes to its conversation at once; those that follow within
 * this window go together, one call per conversation.
 */
export const ACK_WINDOW_MS = 100;
/** A call that failed is tried again after this long (doubling), at most this many times in all. */
const ACK_RETRY_MS = 1_000;
const ACK_ATTEMPTS = 4;

type Waiting = { move: CursorMove; seq: number; session: DeviceSession; attempts: number };

/**
 * Delivered/read acknowledgements of the users an object holds, on their way to the conversations.
 * Each has already moved its device's cursor here; what goes on is the move of the user's cursor in
 * the conversation, which tells the senders. Moves are cumulative, so per conversation, user and
 * status only the furthest one waiting needs to go. In a 500-member group every member acknowledges
 * every message: one call per acknowledgement was most of the group's cost.
 */
export class Acknowledgements {
  /** conversation → `user\nstatus` → the furthest move waiting. */
  private readonly waiting = new Map<string, Map<string, Waiting>>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSent = -Infinity;

  constructor(
    private readonly env: Env,
    private readonly inbox: InboxStore,
  ) {}

  add(session: DeviceSession, conversationId: string, move: CursorMove, seq: number): void {
    this.enqueue(conversationId, { move, seq, session, attempts: 0 });
    this.schedule(Math.max(0, this.lastSent + ACK_WINDOW_MS - Date.now()));
  }

  private schedule(delayMs: number) {
    this.timer ??= setTimeout(() => this.send(), delayMs);
  }

  /** Keeps the furthest move per user and status (a retry never replaces a newer one: it covers it). */
  private enqueue(conversationId: string, w: Waiting) {
    let moves = this.waiting.get(conversationId);
    if (!moves) this.waiting.set(conversationId, (moves = new Map()));
    const k = `${w.move.user_id}\n${w.move.status}`;
    const current = moves.get(k);
    if (!current || current.seq < w.seq || (current.seq === w.seq && w.attempts === 0)) moves.set(k, w);
  }

  private send(): void {
    this.timer = null;
    this.lastSent = Date.now();
    const batches = [...this.waiting];
    this.waiting.clear();
    for (const [conversationId, moves] of batches) void this.pass(conversationId, [...moves.values()]);
  }

  private async pass(conversationId: string, batch: Waiting[]): Promise<void> {
    let results;
    try {
      results = await conversationHome(this.env, conversationId).updateCursors(conversationId, batch.map((w) => w.move));
    } catch (err) {
      const again = batch.filter((w) => w.attempts + 1 < ACK_ATTEMPTS);
      log.warn("acknowledgements not passed on", { conversation_id: conversationId, moves: batch.length, retrying: again.length, error: err });
      if (again.length === 0) return;
      await new Promise((r) => setTimeout(r, ACK_RETRY_MS * 2 ** again[0]!.attempts));
      for (const w of again) this.enqueue(conversationId, { ...w, attempts: w.attempts + 1 });
      this.schedule(0);
      return;
    }
    results.forEach((result, i) => {
      const { move, session } = batch[i]!;
      if (!result.ok) sendFrame(session.ws, errorFrame(result.error));
      else if (move.status === "read") this.inbox.setRead(move.user_id, conversationId, result.value.seq, result.value.unread_count ?? 0);
      else this.inbox.setDelivered(move.user_id, conversationId, result.value.seq);
    });
  }
}
