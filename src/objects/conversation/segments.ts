import { z } from "zod";
import { Message } from "../../protocol";

/**
 * Archive segments: immutable JSON objects in R2, each holding a contiguous run of a
 * conversation's messages exactly as clients see them (actions folded in as of the archiving). A
 * segment is written once, and rewritten under the same key only to erase a message deleted for
 * everyone (erasure.ts); the conversation's SQL index (archive.ts) says which seqs each one holds.
 */

/** At most this many messages per segment… */
export const SEGMENT_MAX_MESSAGES = 1_000;
/** …and about this many bytes of JSON (a single message is at most ~64 KiB of content). */
export const SEGMENT_MAX_BYTES = 1024 * 1024;
/** Segments kept parsed in memory per conversation object: ≤ ~8 MiB, enough for a catch-up to page through. */
const CACHE_SEGMENTS = 8;

export const SegmentBody = z.object({
  v: z.literal(1),
  conversation_id: z.string(),
  first_seq: z.number().int().positive(),
  last_seq: z.number().int().positive(),
  messages: z.array(Message),
});
export type SegmentBody = z.infer<typeof SegmentBody>;

/** Where segments live: R2 (the ARCHIVE binding). */
export interface SegmentStore {
  /** Resolves only once the object is durably stored; anything else must throw. */
  put(key: string, body: string): Promise<void>;
  /** The stored text, or null if there is no such object. */
  get(key: string): Promise<string | null>;
}

export function r2SegmentStore(bucket: R2Bucket): SegmentStore {
  return {
    async put(key, body) {
      const stored = await bucket.put(key, body, { httpMetadata: { contentType: "application/json" } });
      if (!stored) throw new Error(`R2 did not store ${key}`);
    },
    async get(key) {
      const object = await bucket.get(key);
      return object ? object.text() : null;
    },
  };
}

/**
 * Zero-padded so keys list in seq order: `conversations/<id>/000000000001.json`. Named by the first
 * seq only: a write that fails after R2 stored it is retried later, when more messages may have
 * arrived and the segment reaches further, and must land on the same key rather than leave a stray
 * object behind. (Segments archived before this named the last seq too; the index keeps each key.)
 */
export function segmentKey(conversationId: string, firstSeq: number): string {
  return `conversations/${conversationId}/${firstSeq.toString().padStart(12, "0")}.json`;
}

/**
 * Cuts the next segment from `messages` (ascending, contiguous): as many as fit the message and
 * byte limits, at least one.
 */
export function encodeSegment(conversationId: string, messages: Message[]): { body: string; messages: Message[] } {
  const taken: string[] = [];
  let bytes = 0;
  for (const m of messages) {
    const json = JSON.stringify(m);
    if (taken.length > 0 && (taken.length >= SEGMENT_MAX_MESSAGES || bytes + json.length > SEGMENT_MAX_BYTES)) break;
    taken.push(json);
    bytes += json.length + 1;
  }
  const kept = messages.slice(0, taken.length);
  const first = kept[0]!.seq;
  const last = kept[kept.length - 1]!.seq;
  const head = JSON.stringify({ v: 1, conversation_id: conversationId, first_seq: first, last_seq: last });
  return { body: `${head.slice(0, -1)},"messages":[${taken.join(",")}]}`, messages: kept };
}

/** Parses a stored segment and checks it holds exactly the seqs its index row says. */
export function decodeSegment(text: string, firstSeq: number, lastSeq: number): Message[] {
  const body = SegmentBody.parse(JSON.parse(text));
  const ok =
    body.first_seq === firstSeq &&
    body.last_seq === lastSeq &&
    body.messages.length === lastSeq - firstSeq + 1 &&
    body.messages.every((m, i) => m.seq === firstSeq + i);
  if (!ok) throw new Error(`archive segment ${firstSeq}-${lastSeq} does not hold the seqs its index names`);
  return body.messages;
}

/**
 * A small LRU of parsed segments. Loads are shared: pages of one catch-up asking for the same
 * segment at once fetch it once. A failed load is forgotten so the next read tries again.
 */
export class SegmentCache {
  private readonly entries = new Map<string, Promise<Message[]>>();
  /** Fetches from the store, for the figures in tests and logs. */
  fetches = 0;

  constructor(private readonly capacity = CACHE_SEGMENTS) {}

  /** Drops a segment about to be rewritten, so no later read is answered from the old copy. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  load(key: string, fetch: () => Promise<Message[]>): Promise<Message[]> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    this.fetches += 1;
    const loading = fetch();
    this.entries.set(key, loading);
    // The caller gets the rejection; here a failed load only leaves the cache, so the next read tries again.
    loading.catch(() => {
      if (this.entries.get(key) === loading) this.entries.delete(key);
    });
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return loading;
  }
}
