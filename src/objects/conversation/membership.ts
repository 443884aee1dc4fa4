import { randomToken } from "../../lib/ids";
import { sameSecret } from "../../lib/timingSafe";
import { ok, refuse, type Result } from "../../lib/result";
import { ErrorCode, Limits, type GroupSettings, type MemberRole, type ProtocolError, type UpdateGroupBody } from "../../protocol";
import type { ConversationStore } from "./store";

/**
 * Group membership rules: who may do what, and the `system` message each change leaves in the
 * conversation, in sequence with everything else. Every change here runs inside one transaction
 * with its system message.
 */

type Refusal = { ok: false; error: ProtocolError };

/** Why `userId` may not act in the conversation (it does not exist, or they are not a member), or null. */
export function memberRefusal(store: ConversationStore, userId: string): Refusal | null {
  if (!store.exists) return refuse(ErrorCode.conversationNotFound, "no such conversation");
  if (!store.member(userId)) return refuse(ErrorCode.notAMember, "you are not a member of this conversation");
  return null;
}

/** Why `actor` may not do an admin's part in the conversation, or null. */
export function requireGroupAdmin(store: ConversationStore, actor: string): Refusal | null {
  if (!store.exists) return refuse(ErrorCode.conversationNotFound, "no such conversation");
  if (store.type !== "group") return refuse(ErrorCode.notAGroup, "direct conversations have no admins or membership changes");
  const m = store.member(actor);
  if (!m) return refuse(ErrorCode.notAMember, "you are not a member of this conversation");
  if (m.role !== "admin") return refuse(ErrorCode.forbidden, "only an admin can do that");
  return null;
}

/** A group's settings once `change` is applied. */
function settingsAfter(store: ConversationStore, change: UpdateGroupBody): GroupSettings {
  const current = store.settings;
  return {
    only_admins_send: change.only_admins_send ?? current.only_admins_send,
    only_admins_edit_info: change.only_admins_edit_info ?? current.only_admins_edit_info,
  };
}

/**
 * Why `actor` may not make `change`, or null. The info (name, description, photo, and in a group the
 * disappearing timer) is the admins' unless the group lets every member; the settings are always the
 * admins'. Asked before a new photo is claimed for the group, and again by `updateGroup`.
 */
export function groupChangeRefusal(store: ConversationStore, actor: string, change: UpdateGroupBody): Result<never> | null {
  if (!store.exists) return refuse(ErrorCode.conversationNotFound, "no such conversation");
  const m = store.member(actor);
  if (!m) return refuse(ErrorCode.notAMember, "you are not a member of this conversation");
  const groupOnly =
    change.name !== undefined ||
    change.description !== undefined ||
    change.photo_media_id !== undefined ||
    change.only_admins_send !== undefined ||
    change.only_admins_edit_info !== undefined;
  if (store.type !== "group" && groupOnly) return refuse(ErrorCode.notAGroup, "direct conversations have no group info or settings");
  // In a direct chat either person sets the disappearing timer; in a group, whoever may edit its info.
  const admin = store.type !== "group" || m.role === "admin";
  const current = store.settings;
  const settings = settingsAfter(store, change);
  const settingsChanged = settings.only_admins_send !== current.only_admins_send || settings.only_admins_edit_info !== current.only_admins_edit_info;
  if (settingsChanged && !admin) return refuse(ErrorCode.forbidden, "only an admin can change the group's settings");
  const info = change.name !== undefined || change.description !== undefined || change.photo_media_id !== undefined || change.disappearing_ms !== undefined;
  if (info && !admin && current.only_admins_edit_info) return refuse(ErrorCode.forbidden, "only an admin can change this group's name, description and photo");
  return null;
}

/**
 * Changes a group's name, description, photo or settings, each change a system message (who may:
 * `groupChangeRefusal`). A change to what it already is changes nothing. Returns the photo a new one
 * replaced (its media is then deleted; the new one was claimed beforehand).
 */
export function updateGroup(store: ConversationStore, actor: string, change: UpdateGroupBody, now: number): Result<{ replacedPhoto: string | null }> {
  const refused = groupChangeRefusal(store, actor, change);
  if (refused) return refused;
  const current = store.settings;
  const settings = settingsAfter(store, change);
  const settingsChanged = settings.only_admins_send !== current.only_admins_send || settings.only_admins_edit_info !== current.only_admins_edit_info;
  const before = store.describe();
  let replacedPhoto: string | null = null;
  store.transaction(() => {
    if (change.name !== undefined && change.name !== before.name) {
      store.rename(change.name, now);
      store.appendSystem({ event: "renamed", actor, name: change.name }, now);
    }
    if (change.description !== undefined && change.description !== before.description) {
      store.setDescription(change.description, now);
      store.appendSystem({ event: "description_changed", actor, description: change.description }, now);
    }
    if (change.photo_media_id !== undefined && change.photo_media_id !== (before.photo?.media_id ?? null)) {
      replacedPhoto = store.setPhoto(change.photo_media_id, now);
      store.appendSystem({ event: "photo_changed", actor, photo: change.photo_media_id ? { media_id: change.photo_media_id } : null }, now);
    }
    if (settingsChanged) {
      store.setSettings(settings);
      store.appendSystem({ event: "settings_changed", actor, settings }, now);
    }
    if (change.disappearing_ms !== undefined && change.disappearing_ms !== store.disappearingMs) {
      store.setDisappearing(change.disappearing_ms);
      store.appendSystem({ event: "disappearing_changed", actor, ms: change.disappearing_ms }, now);
    }
    store.saveHead();
  });
  return ok({ replacedPhoto });
}

