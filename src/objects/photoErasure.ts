import { erasePhoto } from "../media/records";
import type { ObjectContext } from "./context";

/**
 * A replaced profile or group photo is deleted (bytes, thumbnail, record; the uploader's quota back)
 * from the alarm of the object that replaced it, booked in the same step as the change: a Worker
 * that stops after answering cannot leave the old photo behind. A run that throws is run again
 * (alarms.ts); every step of the deletion is idempotent. A photo that is someone's here again by
 * the time the task runs (`inUse`) is kept.
 */
export function photoErasure(object: ObjectContext, inUse: (mediaId: string) => boolean): { erase(mediaId: string): void } {
  const task = object.alarms.define("photo_erase", async (_now, mediaId) => {
    // An empty subject: booked by `bookEvery` after a handover, for nothing.
    if (!mediaId || inUse(mediaId)) return null;
    await erasePhoto(object.env, mediaId);
    return null;
  });
  return { erase: (mediaId) => task.book(Date.now(), mediaId) };
}
