/** A small typed event emitter: the SDK runs in browsers, Node and workerd, so no runtime imports. */
export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private handlers = new Map<keyof Events, Set<(payload: never) => void>>();

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof Events>(event: K, handler: (payload: Events[K]) => void): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as (payload: never) => void);
    return () => set.delete(handler as (payload: never) => void);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const handler of this.handlers.get(event) ?? []) {
      try {
        (handler as (payload: Events[K]) => void)(payload);
      } catch (err) {
        // One broken listener must not stop the others or the SDK's own bookkeeping.
        console.error(`parley: a "${String(event)}" listener threw`, err);
      }
    }
  }
}
