import type { z } from "zod";
import type { TypingStatus } from "../protocol/frames";
import { Limits } from "../protocol/limits";

/**
 * Who is typing in each conversation, from `typing` frames. A `typing` with no `stopped` ends by
 * itself after the protocol's expiry (plus a second of slack), as the server would end it.
 */
export class TypingState {
  private readonly timers = new Map<string, Map<string, ReturnType<typeof setTimeout>>>();

  constructor(private readonly changed: (conversationId: string, userId: string, typing: boolean) => void) {}

  update(conversationId: string, userId: string, typing: boolean): void {
    let users = this.timers.get(conversationId);
    if (!users) this.timers.set(conversationId, (users = new Map()));
    const existing = users.get(userId);
    if (existing) clearTimeout(existing);
    if (typing) {
      users.set(
        userId,
        setTimeout(() => this.update(conversationId, userId, false), Limits.typingExpiryMs + 1_000),
      );
      if (!existing) this.changed(conversationId, userId, true);
    } else if (existing) {
      users.delete(userId);
      this.changed(conversationId, userId, false);
    }
  }

  typingIn(conversationId: string): string[] {
    return [...(this.timers.get(conversationId)?.keys() ?? [])];
  }

  clear(): void {
    for (const users of this.timers.values()) for (const timer of users.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/**
 * The typing frames this device sends: at most one `typing` per second per conversation however
 * often the app calls, and a `stopped` after a few seconds without a keystroke.
 */
export class TypingSender {
  private readonly lastSent = new Map<string, number>();
  private readonly idle = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly send: (conversationId: string, status: z.infer<typeof TypingStatus>) => void,
    private readonly idleMs = 3_000,
  ) {}

  keystroke(conversationId: string): void {
    const now = Date.now();
    if (now - (this.lastSent.get(conversationId) ?? 0) >= Limits.typingMinIntervalMs) {
      this.lastSent.set(conversationId, now);
      this.send(conversationId, "typing");
    }
    const timer = this.idle.get(conversationId);
    if (timer) clearTimeout(timer);
    this.idle.set(conversationId, setTimeout(() => this.stop(conversationId), this.idleMs));
  }

  stop(conversationId: string): void {
    const timer = this.idle.get(conversationId);
    if (!timer && !this.lastSent.has(conversationId)) return;
    if (timer) clearTimeout(timer);
    this.idle.delete(conversationId);
    this.lastSent.delete(conversationId);
    this.send(conversationId, "stopped");
  }

  clear(): void {
    for (const timer of this.idle.values()) clearTimeout(timer);
    this.idle.clear();
    this.lastSent.clear();
  }
}
