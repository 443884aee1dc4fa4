import { Limits, type ChatEntry, type ConversationSummary, type QuotedMessage } from "../../../../src/client";

/**
 * What the menu offers for a message. The server decides (with its own clock); these only keep the
 * menu from offering what it would refuse.
 */

/** Stored on the server (has a server_msg_id), so actions can name it. */
export function isStored(entry: ChatEntry): entry is ChatEntry & { server_msg_id: string; seq: number } {
  return entry.server_msg_id !== null && entry.seq !== null;
}

/** Your own text message, not deleted, inside the edit window. */
export function canEdit(entry: ChatEntry, now = Date.now()): boolean {
  return isStored(entry) && entry.own && entry.content_type === "text" && !entry.deleted && now - entry.timestamp < Limits.editWindowMs;
}

/** Your own message inside the delete window, or any message of a group you are an admin of. */
export function canDeleteForEveryone(entry: ChatEntry, admin: boolean, now = Date.now()): boolean {
  if (!isStored(entry) || entry.deleted) return false;
  return admin || (entry.own && now - entry.timestamp < Limits.deleteWindowMs);
}

/** Whether you administer this group (admins may delete anyone's message for everyone). */
export function isGroupAdmin(summary: ConversationSummary | undefined, me: string): boolean {
  return summary?.type === "group" && summary.members.some((m) => m.user_id === me && m.role === "admin");
}

/** "Forwarded", or "Forwarded many times" past Limits.forwardedManyTimes hops; empty when not forwarded. */
export function forwardedLabel(hops: number | undefined): string {
  if (!hops) return "";
  return hops >= Limits.forwardedManyTimes ? "Forwarded many times" : "Forwarded";
}

const kindLabel = { image: "📷 Photo", video: "🎥 Video", document: "📄 Document", audio: "🎤 Voice message" } as const;

/** The line a quote shows: the snippet, or the media kind (with its caption), or that it was deleted. */
export function quoteText(quote: Pick<QuotedMessage, "content_type" | "snippet" | "deleted">): string {
  if (quote.deleted) return "This message was deleted";
  if (quote.content_type === "text") return quote.snippet;
  const label = kindLabel[quote.content_type];
  return quote.snippet ? `${label} · ${quote.snippet}` : label;
}

/** The same line for a message in this chat (the reply bar, before the server has made the quote). */
export function entryQuoteText(entry: ChatEntry): string {
  if (entry.deleted) return "This message was deleted";
  const snippet = (entry.content.split("\n", 1)[0] ?? "").slice(0, Limits.quoteSnippetMax);
  const kind = entry.content_type;
  if (kind === "image" || kind === "video" || kind === "document" || kind === "audio") return quoteText({ content_type: kind, snippet });
  return snippet;
}
