import { z } from "zod";
import type { Env } from "../env";
import { log } from "../lib/log";
import { readRecord, thumbnailKey, writeRecord } from "../media/records";
import { mediaStore } from "../media/storage";
import { makeThumbnail } from "../media/thumbnails";

/** Work on uploaded media, off the request path: a message on the MEDIA_JOBS queue. */
export const MediaJob = z.object({ type: z.literal("thumbnail"), media_id: z.string() });
export type MediaJob = z.infer<typeof MediaJob>;

/**
 * Makes each image's thumbnail and records its dimensions. A job that throws is retried by the
 * queue (then dead-lettered); a malformed or obsolete job is acknowledged and dropped.
 */
export async function consumeMediaJobs(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const job = MediaJob.safeParse(message.body);
    if (!job.success) {
      log.warn("dropping malformed media job", { message_id: message.id });
      message.ack();
      continue;
    }
    try {
      await thumbnail(env, job.data.media_id);
      message.ack();
    } catch (err) {
      log.error("thumbnail failed", { media_id: job.data.media_id, attempt: message.attempts, error: err });
      message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
    }
  }
}

async function thumbnail(env: Env, mediaId: string): Promise<void> {
  const record = await readRecord(env, mediaId);
  if (!record || record.kind !== "image" || record.status !== "ready" || record.thumbnail) return;
  const bytes = await (await mediaStore(env)).readAll(mediaId);
  const thumb = makeThumbnail(bytes);
  await env.MEDIA.put(thumbnailKey(mediaId), thumb.jpeg, { httpMetadata: { contentType: "image/jpeg" } });
  await writeRecord(env, { ...record, width: thumb.width, height: thumb.height, thumbnail: true });
}
