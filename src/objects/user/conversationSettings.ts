import { ok, refuse, type Result } from "../../lib/result";
import { ErrorCode, Limits, MUTED_FOREVER, type ConversationSettings, type ConversationSettingsFrame, type UpdateConversationSettingsBody } from "../../protocol";
import type { ObjectContext } from "../context";
import type { DeliveredMessage, Recipient } from "../delivery";
import { sendFrame } from "../sockets";
import type { DeviceSessions } from "./sessions";

type SettingsRow = { muted_until: number | null; pinned_at: number | null; marked_unread: number; archived: number };

/**
 * A user's own settings for each conversation in their list, kept in their `inbox` row: muted until,
 * pinned at, marked unread, archived; and the user's "keep archived" choice (`users.keep_archived`).
 * Every change is shown at once on all the user's connected devices as a `conversation_settings`
 * frame; a device that was away reads them with the list. Pinned conversations are never archived:
 * archiving unpins, pinning unarchives.
 */
export class ConversationSettingsStore {
  /**
   * Who has each conversation archived, as read once: a delivery asks on every message whether it
   * brings a conversation back, and almost always nobody here archived it.
   */
  private readonly archivedBy = new Map<string, Set<string>>();

  constructor(
    private readonly object: ObjectContext,
    private readonly sessions: DeviceSessions,
  ) {}

  private get sql() {
    return this.object.storage.sql;
  }

  /** The user's settings for the conversation, or null if it is not in their list. */
  get(userId: string, conversationId: string): ConversationSettings | null {
    const row = this.sql
      .exec<SettingsRow>("SELECT muted_until, pinned_at, marked_unread, archived FROM inbox WHERE user_id = ? AND conversation_id = ?", userId, conversationId)
      .toArray()[0];
    return row ? settingsOf(conversationId, row) : null;
  }

  /** Applies the changes (see UpdateConversationSettingsBody) and tells the user's devices. */
  update(userId: string, conversationId: string, changes: UpdateConversationSettingsBody, now: number): Result<ConversationSettings> {
    const current = this.get(userId, conversationId);
    if (!current) return refuse(ErrorCode.conversationNotFound, "not in your conversation list");
    const next = { ...current };
    if (changes.muted_until !== undefined) {
      const until = changes.muted_until === "always" ? MUTED_FOREVER : changes.muted_until;
      next.muted_until = until !== null && until > now ? until : null;
    }
    if (changes.archived !== undefined) next.archived = changes.archived;
    if (changes.pinned === true && current.pinned_at === null) {
      const pinned = this.sql
        .exec<{ n: number }>("SELECT COUNT(*) AS n FROM inbox WHERE user_id = ? AND pinned_at IS NOT NULL", userId)
        .one().n;
      if (pinned >= Limits.pinnedConversations) {
        return refuse(ErrorCode.tooManyPinned, `at most ${Limits.pinnedConversations} conversations can be pinned: unpin one first`);
      }
      next.pinned_at = now;
      next.archived = false;
    }
    if (changes.pinned === false) next.pinned_at = null;
    if (next.archived) next.pinned_at = null;
    if (changes.marked_unread !== undefined) next.marked_unread = changes.marked_unread;
    this.write(userId, next);
    return ok(next);
  }

  /** Archives or unarchives (POST /conversations/archive); returns the ones in the user's list. */
  setArchived(userId: string, conversationIds: string[], archived: boolean, now: number): string[] {
    return conversationIds.filter((id) => this.update(userId, id, { archived }, now).ok);
  }

  /** The user read in the conversation (any read acknowledgement): a "mark as unread" is done with. */
  read(userId: string, conversationId: string): void {
    const current = this.get(userId, conversationId);
    if (current?.marked_unread) this.write(userId, { ...current, marked_unread: false });
  }

  /** Whether pushes for the conversation are held back (all but mentions) at `now`. */
  muted(userId: string, conversationId: string, now: number): boolean {
    const until = this.sql
      .exec<{ muted_until: number | null }>("SELECT muted_until FROM inbox WHERE user_id = ? AND conversation_id = ?", userId, conversationId)
      .toArray()[0]?.muted_until;
    return until !== undefined && until !== null && until > now;
  }

  keepArchived(userId: string): boolean {
    return this.sql.exec<{ k: number }>("SELECT keep_archived AS k FROM users WHERE user_id = ?", userId).toArray()[0]?.k === 1;
  }

  setKeepArchived(userId: string, keep: boolean): void {
    this.sql.exec("UPDATE users SET keep_archived = ? WHERE user_id = ?", keep ? 1 : 0, userId);
  }

  /**
   * New messages reached the conversation: for each recipient who archived it, a message from
   * someone else (not an action on one, not a system event) brings it back to their list, unless
   * they keep archived chats archived.
   */
  delivered(conversationId: string, messages: DeliveredMessage[], recipients: Recipient[]): void {
    const archived = this.archivedIn(conversationId);
    if (archived.size === 0) return;
    for (const r of recipients) {
      if (!archived.has(r.user_id)) continue;
      const arrived = messages.some(
        (m) => m.seq > r.after && m.seq <= r.upTo && m.sender_id !== r.user_id && m.withheld_from !== r.user_id && m.action === undefined && m.system === undefined,
      );
      if (!arrived || this.keepArchived(r.user_id)) continue;
      const current = this.get(r.user_id, conversationId);
      if (current?.archived) this.write(r.user_id, { ...current, archived: false });
      else archived.delete(r.user_id);
    }
  }

  /** Forgets what was read into memory: rows were written behind this store's back (handover.ts). */
  dropCaches(): void {
    this.archivedBy.clear();
  }

  private archivedIn(conversationId: string): Set<string> {
    let users = this.archivedBy.get(conversationId);
    if (!users) {
      if (this.archivedBy.size > 10_000) this.archivedBy.clear();
      const rows = this.sql.exec<{ user_id: string }>("SELECT user_id FROM inbox WHERE conversation_id = ? AND archived = 1", conversationId).toArray();
      this.archivedBy.set(conversationId, (users = new Set(rows.map((r) => r.user_id))));
    }
    return users;
  }

  private write(userId: string, s: ConversationSettings): void {
    this.sql.exec(
      "UPDATE inbox SET muted_until = ?, pinned_at = ?, marked_unread = ?, archived = ? WHERE user_id = ? AND conversation_id = ?",
      s.muted_until,
      s.pinned_at,
      s.marked_unread ? 1 : 0,
      s.archived ? 1 : 0,
      userId,
      s.conversation_id,
    );
    const archived = this.archivedBy.get(s.conversation_id);
    if (archived) {
      if (s.archived) archived.add(userId);
      else archived.delete(userId);
    }
    const frame: ConversationSettingsFrame = { type: "conversation_settings", settings: s };
    const text = JSON.stringify(frame);
    for (const session of this.sessions.ofUser(userId)) sendFrame(session.ws, text);
  }
}

export function settingsOf(conversationId: string, row: SettingsRow): ConversationSettings {
  return {
    conversation_id: conversationId,
    muted_until: row.muted_until,
    pinned_at: row.pinned_at,
    marked_unread: row.marked_unread === 1,
    archived: row.archived === 1,
  };
}
