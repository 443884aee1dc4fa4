import type { Message, User } from "../protocol/models";
import type { ConversationList } from "./conversation-list";
import type { SendError } from "./events";
import type { Media } from "./media";
import type { ReceiptState, Receipts } from "./receipts";
import type { Sender } from "./sending";
import type { Timelines } from "./timelines";

/** How one of your messages stands: in the outbox, stored, delivered to / read by every recipient, or refused. */
export type MessageState = "pending" | ReceiptState | "failed";

/** One row of a chat as an app shows it: a stored message, or one of yours still waiting to be stored. */
export interface ChatEntry extends Omit<Message, "seq" | "server_msg_id"> {
  /** Stable across the pending → sent transition: the client_msg_id for your messages sent here. */
  key: string;
  /** Null until the message is stored. */
  seq: Message["seq"] | null;
  server_msg_id: Message["server_msg_id"] | null;
  own: boolean;
  /** For your own messages; null for others'. */
  state: MessageState | null;
  error?: SendError;
  /** While a media message's bytes are still uploading. */
  upload?: { loaded: number; total: number };
}

/** A placeholder for a message from someone you blocked (docs/protocol.md, Block). */
export function isWithheld(m: Pick<Message, "content_type" | "content">): boolean {
  return m.content_type === "system" && m.content.startsWith('{"event":"withheld"');
}

/** What a chat shows, put together from the parts that hold it. */
export class ChatEntries {
  constructor(
    private readonly user: User,
    private readonly parts: { timelines: Timelines; receipts: Receipts; list: ConversationList; sender: Sender; media: Media },
  ) {}

  /** Stored messages and this device's unsent ones, in the order the conversation shows them. */
  of(conversationId: string): ChatEntry[] {
    const { timelines, receipts, list, sender, media } = this.parts;
    const me = this.user.user_id;
    const recipients = (list.get(conversationId)?.members ?? []).map((m) => m.user_id).filter((id) => id !== me);
    // A withheld placeholder (you blocked its sender) only keeps the sequence whole: not shown.
    const rows: ChatEntry[] = timelines
      .messages(conversationId)
      .filter((m) => !isWithheld(m))
      .map((m) => {
        const own = m.sender_id === me && m.content_type !== "system";
        return { ...m, key: timelines.keyOf(m), own, state: own ? receipts.stateOf(conversationId, m.seq, recipients) : null };
      });
    const local = [...sender.pending(conversationId).map((pending) => ({ pending, error: undefined })), ...sender.failedIn(conversationId)];
    for (const { pending, error } of local.sort((a, b) => a.pending.created_at - b.pending.created_at)) {
      rows.push({
        key: pending.client_msg_id,
        conversation_id: conversationId,
        seq: null,
        server_msg_id: null,
        sender_id: me,
        content: pending.content,
        content_type: pending.content_type,
        timestamp: pending.created_at,
        ...(pending.media ? { media: pending.media } : {}),
        own: true,
        state: error ? "failed" : "pending",
        ...(error ? { error } : {}),
      });
    }
    for (const upload of media.uploadsIn(conversationId)) {
      rows.push({
        key: upload.key,
        conversation_id: conversationId,
        seq: null,
        server_msg_id: null,
        sender_id: me,
        content: upload.caption,
        content_type: upload.kind,
        timestamp: upload.created_at,
        media: { media_id: "", content_type: upload.content_type, size: upload.total, filename: upload.filename },
        own: true,
        state: "pending",
        upload: { loaded: upload.loaded, total: upload.total },
      });
    }
    return rows;
  }
}
