import type { Env } from "../../env";
import { grant, readRecord, toMediaRef } from "../../media/records";
import { ErrorCode, type MediaRef, type Outgoing, type ProtocolError } from "../../protocol";

/**
 * Checks the media of a batch of sends before anything is stored: each media_id must be a finished
 * upload of the sender's whose kind matches the message (an `image` message carries an image).
 * Members are granted access before the message exists, so nobody sees a message whose media they
 * cannot open. Returns, per client_msg_id, what the message will carry or why it is refused.
 */
export async function resolveMedia(
  env: Env,
  senderId: string,
  conversationId: string,
  /** The conversation's head now: every message of this batch will be stored above it. */
  headSeq: number,
  messages: Outgoing[],
): Promise<Map<string, MediaRef | ProtocolError>> {
  const resolved = new Map<string, MediaRef | ProtocolError>();
  await Promise.all(
    messages.map(async (m) => {
      if (m.media_id === undefined) return;
      const record = await readRecord(env, m.media_id);
      if (!record || record.uploader !== senderId) {
        resolved.set(m.client_msg_id, { code: ErrorCode.mediaNotFound, message: "no such media: upload it first" });
      } else if (record.status !== "ready") {
        resolved.set(m.client_msg_id, { code: ErrorCode.mediaNotReady, message: "the upload has not completed" });
      } else if (record.kind !== m.content_type) {
        resolved.set(m.client_msg_id, { code: ErrorCode.mediaMismatch, message: `a ${m.content_type} message cannot carry ${record.content_type}` });
      } else {
        await grant(env, record.media_id, conversationId, headSeq + 1);
        resolved.set(m.client_msg_id, toMediaRef(record));
      }
    }),
  );
  return resolved;
}

export const isMediaRef = (v: MediaRef | ProtocolError | undefined): v is MediaRef => v !== undefined && "media_id" in v;
