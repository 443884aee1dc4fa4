import { ok, refuse, type Result } from "../../lib/result";
import { ErrorCode, type DeliveryStatus } from "../../protocol";
import type { HistoryArchive } from "./archive";
import type { ConversationHost } from "./conversation";
import { memberRefusal } from "./membership";
import type { ConversationStore } from "./store";
import type { WithheldRanges } from "./withheld";

/** A member's device acknowledged delivered or read up to a message (cumulative). */
export interface CursorMove {
  user_id: string;
  status: DeliveryStatus;
  server_msg_id: string;
}

/** Where the member's cursor now is, and (after a read) how many messages they have unread. */
export type CursorMoved = { seq: number; unread_count: number | null };

type LatestBySender = { sender_id: string; seq: number; server_msg_id: string }[];

/**
 * Moves members' delivered and read cursors and tells the senders of the messages they passed.
 * Moves come one at a time from live sockets, and in batches from user objects, which gather their
 * users' acknowledgements per conversation: in a 500-member group every member acknowledges every
 * message, and one call and one sender look-up per acknowledgement was most of a group's cost. In a
 * batch, members moving over the same range share one look-up of whose messages it holds.
 */
export class CursorMoves {
  constructor(
    /** The object's parts: the notices to senders, waitUntil. */
    private readonly host: ConversationHost,
    private readonly store: ConversationStore,
    private readonly archive: HistoryArchive,
    /** Blocks in a direct chat: a sender hears nothing of the cursor of a reader who blocks them. */
    private readonly withheld: Pick<WithheldRanges, "blocking">,
  ) {}

  async apply(moves: CursorMove[]): Promise<Result<CursorMoved>[]> {
    const senders = new Map<string, Promise<LatestBySender>>();
    const results: Result<CursorMoved>[] = [];
    for (const move of moves) results.push(await this.move(move, senders));
    return results;
  }

  private async move(move: CursorMove, senders: Map<string, Promise<LatestBySender>>): Promise<Result<CursorMoved>> {
    const denied = memberRefusal(this.store, move.user_id);
    if (denied) return denied;
    // Hot messages (nearly every acknowledgement) are looked up without an await.
    const seq = (this.store.messageMeta(move.server_msg_id) ?? (await this.archive.messageMeta(move.server_msg_id)))?.seq ?? null;
    if (seq === null) return refuse(ErrorCode.messageNotFound, "no such message in this conversation");
    const moved = this.store.advanceCursor(move.user_id, move.status, seq, Date.now());
    if (!moved) return refuse(ErrorCode.notAMember, "you are not a member of this conversation");
    // A read with receipts off tells nobody: no need to find whose messages it passed.
    const told = move.status !== "read" || this.store.readReceipts(move.user_id);
    if (told && moved.previous < seq) {
      const range = `${moved.previous}-${seq}`;
      let latest = senders.get(range);
      // Reads the archive too: a cursor that jumps far can pass messages no longer hot.
      if (!latest) senders.set(range, (latest = this.archive.latestBySenderBetween(moved.previous, seq, "")));
      this.host.waitUntil(latest.then((rows) => this.notify(rows, move.user_id, move.status)));
    }
    // Only a read moves the unread count, and counting costs a scan: delivered acks skip it.
    return ok({ seq, unread_count: move.status === "read" ? await this.archive.unreadCount(move.user_id) : null });
  }

  /** Each sender of a passed message hears once, of their latest one: the status is cumulative. */
  private notify(latest: LatestBySender, reader: string, status: DeliveryStatus) {
    for (const row of latest) {
      if (row.sender_id === reader || this.withheld.blocking(reader, row.sender_id)) continue;
      // Read receipts off on the sender's side too: they are not told of others' reads.
      if (status === "read" && !this.store.readReceipts(row.sender_id)) continue;
      this.host.notices.add(row.sender_id, {
        type: "message_status",
        conversation_id: this.store.conversationId,
        server_msg_id: row.server_msg_id,
        seq: row.seq,
        user_id: reader,
        status,
      });
    }
  }
}
