import type { Env } from "../../env";
import { log } from "../../lib/log";
import { eraseMedia } from "../../media/records";
import type { Message } from "../../protocol";
import type { HistoryArchive } from "./archive";
import type { ConversationStore } from "./store";

/** A failed erasure is tried again after 5 s, 10 s, 20 s… at most this long. */
const ERASURE_MAX_BACKOFF_MS = 5 * 60_000;

/**
 * A delete for everyone erases the message's text and media from every place they are stored. The
 * hot rows are scrubbed in the delete's own transaction (store.scrub); what lives in R2 — archive
 * segments holding the message or copies of its text (its edits, replies' quotes), and its media
 * bytes and thumbnail — is recorded in `erasures` in that same transaction and erased here, from the
 * conversation's `erase` alarm task, until R2 has confirmed every step. A crash loses nothing: the
 * row stays until the work is done.
 */
export class Erasure {
  private failures = 0;
  private running = false;

  constructor(
    private readonly env: Env,
    private readonly sql: SqlStorage,
    private readonly store: ConversationStore,
    private readonly archive: HistoryArchive,
  ) {}

  /**
   * Inside the delete's transaction: records what of message `seq` is outside the hot rows. Returns
   * whether there is anything to erase later.
   */
  note(seq: number, mediaId: string | null): boolean {
    const archived = seq <= this.archive.archivedUpTo || this.archive.archivedRefs(seq).length > 0;
    // (An archived message's media is read from its segment when it is erased.)
    if (!archived && mediaId === null) return false;
    this.sql.exec(
      "INSERT OR REPLACE INTO erasures (conversation_id, seq, media_id) VALUES (?, ?, ?)",
      this.store.id,
      seq,
      mediaId,
    );
    return true;
  }

  get pending(): boolean {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM erasures WHERE conversation_id = ?", this.store.id).one().n > 0;
  }

  /** Erases everything recorded; returns when to try again after a failure, else null. Never throws. */
  async run(now: number): Promise<number | null> {
    if (this.running || !this.store.exists) return null;
    this.running = true;
    try {
      const rows = this.sql
        .exec<{ seq: number; media_id: string | null }>("SELECT seq, media_id FROM erasures WHERE conversation_id = ? ORDER BY seq", this.store.id)
        .toArray();
      for (const row of rows) {
        const { seq } = row;
        // A disappearing message that was archived names its media only in its segment.
        const media_id = row.media_id ?? (seq <= this.archive.archivedUpTo ? ((await this.archive.messageAt(seq))?.media?.media_id ?? null) : null);
        // Kept before the segment is rewritten (which removes it there): a retry after a failed media
        // erasure still knows what to erase.
        if (media_id !== null && row.media_id === null) {
          this.sql.exec("UPDATE erasures SET media_id = ? WHERE conversation_id = ? AND seq = ?", media_id, this.store.id, seq);
        }
        const copies = [seq, ...this.archive.archivedRefs(seq)];
        const rewritten = await this.archive.rewrite(copies, (m) => scrubArchived(m, seq));
        const media = media_id === null ? null : await eraseMedia(this.env, media_id, this.store.id);
        this.sql.exec("DELETE FROM erasures WHERE conversation_id = ? AND seq = ?", this.store.id, seq);
        log.info("message erased", { conversation_id: this.store.id, seq, segments_rewritten: rewritten, media_bytes_deleted: media?.bytesDeleted ?? false });
      }
      this.failures = 0;
      return null;
    } catch (err) {
      this.failures += 1;
      const retryIn = Math.min(5_000 * 2 ** (this.failures - 1), ERASURE_MAX_BACKOFF_MS);
      log.warn("erasure failed; will retry", { conversation_id: this.store.id, failures: this.failures, retry_in_ms: retryIn, error: err });
      return now + retryIn;
    } finally {
      this.running = false;
    }
  }
}

/** An archived row with message `seq`'s text erased: the message itself, an edit of it, a reply's quote of it. */
export function scrubArchived(m: Message, seq: number): Message {
  if (m.seq === seq) {
    const { media: _media, reply_to: _reply, mentions: _mentions, reactions: _reactions, edited_at: _edited, ...rest } = m;
    return { ...rest, content: "", deleted: true };
  }
  if (m.content_type === "edit" && m.target?.seq === seq) return { ...m, content: "" };
  if (m.reply_to?.seq === seq) return { ...m, reply_to: { ...m.reply_to, snippet: "", deleted: true } };
  return m;
}
