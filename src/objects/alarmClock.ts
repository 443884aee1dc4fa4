/**
 * An object has one alarm; several things want it (fan-out retry, typing expiry, archive passes,
 * presence checks, push windows). This keeps the earliest time asked for, and knows the alarm that
 * is already stored from the moment the object wakes: a schedule after an eviction must not replace
 * an earlier stored alarm with a later one (that delayed a fan-out retry or a push window).
 */
export class AlarmClock {
  private at: number | null = null;

  constructor(private readonly ctx: DurableObjectState) {
    // Read before any event runs, alarm() included, so fired() below clears what was read.
    void ctx.blockConcurrencyWhile(async () => {
      this.at = await ctx.storage.getAlarm();
    });
  }

  /**
   * Call first in alarm(): the stored alarm is the one running, so any time asked for from here on
   * must be booked. Returns the time it was booked for, if known.
   */
  fired(): number | null {
    const at = this.at;
    this.at = null;
    return at;
  }

  /** Books the alarm for `at` unless an earlier one is already booked. */
  async schedule(at: number): Promise<void> {
    if (this.at !== null && this.at <= at) return;
    this.at = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** Whether an alarm is booked. */
  get booked(): boolean {
    return this.at !== null;
  }
}
