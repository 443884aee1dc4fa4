import { erasePhoto } from "../media/records";
import type { ObjectContext } from "./context";

/**
 * A replaced profile or group photo is deleted (bytes, thumbnail, record; the uploader's quota back)
 * from the alarm of the object that replaced it, booked in the same step as the change: a Worker
 * that stops after answering cannot leave the old photo behind. A run that throws is run again
 * (alarms.ts); every step of the deletion is idempotent.
 */
export function photoErasure(object: ObjectContext): { erase(mediaId: string): void } {
  const task = object.alarms.define("photo_erase", async (_now, mediaId) => {
    await erasePhoto(object.env, mediaId);
    return null;
  });
  return { erase: (mediaId) => task.book(Date.now(), mediaId) };
}
