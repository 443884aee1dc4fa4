import type { Mention } from "../../src/client";

/** A mention in the composer: the wire mention plus the text it stands for, so an edit through it is noticed. */
export interface DraftMention extends Mention {
  text: string;
}

/** The "@…" being typed just before the caret: where its "@" is and what follows it. */
export interface MentionQuery {
  start: number;
  query: string;
}

/** Longest name fragment the autocomplete keeps following after an "@". */
const QUERY_MAX = 30;

/**
 * The mention being typed at `caret`, if any: an "@" at the start or after white space, then up to
 * QUERY_MAX characters with no line break and no second "@" (names have spaces, so spaces are allowed).
 */
export function mentionQuery(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const match = /(?:^|\s)@([^@\n]*)$/u.exec(before);
  if (!match) return null;
  const query = match[1]!;
  if (query.length > QUERY_MAX || query.startsWith(" ")) return null;
  return { start: caret - query.length - 1, query };
}

/** Whether a name answers a query: a prefix of the name or of one of its words, ignoring case. */
export function matchesName(name: string, query: string): boolean {
  const q = query.toLocaleLowerCase();
  const n = name.toLocaleLowerCase();
  return n.startsWith(q) || n.split(/\s+/).some((word) => word.startsWith(q));
}

/**
 * Carries mentions over one edit of the text (`before` → `after`): the changed span is what lies
 * between their common prefix and suffix. Mentions before it stay, mentions after it move by the
 * change in length, mentions it touches are dropped, and any whose text no longer reads the same goes too.
 */
export function followEdit(mentions: DraftMention[], before: string, after: string): DraftMention[] {
  if (mentions.length === 0 || before === after) return mentions;
  let start = 0;
  const shorter = Math.min(before.length, after.length);
  while (start < shorter && before[start] === after[start]) start++;
  let endBefore = before.length;
  let endAfter = after.length;
  while (endBefore > start && endAfter > start && before[endBefore - 1] === after[endAfter - 1]) {
    endBefore--;
    endAfter--;
  }
  const delta = endAfter - endBefore;
  return mentions
    .flatMap((m) => {
      if (m.offset + m.length <= start) return [m];
      if (m.offset >= endBefore) return [{ ...m, offset: m.offset + delta }];
      return [];
    })
    .filter((m) => after.slice(m.offset, m.offset + m.length) === m.text);
}

/** Replaces the query being typed with "@Name " and records the mention; returns the new text and caret. */
export function insertMention(
  text: string,
  mentions: DraftMention[],
  query: MentionQuery,
  caret: number,
  userId: string,
  name: string,
): { text: string; mentions: DraftMention[]; caret: number } {
  const label = `@${name}`;
  const next = text.slice(0, query.start) + label + " " + text.slice(caret);
  const kept = followEdit(mentions, text, next).filter((m) => m.offset + m.length <= query.start || m.offset >= query.start + label.length);
  const mention: DraftMention = { user_id: userId, offset: query.start, length: label.length, text: label };
  return { text: next, mentions: [...kept, mention].sort((a, b) => a.offset - b.offset), caret: query.start + label.length + 1 };
}

/** The mentions as they go on the wire (offsets in UTF-16 code units of the text sent). */
export function wireMentions(mentions: DraftMention[]): Mention[] {
  return mentions.map(({ user_id, offset, length }) => ({ user_id, offset, length }));
}

/** A message's text cut into plain runs and mentions, for rendering; mentions outside the text are ignored. */
export function mentionSegments(content: string, mentions: Mention[] | undefined): { text: string; userId?: string }[] {
  if (!mentions?.length) return [{ text: content }];
  const segments: { text: string; userId?: string }[] = [];
  let at = 0;
  for (const m of [...mentions].sort((a, b) => a.offset - b.offset)) {
    if (m.offset < at || m.offset + m.length > content.length) continue;
    if (m.offset > at) segments.push({ text: content.slice(at, m.offset) });
    segments.push({ text: content.slice(m.offset, m.offset + m.length), userId: m.user_id });
    at = m.offset + m.length;
  }
  if (at < content.length) segments.push({ text: content.slice(at) });
  return segments;
}
