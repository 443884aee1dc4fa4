import { Limits, type GroupsAdd, type Invitation, type Presence, type PresenceVisibleTo } from "../../protocol";
import type { ObjectContext } from "../context";
import type { InboxStore } from "./inbox";
import type { Profiles } from "./profiles";

/**
 * Who may put a user in a conversation, and how many conversations they can be put in.
 *
 * - Consent: a user's "who can add me to groups" setting (everyone, contacts, nobody). An adder it
 *   does not allow sends an invitation instead, which the user accepts or declines.
 * - Two caps: conversations the user is in by their own doing, and conversations others put them
 *   in. Others filling the second never stops the user starting a chat; when it is full the adder
 *   is refused (`recipient_limit`), not the user.
 * - Holds make the caps exact under concurrency: an admitted add takes its place here (one
 *   synchronous call in a single-threaded object) before the conversation commits it, so two
 *   concurrent adds cannot both take the last place. The hold becomes the inbox row when the join
 *   arrives, or lapses if the add never completes.
 */

/** One person to be put in one conversation by `adder_id` (the person themselves for their own actions). */
export interface JoinRequest {
  user_id: string;
  conversation_id: string;
  adder_id: string;
  /** Groups need consent; a direct chat does not (anyone may write to anyone, as in WhatsApp), but counts toward the cap. */
  group: boolean;
}

/**
 * - `member`: in it already; `held`: a place is taken; `no_user`: no such user here;
 * - `invite`: the user's setting does not let this adder add them (send an invitation instead);
 * - `own_limit`: the user's own cap is full; `recipient_limit`: the cap of what others put them in is full.
 */
export type JoinVerdict = "member" | "held" | "no_user" | "invite" | "own_limit" | "recipient_limit";

/** A hold outlives any add that is still going (the conversation's own retries included). */
const HOLD_MS = 10 * 60_000;

export class Consent {
  constructor(
    private readonly object: ObjectContext,
    private readonly profiles: Profiles,
    private readonly inbox: InboxStore,
  ) {}

  private get sql() {
    return this.object.storage.sql;
  }

  groupsAdd(userId: string): GroupsAdd {
    return (this.sql.exec<{ g: GroupsAdd }>("SELECT groups_add AS g FROM users WHERE user_id = ?", userId).toArray()[0]?.g ?? "everyone") as GroupsAdd;
  }

  setGroupsAdd(userId: string, value: GroupsAdd): void {
    this.sql.exec("UPDATE users SET groups_add = ? WHERE user_id = ?", value, userId);
  }

  presenceVisibleTo(userId: string): PresenceVisibleTo {
    return (this.sql.exec<{ v: PresenceVisibleTo }>("SELECT presence_visible_to AS v FROM users WHERE user_id = ?", userId).toArray()[0]?.v ??
      "everyone") as PresenceVisibleTo;
  }

  setPresenceVisibleTo(userId: string, value: PresenceVisibleTo): void {
    this.sql.exec("UPDATE users SET presence_visible_to = ? WHERE user_id = ?", value, userId);
  }

  // ---- blocks ----------------------------------------------------------------

  /** Whether the user blocked `otherId`. */
  blocks(userId: string, otherId: string): boolean {
    return this.sql.exec("SELECT 1 FROM blocks WHERE user_id = ? AND blocked_id = ?", userId, otherId).toArray().length > 0;
  }

  /** Blocks or unblocks; returns whether that changed anything. */
  setBlocked(userId: string, otherId: string, blocked: boolean, now: number): boolean {
    if (blocked) return this.sql.exec("INSERT OR IGNORE INTO blocks (user_id, blocked_id, created_at) VALUES (?, ?, ?)", userId, otherId, now).rowsWritten > 0;
    return this.sql.exec("DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?", userId, otherId).rowsWritten > 0;
  }

  blocked(userId: string): string[] {
    return this.sql.exec<{ b: string }>("SELECT blocked_id AS b FROM blocks WHERE user_id = ? ORDER BY created_at", userId).toArray().map((r) => r.b);
  }

