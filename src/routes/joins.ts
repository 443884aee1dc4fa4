import { byUserHome, userHomeStub } from "../objects/homes";
import type { JoinRequest, JoinVerdict } from "../objects/user/consent";
import { userIdPattern } from "../lib/ids";
import { log } from "../lib/log";
import { ApiError } from "../middleware/errors";
import { ErrorCode, Limits } from "../protocol";
import type { Env } from "../env";

/**
 * Putting people in conversations, as routes do it: each person's user object admits their add
 * (consent and caps, taking a place: objects/user/consent.ts), one call per object holding some of
 * them; the conversation then commits the adds; places of adds that did not happen are given back.
 */

/** The verdict for each request, in order. Ids that cannot be users are `no_user` without a call. */
export async function admitJoins(env: Env, requests: JoinRequest[]): Promise<JoinVerdict[]> {
  const verdicts: JoinVerdict[] = requests.map(() => "no_user");
  const asked = requests.map((r, i) => ({ r, i })).filter(({ r }) => userIdPattern.test(r.user_id));
  await Promise.all(
    [...byUserHome(env, asked, ({ r }) => r.user_id)].map(async ([home, group]) => {
      const answers = await userHomeStub(env, home).admitJoins(group.map(({ r }) => r));
      group.forEach(({ i }, k) => (verdicts[i] = answers[k]!));
    }),
  );
  return verdicts;
}

/** Gives back the places taken for adds that did not happen (best effort: a place left behind lapses). */
export async function releaseJoins(env: Env, joins: { user_id: string; conversation_id: string }[]): Promise<void> {
  if (joins.length === 0) return;
  const groups = [...byUserHome(env, joins, (j) => j.user_id)];
  const released = await Promise.allSettled(groups.map(([home, group]) => userHomeStub(env, home).releaseJoins(group)));
  released.forEach((r, i) => {
    if (r.status === "rejected") log.warn("places of adds that did not happen not given back; they lapse", { home: groups[i]![0], joins: groups[i]![1], error: r.reason });
  });
}

/**
 * Turns verdicts into a refusal when one applies (no such user, a cap full), giving back every
 * place taken; otherwise says who is added and who gets an invitation instead.
 */
export async function settleVerdicts(
  env: Env,
  requests: JoinRequest[],
  verdicts: JoinVerdict[],
): Promise<{ held: JoinRequest[]; invite: string[]; members: string[] }> {
  const pick = (v: JoinVerdict) => requests.filter((_, i) => verdicts[i] === v);
  const held = pick("held");
  const refusal = refusalOf(pick("no_user"), pick("own_limit"), pick("recipient_limit"));
  if (refusal) {
    await releaseJoins(env, held);
    throw refusal;
  }
  return { held, invite: pick("invite").map((r) => r.user_id), members: pick("member").map((r) => r.user_id) };
}

function refusalOf(missing: JoinRequest[], ownFull: JoinRequest[], othersFull: JoinRequest[]): ApiError | null {
  const ids = (rs: JoinRequest[]) => rs.slice(0, 3).map((r) => r.user_id).join(", ");
  if (missing.length > 0) return new ApiError(ErrorCode.userNotFound, `no such user: ${ids(missing)}`);
  if (ownFull.length > 0) {
    return new ApiError(ErrorCode.tooManyConversations, `you are in ${Limits.conversationsPerUser} conversations of your own: leave some first`);
  }
  if (othersFull.length > 0) {
    return new ApiError(
      ErrorCode.recipientLimit,
      `already put in ${Limits.conversationsAddedByOthers} conversations by others, so nobody can add them to more: ${ids(othersFull)}`,
    );
  }
  return null;
}

/** Sends invitations to a group; answers the ones recorded (an invitee holding too many gets none). */
export async function sendInvitations(env: Env, userIds: string[], conversationId: string, name: string | null, inviterId: string): Promise<string[]> {
  const invitations = userIds.map((user_id) => ({ user_id, conversation_id: conversationId, name, inviter_id: inviterId }));
  const recorded: string[] = [];
  await Promise.all(
    [...byUserHome(env, invitations, (i) => i.user_id)].map(async ([home, group]) => {
      const answers = await userHomeStub(env, home).invite(group);
      group.forEach((g, k) => answers[k] && recorded.push(g.user_id));
    }),
  );
  return recorded;
}
