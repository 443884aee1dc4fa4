import type { ConversationSummary } from "../../../../src/client";
import { conversationTitle, otherMember, useApp } from "../../context";
import { listTime, systemText, typingText } from "../../format";
import { mediaPreview } from "../../media";
import { Avatar } from "../Avatar";
import { MutedIcon, PinIcon } from "../icons";
import { isMuted } from "./ChatMenu";

/** One chat in the list: avatar and presence dot, name, time, the last message (or who is typing), unread count. */
export function ConversationRow({ conversation: c, active, onMenu }: { conversation: ConversationSummary; active: boolean; onMenu?(anchor: HTMLElement): void }) {
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
    // A disappearing message whose time is up shows nothing here either (the chat leaves it out too).
    else if (last.expires_at !== undefined && last.expires_at <= Date.now()) preview = "";
    else if (last.deleted) preview = last.sender_id === me ? "🚫 You deleted this message" : "🚫 This message was deleted";
    else {
      const who = last.sender_id === me ? "You: " : group ? `${users.name(last.sender_id)}: ` : "";
      preview = who + (last.content_type === "text" ? last.content : mediaPreview(last));
    }
  } else preview = group ? "Group created" : "Say hello 👋";
  const unread = c.unread_count;
  const muted = isMuted(c);
  const pinned = c.pinned_at !== null;
  return (
    <a
      href={`#/c/${encodeURIComponent(c.conversation_id)}`}
      class={`conversation-item${active ? " active" : ""}${unread || c.marked_unread ? " unread" : ""}`}
      data-testid="conversation-item"
      data-conversation-id={c.conversation_id}
      aria-current={active ? "page" : undefined}
      onClick={(e) => {
        e.preventDefault();
        open(c.conversation_id);
      }}
      onContextMenu={(e) => {
        if (!onMenu) return;
        // Right click: the chat's menu instead of the browser's.
        e.preventDefault();
        onMenu(e.currentTarget);
      }}
    >
      <span class="avatar-wrap">
        <Avatar userId={partner ?? c.conversation_id} name={title} group={group} photo={group ? c.photo : partner ? users.photo(partner) : undefined} />
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
          {muted && (
            <span class="row-flag" data-testid="muted-icon" role="img" aria-label="Muted" title="Muted">
              <MutedIcon />
            </span>
          )}
          {pinned && (
            <span class="row-flag" data-testid="pinned-icon" role="img" aria-label="Pinned" title="Pinned">
              <PinIcon />
            </span>
          )}
          <span class={`unread-badge${muted ? " quiet" : ""}`} data-testid="unread-badge" hidden={unread === 0} aria-label={`${unread} unread`}>
            {unread > 99 ? "99+" : unread}
          </span>
          {unread === 0 && c.marked_unread && <span class="unread-dot" data-testid="unread-dot" role="img" aria-label="Marked as unread" />}
        </span>
      </span>
    </a>
  );
}
