import { seqOfServerMsgId } from "../../lib/ids";
import {
  ClientContentType,
  countsAsMessage,
  ErrorCode,
  Limits,
  type ActionType,
  type Message,
  type Outgoing,
  type ProtocolError,
  quoteOf,
} from "../../protocol";
import { foldState, type MessageState, type MessageStates } from "./state";
import type { ConversationStore, NewRow } from "./store";

/**
 * Replies, mentions and the message actions (edit, reaction, delete for everyone, played): what each may
 * do, checked where the conversation's order is decided — in its own object, against its own
 * members and rows, on the server's clock.
 */

/** Messages this batch refers to that only the archive holds, read before the batch is stored. */
export type ArchivedTargets = Map<number, Message | null>;

const notFound: ProtocolError = { code: ErrorCode.messageNotFound, message: "no such message in this conversation" };
const deleted: ProtocolError = { code: ErrorCode.messageDeleted, message: "that message was deleted" };

/** The seqs of archived messages a batch names (as targets or quotes): the send path reads them first. */
export function archivedReferences(store: ConversationStore, archivedUpTo: number, messages: Outgoing[]): number[] {
  const seqs: number[] = [];
  for (const m of messages) {
    for (const id of [m.target_id, m.reply_to]) {
      const seq = id === undefined ? null : seqOfServerMsgId(id);
      if (seq !== null && seq <= archivedUpTo && store.exists) seqs.push(seq);
    }
  }
  return seqs;
}

/**
 * A message of this conversation by id, as it is now, if `userId` can see it: a hot row or an
 * archived one (read beforehand into `archived`), with its actions folded in.
 */
export function visibleMessage(
  store: ConversationStore,
  states: MessageStates,
  archived: ArchivedTargets,
  userId: string,
  serverMsgId: string,
): Message | null {
  const seq = seqOfServerMsgId(serverMsgId);
  if (seq === null) return null;
  const member = store.member(userId);
  if (!member || seq <= member.joined_seq) return null;
  const row = archived.has(seq) ? archived.get(seq)! : store.messageAt(seq);
  if (!row || row.server_msg_id !== serverMsgId) return null;
  const state = states.get(seq);
  return state ? foldState(row, state) : row;
}

/** A message people wrote (not a system message, not an action): what may be quoted, acted on, forwarded. */
function isPersonMessage(m: Message): m is Message & { content_type: ClientContentType } {
  return ClientContentType.safeParse(m.content_type).success && countsAsMessage(m);
}

/**
 * What a send (not an action) stores besides its content: its quote, checked mentions. Returns a
 * refusal or the row's relations.
 */
export function messageRelations(
  store: ConversationStore,
  states: MessageStates,
  archived: ArchivedTargets,
  senderId: string,
  m: Outgoing,
): ProtocolError | Pick<NewRow, "reply_to" | "mentions"> {
  const out: Pick<NewRow, "reply_to" | "mentions"> = {};
  if (m.reply_to !== undefined) {
    const quoted = visibleMessage(store, states, archived, senderId, m.reply_to);
    if (!quoted || !isPersonMessage(quoted)) return { ...notFound, message: "reply_to names no message you can see in this conversation" };
    if (quoted.deleted) return deleted;
    out.reply_to = quoteOf(quoted)!;
  }
  if (m.mentions && m.mentions.length > 0) {
    const outsider = m.mentions.find((x) => !store.member(x.user_id));
    if (outsider) return { code: ErrorCode.invalidMention, message: `${outsider.user_id} is not a member of this conversation` };
    out.mentions = m.mentions;
  }
  return out;
}

/** An action checked against its target: the row to store and what it does to the target's state. */
export interface CheckedAction {
  row: NewRow;
  targetSeq: number;
  change: (state: MessageState, at: number) => void;
  /** A delete for everyone: the target's copies and media are to be erased. */
  erases?: { media_id: string | null };
  /** Changes nothing (`played` by someone who already played it): the earlier action's ack answers it. */
  repeats?: true;
}

/**
 * Checks an edit, reaction, delete or played by `actorId`. The windows run on the server's clock, from the
 * time the server stored the message.
 */
export function checkAction(
  store: ConversationStore,
  states: MessageStates,
  archived: ArchivedTargets,
  actorId: string,
  m: Outgoing & { content_type: ActionType; target_id: string },
  now: number,
): ProtocolError | CheckedAction {
  const target = visibleMessage(store, states, archived, actorId, m.target_id);
  if (!target || !isPersonMessage(target)) return notFound;
  if (target.deleted) return deleted;
  const row: NewRow = {
    content: m.content,
    content_type: m.content_type,
    target: { server_msg_id: target.server_msg_id, seq: target.seq, sender_id: target.sender_id },
  };
  switch (m.content_type) {
    case "edit":
      if (target.sender_id !== actorId) return { code: ErrorCode.notEditable, message: "only its sender can edit a message" };
      if (target.content_type !== "text") return { code: ErrorCode.notEditable, message: "only text messages can be edited" };
      if (now - target.timestamp > Limits.editWindowMs) {
        return { code: ErrorCode.actionWindowClosed, message: `a message can be edited for ${Limits.editWindowMs / 60_000} minutes after it was sent` };
      }
      return {
        row,
        targetSeq: target.seq,
        change: (s, at) => {
          s.content = m.content;
          s.edited_at = at;
        },
      };
    case "reaction":
      return {
        row,
        targetSeq: target.seq,
        change: (s) => {
          s.reactions = { ...s.reactions, [actorId]: m.content };
        },
      };
    case "delete": {
      const own = target.sender_id === actorId;
      const admin = store.type === "group" && store.member(actorId)?.role === "admin";
      if (!own && !admin) return { code: ErrorCode.forbidden, message: "only its sender or a group admin can delete a message for everyone" };
      if (!admin && now - target.timestamp > Limits.deleteWindowMs) {
        return { code: ErrorCode.actionWindowClosed, message: `a message can be deleted for everyone for ${Limits.deleteWindowMs / 3_600_000} hours after it was sent` };
      }
      return {
        row: { ...row, content: "" },
        targetSeq: target.seq,
        change: (s) => {
          for (const key of Object.keys(s) as (keyof MessageState)[]) delete s[key];
          s.deleted = true;
          if (!own) s.deleted_by = actorId;
        },
        erases: { media_id: target.media?.media_id ?? null },
      };
    }
    case "played":
      if (target.content_type !== "audio" || !target.media?.voice) return { code: ErrorCode.notVoice, message: "only a voice message can be marked played" };
      if (target.sender_id === actorId) return { code: ErrorCode.ownMessage, message: "only its recipients can mark a voice message played" };
      return {
        row,
        targetSeq: target.seq,
        change: (s) => {
          if (!s.played_by?.includes(actorId)) s.played_by = [...(s.played_by ?? []), actorId];
        },
        // Played once is played: a repeat (another device, a replay) is answered with the first.
        ...(target.played_by?.includes(actorId) ? { repeats: true } : {}),
      };
  }
}
