import { log } from "../lib/log";

/**
 * Holds writes whose loss in a crash is harmless but which come as often as messages do (delivery
 * and read cursors), and writes them together: with the object's next write of its own (the caller
 * calls `flush` there, so they share its commit) or after `delayMs`, whichever is first.
 *
 * Why: every commit is an fsync, and a socket send issued while one is pending waits for it (the
 * output gate). One commit per acknowledgement doubled the work per message and put a second fsync
 * in front of the next message's delivery. What a crash can cost is at most `delayMs` of cursor
 * movement: cursors only ever move forward, the next acknowledgement carries them past it again,
 * and a device that reconnects meanwhile is sent a few messages it already has (dropped by seq).
 */
export class WriteBehind {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Whether something is held (a write that failed keeps it held). */
  private held = false;

  constructor(
    private readonly delayMs: number,
    private readonly write: () => void,
  ) {}

  /** Something is waiting to be written: write it within `delayMs`. */
  schedule(): void {
    this.held = true;
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        this.writeHeld();
      } catch (err) {
        log.error("write-behind flush failed", { error: err });
      }
    }, this.delayMs);
  }

  /** Write what is held now (inside the caller's transaction or turn); nothing held, nothing to do. */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.held) this.writeHeld();
  }

  private writeHeld(): void {
    this.write();
    this.held = false;
  }
}

/** How long cursor moves may wait in memory before they are written on their own. */
export const CURSOR_WRITE_DELAY_MS = 1_000;
