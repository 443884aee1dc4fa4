import type { Message, User } from "../protocol/models";
import { applyAction, quoteDeleted } from "./fold";
import type { ConversationList } from "./conversation-list";
import type { SendError } from "./events";
import type { Marks } from "./marks";
import type { Media } from "./media";
import type { PendingAction } from "./outbox";
import type { ReceiptState, Receipts } from "./receipts";
import type { Sender } from "./sending";
import type { Timelines } from "./timelines";

/** How one of your messages stands: in the outbox, stored, delivered to / read by every recipient, or refused. */
export type MessageState = "pending" | ReceiptState | "failed";

/**
 * One row of a chat as an app shows it: a stored message as it is now (edited, deleted, its
 * reactions), or one of yours still waiting to be stored. Action rows are never entries: they are
 * applied to the messages they change.
 */
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
  /** Starred by you (on any of your devices). */
  starred: boolean;
}

/** A placeholder for a message from someone you blocked (docs/protocol.md, Block). */
export function isWithheld(m: Pick<Message, "content_type" | "content">): boolean {
  return m.content_type === "system" && m.content.startsWith('{"event":"withheld"');
}

/** Your action waiting in the outbox, as the row it will be, to show it applied meanwhile. */
function pendingRow(action: PendingAction, me: string): Pick<Message, "content_type" | "content" | "sender_id" | "timestamp"> {
  return { content_type: action.action, content: action.action === "delete" || action.action === "played" ? "" : (action.content ?? ""), sender_id: me, timestamp: action.created_at };
}

/** What a chat shows, put together from the parts that hold it. */
export class ChatEntries {
  constructor(
    private readonly user: User,
    private readonly parts: { timelines: Timelines; receipts: Receipts; list: ConversationList; sender: Sender; media: Media; marks: Marks },
  ) {}

  /** Stored messages and this device's unsent ones, in the order the conversation shows them. */
  of(conversationId: string): ChatEntry[] {
    const { timelines, receipts, list, sender, media, marks } = this.parts;
    const me = this.user.user_id;
    const recipients = (list.get(conversationId)?.members ?? []).map((m) => m.user_id).filter((id) => id !== me);
    // Your actions not yet stored show applied to their messages at once; a refusal takes them back.
    const waiting = new Map<string, PendingAction[]>();
    for (const a of sender.pendingActions(conversationId)) waiting.set(a.server_msg_id, [...(waiting.get(a.server_msg_id) ?? []), a]);
    const deletedHere = new Set<string>();
    const rows: ChatEntry[] = [];
    // A withheld placeholder (you blocked its sender) only keeps the sequence whole: not shown; nor is a
    // disappearing message past its time (the server erases it then too).
    const now = Date.now();
    for (const stored of timelines.messages(conversationId)) {
      if (isWithheld(stored) || marks.isHidden(conversationId, stored.server_msg_id)) continue;
      if (stored.expires_at !== undefined && stored.expires_at <= now) continue;
      let m = stored;
      for (const a of waiting.get(m.server_msg_id) ?? []) m = applyAction(m, pendingRow(a, me));
      if (m.deleted && !stored.deleted) deletedHere.add(m.server_msg_id);
      if (m.reply_to && deletedHere.has(m.reply_to.server_msg_id)) m = quoteDeleted(m);
      const own = m.sender_id === me && m.content_type !== "system";
      rows.push({
        ...m,
        key: timelines.keyOf(m),
        own,
        state: own ? receipts.stateOf(conversationId, m.seq, recipients) : null,
        starred: marks.isStarred(conversationId, m.server_msg_id),
      });
    }
    const local = [...sender.pending(conversationId).map((pending) => ({ pending, error: undefined })), ...sender.failedIn(conversationId)];
    for (const { pending, error } of local.sort((a, b) => a.pending.created_at - b.pending.created_at)) {
      const quoted = pending.quote && timelines.message(conversationId, pending.quote.server_msg_id);
      const quoteGone = pending.quote && (deletedHere.has(pending.quote.server_msg_id) || quoted?.deleted);
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
        ...(pending.quote ? { reply_to: quoteGone ? { ...pending.quote, snippet: "", deleted: true as const } : pending.quote } : {}),
        ...(pending.mentions?.length ? { mentions: pending.mentions } : {}),
        ...(pending.forwarded ? { forwarded: pending.forwarded } : {}),
        own: true,
        state: error ? "failed" : "pending",
        ...(error ? { error } : {}),
        starred: false,
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
        starred: false,
      });
    }
    return rows;
  }
}
