/**
 * Runs tasks one after another per key. Durable Objects interleave requests at every `await`,
 * so work that must stay in order (one socket's sends, one conversation's deliveries) goes
 * through here.
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    // The caller gets the rejection through `next`; the chain only waits for the task to end.
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
