/**
 * Which typing frames go on, judged on what arrives whatever its status: a `typing` at most once per
 * interval per key, a `stopped` only after a `typing` went on (and once). A client alternating
 * typing/stopped as fast as it can therefore costs at most two frames per interval, not two per
 * pair it sends. Keys are whatever one sender's indicator is (a user in a conversation).
 */
export class TypingGate {
  readonly #state = new Map<string, { lastTyping: number; shown: boolean }>();

  constructor(
    private readonly intervalMs: number,
    /** Past this many keys, the ones that show nothing and are past their interval are let go. */
    private readonly maxKeys = 10_000,
  ) {}

  pass(key: string, status: "typing" | "stopped", now: number): boolean {
    const state = this.#state.get(key);
    if (status === "stopped") {
      if (!state?.shown) return false;
      state.shown = false;
      return true;
    }
    if (state && now - state.lastTyping < this.intervalMs) return false;
    if (!state && this.#state.size >= this.maxKeys) this.prune(now);
    this.#state.set(key, { lastTyping: now, shown: true });
    return true;
  }

  private prune(now: number) {
    for (const [key, state] of this.#state) if (!state.shown && now - state.lastTyping >= this.intervalMs) this.#state.delete(key);
  }
}