/** Why `senderId` may not send a message (not an action) here: a group where only admins send. */
export function sendRefusal(store: ConversationStore, senderId: string): ProtocolError | null {
  if (!store.onlyAdminsSend || store.member(senderId)?.role === "admin") return null;
  return { code: ErrorCode.forbidden, message: "only admins can send messages in this group" };
}

/** Adds users; returns the ones actually added (already-present members are skipped). */
export function addMembers(store: ConversationStore, actor: string, userIds: string[], now: number): Result<string[]> {
  const denied = requireGroupAdmin(store, actor);
  if (denied) return denied;
  const added = [...new Set(userIds)].filter((id) => !store.member(id));
  if (store.memberIds().length + added.length > Limits.groupMaxMembers) {
    return refuse(ErrorCode.groupTooLarge, `a group has at most ${Limits.groupMaxMembers} members`);
  }
  if (added.length === 0) return ok([]);
  store.transaction(() => {
    for (const id of added) store.addMember(id, "member", now);
    store.appendSystem({ event: "members_added", actor, user_ids: added }, now);
    store.saveHead();
  });
  return ok(added);
}

/**
 * A user joins by accepting an invitation from `inviter` (who must still be an admin: an invitation
 * from someone who lost the right lapses) or with the group's invite link (`token` must be the
 * current one). Returns whether they were added (false: a member already).
 */
export function join(
  store: ConversationStore,
  userId: string,
  via: { invitation: string } | { token: string },
  now: number,
): Result<boolean> {
  if (!store.exists || store.type !== "group") {
    return "token" in via ? refuse(ErrorCode.inviteLinkInvalid, "this invite link is not valid") : refuse(ErrorCode.invitationNotFound, "that group no longer exists");
  }
  if ("token" in via) {
    const current = store.inviteToken();
    if (current === null || !sameSecret(via.token, current)) return refuse(ErrorCode.inviteLinkInvalid, "this invite link was revoked or is not valid");
  } else if (store.member(via.invitation)?.role !== "admin") {
    return refuse(ErrorCode.invitationNotFound, "the invitation lapsed: whoever sent it is no longer an admin of the group");
  }
  if (store.member(userId)) return ok(false);
  if (store.memberIds().length + 1 > Limits.groupMaxMembers) return refuse(ErrorCode.groupTooLarge, `a group has at most ${Limits.groupMaxMembers} members`);
  const actor = "token" in via ? userId : via.invitation;
  store.transaction(() => {
    store.addMember(userId, "member", now);
    store.appendSystem({ event: "member_joined", actor, user_id: userId, via: "token" in via ? "link" : "invitation" }, now);
    store.saveHead();
  });
  return ok(true);
}

/** An admin creates the group's invite link (or gets the current one), or revokes it. */
export function inviteLink(store: ConversationStore, actor: string, action: "get" | "revoke", now: number): Result<string | null> {
  const denied = requireGroupAdmin(store, actor);
  if (denied) return denied;
  if (action === "revoke") {
    store.setInviteToken(null, actor, now);
    return ok(null);
  }
  let token = store.inviteToken();
  if (!token) {
    // The conversation's id first, so a link names the object to ask; 144 random bits after it.
    token = `${store.conversationId}.${randomToken(18)}`;
    store.setInviteToken(token, actor, now);
  }
  return ok(token);
}

/**
 * Removes `target` (an admin removing someone) or lets the actor leave. The departing member still
 * gets the system message that records it, and nothing after. If the last admin leaves, the longest
 * standing member becomes admin.
 */
export function removeMember(store: ConversationStore, actor: string, target: string, now: number): Result<void> {
  // An id of the right shape that names no conversation: its object is empty (no type to read).
  if (!store.exists) return refuse(ErrorCode.conversationNotFound, "no such conversation");
  if (store.type !== "group") return refuse(ErrorCode.notAGroup, "nobody can leave a direct conversation");
  if (!store.member(actor)) return refuse(ErrorCode.notAMember, "you are not a member of this conversation");
  const leaving = actor === target;
  if (!leaving) {
    const denied = requireGroupAdmin(store, actor);
    if (denied) return denied;
  }
  if (!store.member(target)) return refuse(ErrorCode.userNotFound, "that user is not a member of this conversation");
  store.transaction(() => {
    const seq = store.appendSystem(
      leaving ? { event: "member_left", actor, user_id: target } : { event: "member_removed", actor, user_id: target },
      now,
    );
    store.removeMember(target, seq);
    const remaining = store.activeMembers();
    if (remaining.length > 0 && !remaining.some((m) => m.role === "admin")) {
      const successor = remaining.reduce((a, b) => (b.joined_seq < a.joined_seq ? b : a));
      store.setRole(successor.user_id, "admin");
      store.appendSystem({ event: "role_changed", actor, user_id: successor.user_id, role: "admin" }, now);
    }
    store.saveHead();
  });
  return ok(undefined);
}

export function setRole(store: ConversationStore, actor: string, target: string, role: MemberRole, now: number): Result<void> {
  const denied = requireGroupAdmin(store, actor);
  if (denied) return denied;
  const m = store.member(target);
  if (!m) return refuse(ErrorCode.userNotFound, "that user is not a member of this conversation");
  if (m.role === role) return ok(undefined);
  if (role === "member" && store.activeMembers().filter((x) => x.role === "admin").length === 1) {
    return refuse(ErrorCode.forbidden, "a group needs at least one admin: promote someone first");
  }
  store.transaction(() => {
    store.setRole(target, role);
    store.appendSystem({ event: "role_changed", actor, user_id: target, role }, now);
    store.saveHead();
  });
  return ok(undefined);
}
