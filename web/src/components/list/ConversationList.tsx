import { useEffect, useState } from "preact/hooks";
import { otherMember, useApp, useClientEvents, useMinuteTick, useUsers } from "../../context";
import { ChatIcon, GroupIcon, MoreIcon, SearchIcon } from "../icons";
import { SearchDialog } from "../SearchDialog";
import { ChatMenu } from "./ChatMenu";
import { ConversationRow } from "./ConversationRow";
import { Invitations } from "./Invitations";
import { NewChatDialog } from "./NewChatDialog";
import { NewGroupDialog } from "./NewGroupDialog";

/** The sidebar: actions, then every conversation, most recent first. */
export function ConversationList({ selected }: { selected: string | null }) {
  const { client, users } = useApp();
  useUsers();
  useMinuteTick();
  useClientEvents(["conversations", "typing", "presence", "connection"]);
  const [dialog, setDialog] = useState<"chat" | "group" | "search" | null>(null);
  const [showArchived, setShowArchived] = useState(false);
  const [menu, setMenu] = useState<{ conversationId: string; anchor: HTMLElement } | null>(null);
  const [menuError, setMenuError] = useState<string | null>(null);
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
  const menuFor = menu && all.find((c) => c.conversation_id === menu.conversationId);
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
      <button type="button" class="search-field" data-testid="search-open" onClick={() => setDialog("search")}>
        <SearchIcon /> <span>Search chats, people, messages</span>
      </button>
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
              <li key={c.conversation_id} class="conversation-entry">
                <ConversationRow
                  conversation={c}
                  active={c.conversation_id === selected}
                  onMenu={(anchor) => setMenu({ conversationId: c.conversation_id, anchor })}
                />
                <button
                  type="button"
                  class="tool-button chat-menu-button"
                  aria-label="Chat actions"
                  aria-haspopup="menu"
                  aria-expanded={menu?.conversationId === c.conversation_id}
                  data-testid="chat-menu-button"
                  title="More"
                  onClick={(e) => setMenu({ conversationId: c.conversation_id, anchor: e.currentTarget })}
                >
                  <MoreIcon />
                </button>
              </li>
            ))}
          </ul>
        )}
      </nav>
      {menuError && (
        <p class="list-error" role="alert" onClick={() => setMenuError(null)}>
          {menuError}
        </p>
      )}
      {menu && menuFor && (
        <ChatMenu
          key={menu.conversationId}
          conversation={menuFor}
          anchor={menu.anchor}
          onClose={() => setMenu(null)}
          onError={(text) => {
            setMenuError(text);
            setTimeout(() => setMenuError(null), 5_000);
          }}
        />
      )}
      {dialog === "chat" && <NewChatDialog onClose={() => setDialog(null)} />}
      {dialog === "group" && <NewGroupDialog onClose={() => setDialog(null)} />}
      {dialog === "search" && <SearchDialog onClose={() => setDialog(null)} />}
    </aside>
  );
}
