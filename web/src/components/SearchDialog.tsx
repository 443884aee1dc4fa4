import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Limits, type ConversationSummary, type Message, type User } from "../../../src/client";
import { conversationTitle, otherMember, useApp, useUsers } from "../context";
import { errorText } from "../errors";
import { listTime } from "../format";
import { mediaPreview } from "../media";
import { Avatar } from "./Avatar";
import { Dialog } from "./Dialog";

/** How long typing pauses before the search is asked. */
const TYPING_PAUSE_MS = 250;

interface Found {
  conversations: ConversationSummary[];
  people: User[];
  messages: Message[];
  has_more?: boolean;
}

/** The words typed, lower-cased: what the server matches as prefixes, and what is marked in the results. */
function wordsOf(q: string): string[] {
  return q.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** `text` with the words that start with a typed word marked. */
function highlighted(text: string, words: string[]): ComponentChildren {
  if (words.length === 0) return text;
  return text.split(/([\p{L}\p{N}]+)/u).map((part, i) =>
    i % 2 === 1 && words.some((w) => part.normalize("NFKC").toLowerCase().startsWith(w)) ? <mark key={i}>{part}</mark> : part,
  );
}

/**
 * Search: across all your chats (chats and people by name, and messages), or, with `conversationId`,
 * one chat's messages. Clicking a message opens its chat scrolled to it.
 */
export function SearchDialog({ conversationId, onClose }: { conversationId?: string; onClose(): void }) {
  const { client, open, openMessage } = useApp();
  const users = useUsers();
  const [q, setQ] = useState("");
  const [found, setFound] = useState<Found | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const typed = q.trim();
    if (wordsOf(typed).length === 0) {
      setFound(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      setBusy(true);
      const asked = conversationId
        ? client.searchIn(conversationId, typed).then((r) => ({ conversations: [], people: [], ...r }))
        : client.search(typed);
      asked
        .then((r) => {
          if (!live) return;
          for (const p of r.people) users.put(p);
          setFound(r);
          setError(null);
        })
        .catch((err: unknown) => live && setError(errorText(err)))
        .finally(() => live && setBusy(false));
    }, TYPING_PAUSE_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [q, conversationId]);

  const words = wordsOf(q);
  const me = users.me.user_id;
  const where = (id: string) => {
    const summary = client.conversation(id);
    return summary ? conversationTitle(summary, users) : "A conversation";
  };
  async function openPerson(person: User) {
    const existing = client.conversations().find((c) => c.type === "direct" && otherMember(c, me) === person.user_id);
    if (existing) return onClose(), open(existing.conversation_id);
    // Closed only once the chat exists: a refusal shows here.
    const { conversation } = await client.rest.call("createConversation", { body: { type: "direct", member_ids: [person.user_id] } });
    await client.refreshConversations();
    onClose();
    open(conversation.conversation_id);
  }
  const nothing = found && found.conversations.length === 0 && found.people.length === 0 && found.messages.length === 0;

  return (
    <Dialog title={conversationId ? `Search in ${where(conversationId)}` : "Search"} variant="sheet" onClose={onClose}>
      <input
        type="search"
        class="search-input"
        aria-label={conversationId ? "Search messages in this chat" : "Search chats, people and messages"}
        placeholder={conversationId ? "Search messages" : "Search chats, people, messages"}
        maxLength={Limits.searchQueryMax}
        value={q}
        autoFocus
        onInput={(e) => setQ((e.target as HTMLInputElement).value)}
      />
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
      {busy && !found && <p class="muted">Searching…</p>}
      {nothing && <p class="muted">Nothing found for “{q.trim()}”.</p>}
      {found && found.conversations.length > 0 && (
        <section class="search-section" aria-label="Chats">
          <h3 class="search-heading">Chats</h3>
          <ul class="starred-list">
            {found.conversations.map((c) => (
              <li key={c.conversation_id} class="starred-item" data-testid="search-chat">
                <button type="button" class="starred-open" onClick={() => (onClose(), open(c.conversation_id))}>
                  <Avatar
                    userId={otherMember(c, me) ?? c.conversation_id}
                    name={conversationTitle(c, users)}
                    group={c.type === "group"}
                    size="small"
                    photo={c.type === "group" ? c.photo : otherMember(c, me) ? users.photo(otherMember(c, me)!) : undefined}
                  />
                  <span class="starred-main">
                    <span class="starred-sender">{highlighted(conversationTitle(c, users), words)}</span>
                    <span class="starred-text">{c.type === "group" ? `${c.member_count ?? c.members.length} members` : "Direct chat"}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {found && found.people.length > 0 && (
        <section class="search-section" aria-label="People">
          <h3 class="search-heading">People</h3>
          <ul class="starred-list">
            {found.people.map((p) => (
              <li key={p.user_id} class="starred-item" data-testid="search-person">
                <button type="button" class="starred-open" onClick={() => void openPerson(p).catch((err: unknown) => setError(errorText(err)))}>
                  <Avatar userId={p.user_id} name={p.display_name} size="small" photo={p.photo} />
                  <span class="starred-main">
                    <span class="starred-sender">{highlighted(p.display_name, words)}</span>
                    <span class="starred-text">@{highlighted(p.username, words)}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      {found && found.messages.length > 0 && (
        <section class="search-section" aria-label="Messages">
          <h3 class="search-heading">Messages</h3>
          <ul class="starred-list">
            {found.messages.map((m) => (
              <li key={`${m.conversation_id}/${m.server_msg_id}`} class="starred-item" data-testid="search-message">
                <button type="button" class="starred-open" onClick={() => (onClose(), openMessage(m.conversation_id, m.seq))}>
                  <Avatar userId={m.sender_id} name={users.name(m.sender_id)} size="small" />
                  <span class="starred-main">
                    <span class="starred-top">
                      <span class="starred-sender">{users.name(m.sender_id, true)}</span>
                      {!conversationId && <span class="starred-where">{where(m.conversation_id)}</span>}
                      <time class="starred-time" dateTime={new Date(m.timestamp).toISOString()}>
                        {listTime(m.timestamp)}
                      </time>
                    </span>
                    <span class="starred-text">{highlighted(m.content_type === "text" ? m.content : `${mediaPreview(m)}`, words)}</span>
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Dialog>
  );
}
