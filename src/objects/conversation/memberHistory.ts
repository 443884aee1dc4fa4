import { SystemEvent, type JoinedVia, type MemberChange, type MemberHistoryQuery, type MemberHistoryResponse } from "../../protocol";
import type { HistoryArchive } from "./archive";

/**
 * A group's membership history (migration 12's `member_history`): one row per person per system
 * message that brought them in or took them out, written in that message's transaction. The
 * messages themselves move to R2 segments past the hot window; these rows stay, so an admin's list
 * reads a few rows, never the archive (except once, for changes archived before the table existed).
 */

/** The rows a system event adds to the history (none for events that change no membership). */
function changesOf(event: SystemEvent): { user_id: string; change: MemberChange["change"]; via: JoinedVia | null }[] {
  switch (event.event) {
    case "group_created":
      return [event.actor, ...event.user_ids].map((user_id) => ({ user_id, change: "joined" as const, via: "created" as const }));
    case "members_added":
      return event.user_ids.map((user_id) => ({ user_id, change: "joined" as const, via: "added" as const }));
    case "member_joined":
      return [{ user_id: event.user_id, change: "joined", via: event.via }];
    case "member_left":
      return [{ user_id: event.user_id, change: "left", via: null }];
    case "member_removed":
      return [{ user_id: event.user_id, change: "removed", via: null }];
    default:
      return [];
  }
}

/** Records what `event` (stored at `seq`) did to the membership; inside the caller's transaction. */
export function recordMembership(sql: SqlStorage, conversationId: string, seq: number, event: SystemEvent, at: number): void {
  for (const [position, c] of changesOf(event).entries()) {
    sql.exec(
      "INSERT OR REPLACE INTO member_history (conversation_id, seq, position, user_id, change, actor, via, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      conversationId,
      seq,
      position,
      c.user_id,
      c.change,
      event.actor,
      c.via,
      at,
    );
  }
}

/**
 * Changes whose system messages were archived before this table existed (migration 12 noted up to
 * which seq in `member_history_owed`): read from the segments once, before the group's first page.
 * Writes are upserts, so two reads racing here record the same rows.
 */
export async function recordArchived(sql: SqlStorage, conversationId: string, archive: HistoryArchive): Promise<void> {
  const upTo = sql.exec<{ up_to: number }>("SELECT up_to FROM member_history_owed WHERE conversation_id = ?", conversationId).toArray()[0]?.up_to ?? 0;
  if (upTo === 0) return;
  for (let after = 0; after < upTo; ) {
    const rows = (await archive.messagesAfter(after, 500)).filter((m) => m.seq <= upTo);
    for (const m of rows) {
      if (m.content_type !== "system") continue;
      const event = SystemEvent.safeParse(JSON.parse(m.content));
      if (event.success) recordMembership(sql, conversationId, m.seq, event.data, m.timestamp);
    }
    after = rows.at(-1)?.seq ?? upTo;
  }
  sql.exec("DELETE FROM member_history_owed WHERE conversation_id = ?", conversationId);
}

/** A page of the history, newest first; `next` is the place of its last entry, for the page after. */
export function memberHistoryPage(sql: SqlStorage, conversationId: string, query: MemberHistoryQuery): MemberHistoryResponse {
  const [seq, position] = query.before ? query.before.split("~").map(Number) : [Number.MAX_SAFE_INTEGER, 0];
  const rows = sql
    .exec<MemberChange & { position: number }>(
      `SELECT seq, position, change, user_id, actor, via, at FROM member_history
       WHERE conversation_id = ? AND (seq < ? OR (seq = ? AND position < ?))
       ORDER BY seq DESC, position DESC LIMIT ?`,
      conversationId,
      seq,
      seq,
      position,
      query.limit + 1,
    )
    .toArray();
  const changes = rows.slice(0, query.limit).map(({ position: _, ...change }) => change);
  const last = rows[query.limit - 1];
  return { changes, next: rows.length > query.limit && last ? `${last.seq}~${last.position}` : null };
}