  /**
   * Whether `viewerId` may see the user's presence, by the user's setting and blocks. (That they
   * share a conversation is checked where the viewer is held: their inbox knows.)
   */
  showsPresenceTo(userId: string, viewerId: string): boolean {
    if (this.blocks(userId, viewerId)) return false;
    const setting = this.presenceVisibleTo(userId);
    if (setting === "everyone") return true;
    if (setting === "nobody") return false;
    return this.isContact(userId, viewerId);
  }

  /**
   * Someone's presence as the user may see it. As in WhatsApp: who hides their last seen cannot see
   * anyone else's; who shows their presence to nobody sees nobody's.
   */
  asSeenBy(userId: string, p: Presence): Presence {
    if (p.user_id !== userId && this.presenceVisibleTo(userId) === "nobody") return hiddenPresence(p.user_id);
    return this.profiles.presenceSettings(userId).last_seen_visible ? p : { ...p, last_seen: null };
  }

  isContact(userId: string, otherId: string): boolean {
    return this.sql.exec("SELECT 1 FROM contacts WHERE user_id = ? AND contact_id = ?", userId, otherId).toArray().length > 0;
  }

  /** The user started a chat with, put in a group, or wrote to these people: they are contacts now. */
  addContacts(userId: string, contactIds: string[]): void {
    if (!this.profiles.has(userId)) return;
    for (const id of contactIds) if (id !== userId) this.sql.exec("INSERT OR IGNORE INTO contacts (user_id, contact_id) VALUES (?, ?)", userId, id);
  }

  /** Direct chats whose other member is known to be a contact already (saves a read per send). */
  private readonly wroteTo = new Set<string>();

  /** The user wrote in a conversation: in a direct chat, the other member becomes a contact. */
  noteWrite(userId: string, conversationId: string): void {
    if (!conversationId.startsWith("d_")) return;
    const k = `${userId}\n${conversationId}`;
    if (this.wroteTo.has(k)) return;
    const row = this.sql.exec<{ members: string }>("SELECT members FROM conversation_members WHERE conversation_id = ?", conversationId).toArray()[0];
    if (!row) return;
    if (this.wroteTo.size > 100_000) this.wroteTo.clear();
    this.wroteTo.add(k);
    this.addContacts(userId, (JSON.parse(row.members) as { user_id: string }[]).map((m) => m.user_id));
  }

  /** Whether `adderId` may put the user in a group without asking. */
  private allows(userId: string, adderId: string): boolean {
    const setting = this.groupsAdd(userId);
    if (setting === "everyone") return true;
    if (setting === "nobody") return false;
    return this.isContact(userId, adderId);
  }

