import { seqOfServerMsgId } from "../../lib/ids";
import type { MarksFrame, MessageMark } from "../../protocol";
import type { ObjectContext } from "../context";
import { sendFrame } from "../sockets";
import type { DeviceSessions } from "./sessions";

/** A message a user marks: the route has checked with its conversation that the user can see it. */
export type MarkedMessage = { conversation_id: string; server_msg_id: string; seq: number };

/** A starred message as the user's starred list orders it. */
export type StarredMark = MarkedMessage & { starred_at: number };

type MarkKind = MessageMark["kind"];
type MarkRow = Omit<MessageMark, "active"> & { active: number };

const COLUMNS = "conversation_id, server_msg_id, seq, kind, active, at, version";

/**
 * A user's own marks on messages (`message_marks`): starred, and hidden by "delete for me". Every
 * change takes the user's next marks version (`users.marks_version`) and is shown at once on their
 * connected devices as a `marks` frame; a device that was away asks for the changes after the
 * version it has. An unstar keeps its row (inactive, with its own version) so that those devices
 * learn of it too; a hide is never undone. Repeating a mark that holds already changes nothing.
 */
export class MessageMarks {
  constructor(
    private readonly object: ObjectContext,
    private readonly sessions: DeviceSessions,
  ) {}

  private get sql() {
    return this.object.storage.sql;
  }

  /**
   * Stars a message. "hidden": the user deleted it for themselves, so there is nothing to star.
   * Each star is later than the user's newest (by at least 1 ms), so the starred list pages by time
   * without two stars sharing a page edge.
   */
  star(userId: string, m: MarkedMessage, now: number): "hidden" | "done" {
    if (this.current(userId, m, "hidden")?.active === 1) return "hidden";
    if (this.current(userId, m, "starred")?.active === 1) return "done";
    const newest = this.sql
      .exec<{ at: number | null }>("SELECT MAX(at) AS at FROM message_marks WHERE user_id = ? AND kind = 'starred' AND active = 1", userId)
      .one().at;
    this.tell(userId, [this.write(userId, m, "starred", true, Math.max(now, (newest ?? 0) + 1))]);
    return "done";
  }

  /** Unstars a message, if the user starred it (an id that is not theirs, or a forged one, changes nothing). */
  unstar(userId: string, conversationId: string, serverMsgId: string, now: number): void {
    const seq = seqOfServerMsgId(serverMsgId);
    if (seq === null) return;
    const m = { conversation_id: conversationId, server_msg_id: serverMsgId, seq };
    const row = this.current(userId, m, "starred");
    if (row?.active !== 1 || row.server_msg_id !== serverMsgId) return;
    this.tell(userId, [this.write(userId, m, "starred", false, now)]);
  }

  /** Hides a message for the user's own devices, for good; a star on it goes with it. */
  hide(userId: string, m: MarkedMessage, now: number): void {
    if (this.current(userId, m, "hidden")) return;
    const changed = [this.write(userId, m, "hidden", true, now)];
    if (this.current(userId, m, "starred")?.active === 1) changed.push(this.write(userId, m, "starred", false, now));
    this.tell(userId, changed);
  }

  /**
   * The user's starred messages, newest star first, starred before `before`: those of the
   * conversations in their list (a conversation they left keeps their stars, shown again if they
   * come back, but its messages are no longer theirs to read).
   */
  starred(userId: string, before: number | undefined, limit: number): { starred: StarredMark[]; has_more: boolean } {
    const rows = this.sql
      .exec<StarredMark>(
        `SELECT conversation_id, server_msg_id, seq, at AS starred_at FROM message_marks m
         WHERE user_id = ? AND kind = 'starred' AND active = 1 AND at < ?
           AND EXISTS (SELECT 1 FROM inbox i WHERE i.user_id = m.user_id AND i.conversation_id = m.conversation_id)
         ORDER BY at DESC LIMIT ?`,
        userId,
        before ?? Number.MAX_SAFE_INTEGER,
        limit + 1,
      )
      .toArray();
    return { starred: rows.slice(0, limit), has_more: rows.length > limit };
  }

  /** What changed after marks version `after`, oldest change first. */
  changes(userId: string, after: number, limit: number): { marks: MessageMark[]; has_more: boolean } {
    const rows = this.sql
      .exec<MarkRow>(`SELECT ${COLUMNS} FROM message_marks WHERE user_id = ? AND version > ? ORDER BY version LIMIT ?`, userId, after, limit + 1)
      .toArray();
    return { marks: rows.slice(0, limit).map(toMark), has_more: rows.length > limit };
  }

  private current(userId: string, m: MarkedMessage, kind: MarkKind): MarkRow | null {
    return (
      this.sql
        .exec<MarkRow>(`SELECT ${COLUMNS} FROM message_marks WHERE user_id = ? AND conversation_id = ? AND seq = ? AND kind = ?`, userId, m.conversation_id, m.seq, kind)
        .toArray()[0] ?? null
    );
  }

  /** Writes one mark with the user's next version. */
  private write(userId: string, m: MarkedMessage, kind: MarkKind, active: boolean, at: number): MessageMark {
    const version = this.sql
      .exec<{ v: number }>("UPDATE users SET marks_version = marks_version + 1 WHERE user_id = ? RETURNING marks_version AS v", userId)
      .one().v;
    this.sql.exec(
      `INSERT INTO message_marks (user_id, conversation_id, seq, kind, server_msg_id, active, at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, conversation_id, seq, kind) DO UPDATE SET
         server_msg_id = excluded.server_msg_id, active = excluded.active, at = excluded.at, version = excluded.version`,
      userId,
      m.conversation_id,
      m.seq,
      kind,
      m.server_msg_id,
      active ? 1 : 0,
      at,
      version,
    );
    return { conversation_id: m.conversation_id, server_msg_id: m.server_msg_id, seq: m.seq, kind, active, at, version };
  }

  /** The user's connected devices learn of the change at once. */
  private tell(userId: string, marks: MessageMark[]): void {
    const frame = JSON.stringify({ type: "marks", marks } satisfies MarksFrame);
    for (const session of this.sessions.ofUser(userId)) sendFrame(session.ws, frame);
  }
}

function toMark(r: MarkRow): MessageMark {
  return { conversation_id: r.conversation_id, server_msg_id: r.server_msg_id, seq: r.seq, kind: r.kind, active: r.active === 1, at: r.at, version: r.version };
}
