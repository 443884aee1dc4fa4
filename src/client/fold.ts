import type { Message } from "../protocol/models";

/**
 * What an action row (edit, reaction, delete for everyone, played) does to the message it targets, as the
 * server folds it: an edit replaces the text (`edited_at` its time), a reaction sets or ("") takes
 * back its sender's emoji, played adds its sender to `played_by` once, a delete empties the message. Nothing changes a deleted message. Always
 * returns a new object when something changed, so a renderer can compare by reference.
 */
export function applyAction(target: Message, action: Pick<Message, "content_type" | "content" | "sender_id" | "timestamp">): Message {
  if (target.deleted) return target;
  switch (action.content_type) {
    case "edit":
      return { ...target, content: action.content, edited_at: action.timestamp };
    case "reaction": {
      const byUser = new Map((target.reactions ?? []).map((r) => [r.user_id, r.emoji] as const));
      if (action.content === "") byUser.delete(action.sender_id);
      else byUser.set(action.sender_id, action.content);
      const { reactions: _, ...rest } = target;
      return byUser.size > 0 ? { ...rest, reactions: [...byUser].map(([user_id, emoji]) => ({ user_id, emoji })) } : rest;
    }
    case "played":
      if (action.sender_id === target.sender_id || target.played_by?.includes(action.sender_id)) return target;
      return { ...target, played_by: [...(target.played_by ?? []), action.sender_id] };
    case "delete": {
      const { media: _m, reply_to: _r, mentions: _n, reactions: _x, edited_at: _e, played_by: _p, ...rest } = target;
      return {
        ...rest,
        content: "",
        deleted: true,
        ...(action.sender_id !== target.sender_id ? { deleted_by: action.sender_id } : {}),
      };
    }
    default:
      return target;
  }
}

/**
 * Folds a message's action rows into it: only those newer than its `state_seq` (the newest action
 * the server had already folded into the copy), in seq order, each moving `state_seq` on.
 */
export function foldActions(message: Message, actions: readonly Message[]): Message {
  let out = message;
  let stateSeq = message.state_seq ?? 0;
  for (const action of [...actions].sort((a, b) => a.seq - b.seq)) {
    if (action.seq <= stateSeq) continue;
    out = { ...applyAction(out, action), state_seq: action.seq };
    stateSeq = action.seq;
  }
  return out;
}

/** A reply's quote shows the quoted message deleted once it is: no snippet left. */
export function quoteDeleted(message: Message): Message {
  if (!message.reply_to || message.reply_to.deleted) return message;
  return { ...message, reply_to: { ...message.reply_to, snippet: "", deleted: true } };
}