  /** Conversations the user is in, or holds a place in, by their own doing (`byOther` false) or others'. */
  private count(userId: string, byOther: boolean, now: number): number {
    const flag = byOther ? 1 : 0;
    const joined = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM inbox WHERE user_id = ? AND added_by_other = ?", userId, flag).one().n;
    const held = this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM join_holds h WHERE h.user_id = ? AND h.added_by_other = ? AND h.expires_at > ?
         AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.user_id = h.user_id AND i.conversation_id = h.conversation_id)`,
        userId,
        flag,
        now,
      )
      .one().n;
    return joined + held;
  }

  /** Decides one add, and takes a place for it when it may go ahead. */
  admit(r: JoinRequest, now: number): JoinVerdict {
    if (!this.profiles.has(r.user_id)) return "no_user";
    if (this.inbox.has(r.user_id, r.conversation_id)) return "member";
    const byOther = r.adder_id !== r.user_id;
    // Someone the user blocked "invites" instead, and the invitation is dropped (invite() below): no sign to them.
    if (byOther && r.group && (this.blocks(r.user_id, r.adder_id) || !this.allows(r.user_id, r.adder_id))) return "invite";
    // Lapsed holds go here (counts ignore them anyway), so they never pile up.
    this.sql.exec("DELETE FROM join_holds WHERE user_id = ? AND expires_at <= ?", r.user_id, now);
    const cap = byOther ? Limits.conversationsAddedByOthers : Limits.conversationsPerUser;
    if (this.count(r.user_id, byOther, now) >= cap) return byOther ? "recipient_limit" : "own_limit";
    this.sql.exec(
      `INSERT INTO join_holds (user_id, conversation_id, added_by_other, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, conversation_id) DO UPDATE SET added_by_other = excluded.added_by_other, expires_at = excluded.expires_at`,
      r.user_id,
      r.conversation_id,
      byOther ? 1 : 0,
      now + HOLD_MS,
    );
    return "held";
  }

  /** The add did not happen: its place is free again. */
  release(userId: string, conversationId: string): void {
    this.sql.exec("DELETE FROM join_holds WHERE user_id = ? AND conversation_id = ?", userId, conversationId);
  }

  /**
   * The user is in the conversation now (its inbox row exists): the hold says whose doing it was,
   * and any invitation to it is used up. A join with no hold (an older server's add) counts as the
   * user's own.
   */
  joined(userId: string, conversationId: string): void {
    const hold = this.sql
      .exec<{ added_by_other: number }>("SELECT added_by_other FROM join_holds WHERE user_id = ? AND conversation_id = ?", userId, conversationId)
      .toArray()[0];
    if (hold) {
      this.sql.exec("UPDATE inbox SET added_by_other = ? WHERE user_id = ? AND conversation_id = ?", hold.added_by_other, userId, conversationId);
      this.release(userId, conversationId);
    }
    this.sql.exec("DELETE FROM invitations WHERE user_id = ? AND conversation_id = ?", userId, conversationId);
  }

  // ---- invitations -----------------------------------------------------------

  /**
   * Records an invitation (a repeat refreshes it). Null when the user holds as many as they may:
   * the inviter is refused, and the user's pending invitations stay as they were.
   */
  invite(userId: string, conversationId: string, name: string | null, inviterId: string, now: number): Invitation | "dropped" | null {
    // From someone the user blocked: kept from them, and from the inviter that it was.
    if (this.blocks(userId, inviterId)) return "dropped";
    this.sql.exec("DELETE FROM invitations WHERE user_id = ? AND expires_at <= ?", userId, now);
    const exists = this.sql.exec("SELECT 1 FROM invitations WHERE user_id = ? AND conversation_id = ?", userId, conversationId).toArray().length > 0;
    if (!exists) {
      const n = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM invitations WHERE user_id = ?", userId).one().n;
      if (n >= Limits.invitationsPerUser) return null;
    }
    const invitation: Invitation = { conversation_id: conversationId, name, inviter_id: inviterId, created_at: now, expires_at: now + Limits.invitationTtlMs };
    this.sql.exec(
      `INSERT INTO invitations (user_id, conversation_id, name, inviter_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, conversation_id) DO UPDATE SET name = excluded.name, inviter_id = excluded.inviter_id,
         created_at = excluded.created_at, expires_at = excluded.expires_at`,
      userId,
      conversationId,
      name,
      inviterId,
      invitation.created_at,
      invitation.expires_at,
    );
    return invitation;
  }

  invitations(userId: string, now: number): Invitation[] {
    return this.sql
      .exec<Invitation>(
        `SELECT conversation_id, name, inviter_id, created_at, expires_at FROM invitations
         WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC`,
        userId,
        now,
      )
      .toArray();
  }

  invitation(userId: string, conversationId: string, now: number): Invitation | null {
    return (
      this.sql
        .exec<Invitation>(
          "SELECT conversation_id, name, inviter_id, created_at, expires_at FROM invitations WHERE user_id = ? AND conversation_id = ? AND expires_at > ?",
          userId,
          conversationId,
          now,
        )
        .toArray()[0] ?? null
    );
  }

  /** Declined (or its group is gone): returns whether there was one. */
  dropInvitation(userId: string, conversationId: string): boolean {
    return this.sql.exec("DELETE FROM invitations WHERE user_id = ? AND conversation_id = ? RETURNING 1", userId, conversationId).toArray().length > 0;
  }
}

/** What someone sees of a user whose presence they may not see: offline, no last seen. */
export function hiddenPresence(userId: string): Presence {
  return { user_id: userId, status: "offline", last_seen: null };
}
