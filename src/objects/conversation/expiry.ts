import type { HistoryArchive } from "./archive";
import type { Erasure } from "./erasure";
import type { SearchIndex } from "./search";
import type { MessageStates } from "./state";
import type { ConversationStore } from "./store";

/**
 * Disappearing messages. A message sent while its conversation has a timer carries `expires_at`; when
 * that time comes the conversation's `expire` alarm task erases it exactly as a delete for everyone
 * does — the hot row scrubbed at once, archived copies and media by the erasure — with no traffic
 * needed. The row stays as a tombstone (its seq keeps the sequence whole); clients stop showing a
 * message at its `expires_at` on their own clock, and history shows it deleted from then on.
 */
export class Expiry {
  constructor(
    private readonly sql: SqlStorage,
    private readonly store: ConversationStore,
    private readonly parts: {
      archive: HistoryArchive;
      states: MessageStates;
      erasure: Erasure;
      fanout: { forgetEncoded(): void };
      /** A disappeared message is no longer found by search. */
      search: Pick<SearchIndex, "remove">;
    },
  ) {}

  /** Erases what is due; returns when the next message disappears (null: none waits), and whether the erasure has work. */
  run(now: number): { next: number | null; erasing: boolean } {
    if (!this.store.exists) return { next: null, erasing: false };
    const id = this.store.id;
    const hot = this.store.expiredHot(now);
    const archived = this.sql
      .exec<{ seq: number }>("SELECT seq FROM archived_expiry WHERE conversation_id = ? AND expires_at <= ?", id, now)
      .toArray()
      .map((r) => r.seq);
    let erasing = false;
    if (hot.length > 0 || archived.length > 0) {
      this.store.transaction(() => {
        // The state is as of now: everything in the sequence so far is folded into it.
        const head = this.store.lastSeq;
        for (const { seq, media } of hot) {
          this.parts.states.record(seq, head, (s) => {
            for (const key of Object.keys(s) as (keyof typeof s)[]) delete s[key];
            s.deleted = true;
          });
          this.store.scrub(seq);
          this.parts.search.remove(seq);
          const mediaId = media ? (JSON.parse(media) as { media_id: string }).media_id : null;
          erasing = this.parts.erasure.note(seq, mediaId) || erasing;
        }
        for (const seq of archived) {
          this.parts.states.record(seq, head, (s) => {
            for (const key of Object.keys(s) as (keyof typeof s)[]) delete s[key];
            s.deleted = true;
          });
          this.parts.search.remove(seq);
          erasing = this.parts.erasure.note(seq, null) || erasing;
          this.sql.exec("DELETE FROM archived_expiry WHERE conversation_id = ? AND seq = ?", id, seq);
        }
      });
      this.parts.fanout.forgetEncoded();
    }
    return { next: this.nextAt(), erasing };
  }

  /** When the next message of this conversation disappears. */
  nextAt(): number | null {
    const id = this.store.id;
    return this.sql
      .exec<{ at: number | null }>(
        `SELECT MIN(at) AS at FROM (
           SELECT MIN(expires_at) AS at FROM messages
             WHERE conversation_id = ? AND expires_at IS NOT NULL AND (content != '' OR media IS NOT NULL)
           UNION ALL SELECT MIN(expires_at) FROM archived_expiry WHERE conversation_id = ?)`,
        id,
        id,
      )
      .one().at;
  }
}
