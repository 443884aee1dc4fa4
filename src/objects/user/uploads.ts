import type { Env } from "../../env";
import { log } from "../../lib/log";
import type { TaskKind } from "../alarms";
import type { ObjectContext } from "../context";
import { ok, refuse, type Result } from "../../lib/result";
import { uploadRate } from "../../lib/sendRate";
import { TokenBuckets } from "../../lib/tokenBucket";
import { deleteRecord } from "../../media/records";
import { mediaStore } from "../../media/storage";
import { ErrorCode, Limits } from "../../protocol";

/** The per-user quota: MEDIA_QUOTA_BYTES, else Limits.mediaQuotaBytes. */
export function mediaQuota(env: Env): number {
  const n = Number(env.MEDIA_QUOTA_BYTES);
  return Number.isSafeInteger(n) && n > 0 ? n : Limits.mediaQuotaBytes;
}

/**
 * Each user's media uploads, as their user object keeps them: upload grants are rate-limited per
 * user and count their declared size toward the user's quota from the moment they are granted (so
 * a burst of grants cannot overshoot it). An upload never completed is deleted, bytes and record,
 * once its URL has lapsed and a grace has passed: the object's alarm does it.
 */
export class UploadLedger {
  private readonly grants: TokenBuckets;
  private readonly env: Env;
  /** The alarm task that deletes uploads never completed. */
  private readonly sweeps: TaskKind;

  constructor(private readonly object: ObjectContext) {
    this.env = object.env;
    const rate = uploadRate(object.env);
    this.grants = new TokenBuckets(rate.burst, rate.perSecond);
    this.sweeps = object.alarms.define("uploads", (now) => this.sweep(now));
  }

  private get sql() {
    return this.object.storage.sql;
  }

  /** Bytes the user holds or may still upload. */
  used(userId: string): number {
    return this.sql.exec<{ n: number | null }>("SELECT SUM(size) AS n FROM media_uploads WHERE user_id = ?", userId).one().n ?? 0;
  }

  /** A new upload of `size` bytes: granted (and counted) or refused. */
  admit(userId: string, mediaId: string, size: number, expiresAt: number): Result<void> {
    const quota = mediaQuota(this.env);
    if (this.used(userId) + size > quota) {
      return refuse(ErrorCode.mediaQuotaExceeded, `your media would exceed your quota of ${Math.round(quota / 1024 / 1024)} MiB`);
    }
    if (!this.grants.take(userId)) {
      return refuse(ErrorCode.rateLimited, `slow down: at most ${Limits.uploadBurst} uploads at once, then ${Limits.uploadsPerSecond} a second`);
    }
    this.sql.exec("INSERT INTO media_uploads (user_id, media_id, size, expires_at) VALUES (?, ?, ?, ?)", userId, mediaId, size, expiresAt);
    this.sweeps.book(expiresAt + Limits.unfinishedUploadGraceMs);
    return ok(undefined);
  }

  completed(userId: string, mediaId: string): void {
    this.sql.exec("UPDATE media_uploads SET ready = 1 WHERE user_id = ? AND media_id = ?", userId, mediaId);
  }

  /** A completed upload whose bytes are gone no longer counts toward the quota. */
  erased(userId: string, mediaId: string): void {
    this.sql.exec("DELETE FROM media_uploads WHERE user_id = ? AND media_id = ? AND ready = 1", userId, mediaId);
  }

  /**
   * Deletes uploads never completed whose time is up (bytes, record, row); returns when the next
   * one is due (its alarm task). A deletion that fails is tried again at the next run.
   */
  private async sweep(now: number): Promise<number | null> {
    const due = this.sql
      .exec<{ user_id: string; media_id: string }>(
        "SELECT user_id, media_id FROM media_uploads WHERE ready = 0 AND expires_at <= ? LIMIT 100",
        now - Limits.unfinishedUploadGraceMs,
      )
      .toArray();
    if (due.length > 0) {
      const store = await mediaStore(this.env);
      for (const u of due) {
        try {
          await Promise.all([store.delete(u.media_id), deleteRecord(this.env, u.media_id)]);
          this.sql.exec("DELETE FROM media_uploads WHERE user_id = ? AND media_id = ? AND ready = 0", u.user_id, u.media_id);
        } catch (err) {
          log.warn("unfinished upload not deleted; retrying later", { user_id: u.user_id, media_id: u.media_id, error: err });
        }
      }
    }
    const next = this.sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM media_uploads WHERE ready = 0").one().at;
    return next === null ? null : Math.max(next + Limits.unfinishedUploadGraceMs, now + 1_000);
  }
}
