import { useEffect, useState } from "preact/hooks";
import type { ConversationSummary } from "../../../src/client";
import { conversationTitle, otherMember, useApp, useClientEvents, useMinuteTick, useUsers } from "../context";
import { listTime, systemText, typingText } from "../format";
import { mediaPreview } from "../media";
import { Avatar } from "./Avatar";
import { GroupIcon, ChatIcon } from "./icons";
import { NewChatDialog } from "./NewChatDialog";
import { NewGroupDialog } from "./NewGroupDialog";

/** The sidebar: actions, then every conversation, most recent first. */
export function ConversationList({ selected }: { selected: string | null }) {
  const { client, users } = useApp();
  useUsers();
  useMinuteTick();
  useClientEvents(["conversations", "typing", "presence", "connection"]);
  const [dialog, setDialog] = useState<"chat" | "group" | null>(null);
  const [showArchived, setShowArchived] = useState(false);
  // Until the first list arrives, "no conversations yet" would be a lie: show a spinner instead.
  const [loaded, setLoaded] = useState(() => client.conversations().length > 0);
  useEffect(() => {
    if (loaded) return;
    const off = client.on("conversations", () => setLoaded(true));
    const giveUp = setTimeout(() => setLoaded(true), 5_000);
    return () => {
      off();
      clearTimeout(giveUp);
    };
  }, [loaded]);
  const all = client.conversations();
  const archivedCount = all.filter((c) => c.archived).length;
  const conversations = all.filter((c) => c.archived === (showArchived && archivedCount > 0));
  const me = users.me.user_id;

  // Watch the presence of everyone we have a direct chat with (the SDK dedupes and renews).
  const partners = conversations.filter((c) => c.type === "direct").map((c) => otherMember(c, me)).filter((id): id is string => !!id);
  useEffect(() => {
    if (partners.length) client.subscribePresence(partners);
  }, [partners.join(",")]);

  return (
    <aside class="sidebar">
      <div class="sidebar-actions">
        <h2 class="sidebar-title">Chats</h2>
        <button type="button" class="button button-small" onClick={() => setDialog("chat")}>
          <ChatIcon /> New chat
        </button>
        <button type="button" class="button button-small" onClick={() => setDialog("group")}>
          <GroupIcon /> New group
        </button>
      </div>
      <Invitations />
      {(archivedCount > 0 || showArchived) && (
        <button type="button" class="button button-small button-ghost archived-toggle" aria-pressed={showArchived} onClick={() => setShowArchived(!showArchived)}>
          {showArchived ? "← Chats" : `Archived (${archivedCount})`}
        </button>
      )}
      <nav aria-label="Conversations" class="conversation-nav">
        {!loaded ? (
          <div class="list-loading">
            <span class="spinner" role="status" aria-label="Loading conversations" />
          </div>
        ) : conversations.length === 0 ? (
          <p class="list-empty muted">No conversations yet. Start one with “New chat”.</p>
        ) : (
          <ul class="conversation-list">
            {conversations.map((c) => (
              <li key={c.conversation_id}>
                <ConversationRow conversation={c} active={c.conversation_id === selected} />
              </li>
            ))}
          </ul>
        )}
      </nav>
      {dialog === "chat" && <NewChatDialog onClose={() => setDialog(null)} />}
      {dialog === "group" && <NewGroupDialog onClose={() => setDialog(null)} />}
    </aside>
  );
}

/** Invitations to groups (sent instead of an add the user's settings did not allow): join or decline. */
function Invitations() {
  const { client, users } = useApp();
  useClientEvents(["invitations"]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    client.refreshInvitations().catch(() => {});
  }, [client]);
  const invitations = client.invitations();
  if (invitations.length === 0 && !error) return null;
  async function answer(conversationId: string, accept: boolean) {
    setError(null);
    try {
      if (accept) await client.acceptInvitation(conversationId);
      else await client.declineInvitation(conversationId);
    } catch (err) {
      setError(err instanceof Error ? err.message : "Couldn't answer that invitation. Try again.");
    }
  }
  return (
    <section class="invitations" aria-label="Invitations">
      <ul>
        {invitations.map((i) => (
          <li key={i.conversation_id} class="invitation" data-testid="invitation">
            <span class="invitation-text">
              <strong>{users.name(i.inviter_id)}</strong> invited you to <strong>{i.name ?? "a group"}</strong>
            </span>
            <span class="invitation-actions">
              <button type="button" class="button button-small" onClick={() => void answer(i.conversation_id, true)}>
                Join
              </button>
              <button type="button" class="button button-small button-ghost" onClick={() => void answer(i.conversation_id, false)}>
                Decline
              </button>
            </span>
          </li>
        ))}
      </ul>
      {error && (
        <p class="form-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function ConversationRow({ conversation: c, active }: { conversation: ConversationSummary; active: boolean }) {
  const { client, users, open } = useApp();
  const me = users.me.user_id;
  const title = conversationTitle(c, users);
  const group = c.type === "group";
  const partner = group ? undefined : otherMember(c, me);
  // Presence heard before a disconnect may be stale; show everyone offline until we hear again.
  const presence = partner && client.connectionState === "open" ? client.presenceOf(partner) : undefined;
  const typers = client.typingIn(c.conversation_id).filter((id) => id !== me);
  const last = c.last_message;
  let preview = "";
  if (last) {
    if (last.content_type === "system") preview = systemText(last.content, (id) => users.name(id, true));
    else {
      const who = last.sender_id === me ? "You: " : group ? `${users.name(last.sender_id)}: ` : "";
      preview = who + (last.content_type === "text" ? last.content : mediaPreview(last));
    }
  } else preview = group ? "Group created" : "Say hello 👋";
  const unread = c.unread_count;
  return (
    <a
      href={`#/c/${encodeURIComponent(c.conversation_id)}`}
      class={`conversation-item${active ? " active" : ""}${unread ? " unread" : ""}`}
      data-testid="conversation-item"
      data-conversation-id={c.conversation_id}
      aria-current={active ? "page" : undefined}
      onClick={(e) => {
        e.preventDefault();
        open(c.conversation_id);
      }}
    >
      <span class="avatar-wrap">
        <Avatar userId={partner ?? c.conversation_id} name={title} group={group} />
        {!group && (
          <span
            class={`presence-dot ${presence?.status === "online" ? "online" : "offline"}`}
            data-testid="presence-dot"
            data-status={presence?.status === "online" ? "online" : "offline"}
            role="img"
            aria-label={presence?.status === "online" ? "Online" : "Offline"}
          />
        )}
      </span>
      <span class="conversation-main">
        <span class="conversation-top">
          <span class="conversation-name">{title}</span>
          {last && (
            <time class="conversation-time" dateTime={new Date(last.timestamp).toISOString()}>
              {listTime(last.timestamp)}
            </time>
          )}
        </span>
        <span class="conversation-bottom">
          {typers.length ? (
            <span class="conversation-preview typing">{typingText(typers.map((id) => users.name(id)), group)}</span>
          ) : (
            <span class="conversation-preview">{preview}</span>
          )}
          <span class="unread-badge" data-testid="unread-badge" hidden={unread === 0} aria-label={`${unread} unread`}>
            {unread > 99 ? "99+" : unread}
          </span>
        </span>
      </span>
    </a>
  );
}
