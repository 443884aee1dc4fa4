import { useEffect, useState } from "preact/hooks";
import { useApp } from "../../context";
import { presenceText, typingText } from "../../format";
import { Avatar } from "../Avatar";
import { BackIcon, InfoIcon, SearchIcon } from "../icons";
import { SearchDialog } from "../SearchDialog";
import type { OpenChat } from "./useOpenChat";

interface Props {
  chat: OpenChat;
  /** The id of the title, which names the chat's section. */
  titleId: string;
  /** Names of the others typing here. */
  typingNames: string[];
  onGroupInfo(): void;
}

/** Back to the list, who the chat is with, the status line (typing, members, presence), and its actions. */
export function ChatHeader({ chat, titleId, typingNames, onGroupInfo }: Props) {
  const { client, open } = useApp();
  const { id, summary, gone, group, partner, title } = chat;
  const [searching, setSearching] = useState(false);

  let status = "";
  if (typingNames.length) status = typingText(typingNames, group);
  else if (group) status = `${summary?.member_count ?? summary?.members.length ?? 0} members`;
  // While disconnected the last presence we heard may be stale: say nothing rather than "online".
  else if (partner && client.connectionState === "open") status = presenceText(client.presenceOf(partner));

  return (
    <header class="chat-header">
      <button type="button" class="icon-button back-button" aria-label="Back to chats" onClick={() => open(null)}>
        <BackIcon />
      </button>
      <Avatar userId={partner ?? id} name={title} group={group} />
      <div class="chat-heading">
        <h2 id={titleId} class="chat-title">
          {title}
        </h2>
        <p class={`chat-status${typingNames.length ? " typing" : ""}`} data-testid="chat-status" aria-live="polite">
          {status}
        </p>
      </div>
      {!gone && (
        <button type="button" class="icon-button" aria-label="Search in chat" title="Search in chat" onClick={() => setSearching(true)}>
          <SearchIcon />
        </button>
      )}
      {searching && <SearchDialog conversationId={id} onClose={() => setSearching(false)} />}
      {group && !gone && (
        <button type="button" class="icon-button" aria-label="Group info" onClick={onGroupInfo}>
          <InfoIcon />
        </button>
      )}
      {!group && partner && <BlockButton userId={partner} name={title} />}
    </header>
  );
}

/**
 * Block or unblock the other person of a direct chat: their messages, typing, presence and group
 * adds stop reaching you (they are not told).
 */
function BlockButton({ userId, name }: { userId: string; name: string }) {
  const { client } = useApp();
  const [blocked, setBlocked] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    client.rest
      .call("blocked")
      .then(({ user_ids }) => live && setBlocked(user_ids.includes(userId)))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [client, userId]);
  if (blocked === null) return null;
  async function toggle() {
    setBusy(true);
    try {
      await client.rest.call(blocked ? "unblock" : "block", { user_id: userId });
      setBlocked(!blocked);
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" class="button button-small button-ghost" disabled={busy} aria-pressed={blocked} onClick={() => void toggle()}>
      {blocked ? `Unblock ${name}` : "Block"}
    </button>
  );
}
