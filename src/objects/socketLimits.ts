import { ErrorCode } from "../protocol";

/**
 * What both socket kinds (device sockets in user objects, live sockets in conversation objects)
 * enforce per socket, in one place: the hold-back after a send refused for rate, and `sync`
 * requests run one at a time. State is kept per socket object and goes with it.
 */

/** How long a refused send holds back the socket's later sends if it never comes again. */
const SEND_BLOCK_MS = 30_000;
/** `sync` requests that may wait behind the running one on a socket. */
export const MAX_WAITING_SYNCS = 4;

export const syncsFull = {
  code: ErrorCode.rateLimited,
  message: `one sync at a time per socket (${MAX_WAITING_SYNCS} may wait); wait for the answers`,
};

/**
 * Per socket, the first send refused for rate: later sends are refused too until it comes again, so
 * a message sent after it can never be stored before it. The block lapses if the client gave it up.
 */
export class SendBlocks {
  readonly #blocks = new WeakMap<WebSocket, { clientMsgId: string; until: number }>();

  /** The send this socket's later sends wait for, if any. */
  blocker(ws: WebSocket, now: number): string | undefined {
    const block = this.#blocks.get(ws);
    return block && block.until > now ? block.clientMsgId : undefined;
  }

  block(ws: WebSocket, clientMsgId: string, now: number): void {
    this.#blocks.set(ws, { clientMsgId, until: now + SEND_BLOCK_MS });
  }

  release(ws: WebSocket): void {
    this.#blocks.delete(ws);
  }
}

/** Per socket, its `sync` requests run one after another; a few may wait, more are refused. */
export class SocketSyncs {
  readonly #chains = new WeakMap<WebSocket, { tail: Promise<void>; inChain: number }>();

  /**
   * Queues `task` behind the socket's running sync and returns its outcome (a failure is the
   * caller's to answer; it does not stop the queue); null, with nothing queued, when too many wait.
   */
  run(ws: WebSocket, task: () => Promise<void>): Promise<void> | null {
    let chain = this.#chains.get(ws);
    if (!chain) this.#chains.set(ws, (chain = { tail: Promise.resolve(), inChain: 0 }));
    if (chain.inChain > MAX_WAITING_SYNCS) return null;
    chain.inChain++;
    const current = chain;
    const run = current.tail.then(task);
    current.tail = run.catch(() => {}).finally(() => current.inChain--);
    return run;
  }
}
