import { userStub, type Env } from "../../env";
import type { DeliveryStatus, MessageStatusUpdateFrame } from "../../protocol";
import type { HistoryArchive } from "./archive";
import type { ConversationStore } from "./store";

/**
 * After a member's delivered or read cursor moves from `previous` to `seq`, tells each sender of a
 * message in between, once, with their latest such message: the status is cumulative, so one
 * frame covers everything before it.
 */
export async function notifySenders(
  env: Env,
  store: ConversationStore,
  history: HistoryArchive,
  reader: string,
  status: DeliveryStatus,
  previous: number,
  seq: number,
): Promise<unknown> {
  // Reads the archive too: a cursor that jumps far can pass messages no longer hot.
  const notices = (await history.latestBySenderBetween(previous, seq, reader)).map((row) => {
    const frame: MessageStatusUpdateFrame = {
      type: "message_status",
      conversation_id: store.conversationId,
      server_msg_id: row.server_msg_id,
      seq: row.seq,
      user_id: reader,
      status,
    };
    return userStub(env, row.sender_id).pushFrames([JSON.stringify(frame)]);
  });
  return Promise.allSettled(notices);
}
