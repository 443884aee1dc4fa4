import type { ClientFrame } from "../protocol/frames";
import { Limits } from "../protocol/limits";
import type { Connection } from "./connection";

/** How long a `sync` for the same hole is given before it is asked again. */
const SYNC_RETRY_MS = 5_000;

/** The `sync` frame asking for what was stored after `afterSeq`, as much as the server sends at once. */
export function syncFrame(conversationId: string, afterSeq: number): ClientFrame {
  return { type: "sync", conversation_id: conversationId, after_seq: afterSeq, limit: Limits.syncMaxPage };
}

/**
 * Filling holes: a message past `contiguousSeq + 1` asks the server for what lies between, once per
 * hole (again if it is still open a few seconds later), and the request is over when the hole closes.
 */
export class CatchUp {
  private readonly syncing = new Map<string, { afterSeq: number; at: number }>();

  constructor(private readonly socket: Pick<Connection, "send">) {}

  /** A hole after `afterSeq`: ask for it, unless that was just asked. */
  gap(conversationId: string, afterSeq: number): void {
    const current = this.syncing.get(conversationId);
    if (current && current.afterSeq === afterSeq && Date.now() - current.at < SYNC_RETRY_MS) return;
    if (this.socket.send([syncFrame(conversationId, afterSeq)])) this.syncing.set(conversationId, { afterSeq, at: Date.now() });
  }

  /** The conversation holds everything up to `contiguousSeq` now: a sync from below it is done. */
  advanced(conversationId: string, contiguousSeq: number | null): void {
    const syncing = this.syncing.get(conversationId);
    if (syncing && (contiguousSeq ?? 0) > syncing.afterSeq) this.syncing.delete(conversationId);
  }

  /** A new socket: the server replays past this device's cursor, and nothing asked before is owed. */
  reset(): void {
    this.syncing.clear();
  }
}
