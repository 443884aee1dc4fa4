import { useEffect, useState } from "preact/hooks";
import { useApp } from "../../context";
import { Limits, type Conversation } from "../../../../src/client";
import { errorText } from "../../errors";
import { durationText, presenceText, typingText } from "../../format";
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
  /** What the list does not say of the conversation (its disappearing timer), once read. */
  details: Conversation | null;
  admin: boolean;
}

/** Back to the list, who the chat is with, the status line (typing, members, presence), and its actions. */
export function ChatHeader({ chat, titleId, typingNames, onGroupInfo, details, admin }: Props) {
  const { client, open, users } = useApp();
  const { id, summary, gone, group, partner, title } = chat;
  const [searching, setSearching] = useState(false);

  let status = "";
  if (typingNames.length) status = typingText(typingNames, group);
  else if (group) status = `${summary?.member_count ?? summary?.members.length ?? 0} members`;
  // While disconnected the last presence we heard may be stale: say nothing rather than "online".
  else if (partner && client.connectionState === "open") status = presenceText(client.presenceOf(partner));
  // Their "about" (if they show it to this user), under the status.
  const about = !group && partner ? users.about(partner) : undefined;

  return (
    <header class="chat-header">
      <button type="button" class="icon-button back-button" aria-label="Back to chats" onClick={() => open(null)}>
        <BackIcon />
      </button>
      <Avatar userId={partner ?? id} name={title} group={group} photo={group ? summary?.photo : partner ? users.photo(partner) : undefined} />
      <div class="chat-heading">
        <h2 id={titleId} class="chat-title">
          {title}
        </h2>
        <p class={`chat-status${typingNames.length ? " typing" : ""}`} data-testid="chat-status" aria-live="polite">
          {status}
        </p>
        {about && (
          <p class="contact-about" data-testid="contact-about">
            {about}
          </p>
        )}
      </div>
      {details && !gone && (
        <DisappearingSelect
          conversationId={id}
          ms={details.disappearing_ms ?? 0}
          // In a group, whoever may edit its info sets the timer; in a direct chat, either person.
          allowed={!group || admin || details.settings?.only_admins_edit_info === false}
        />
      )}
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

/** Disappearing messages: the timer for what is sent from now on (a system message tells everyone). */
function DisappearingSelect({ conversationId, ms, allowed }: { conversationId: string; ms: number; allowed: boolean }) {
  const { client } = useApp();
  const [busy, setBusy] = useState(false);
  const change = async (next: number) => {
    setBusy(true);
    try {
      await client.rest.call("updateGroup", { conversation_id: conversationId, body: { disappearing_ms: next } });
    } catch (err) {
      window.alert(errorText(err));
    }
    setBusy(false);
  };
  return (
    <label class="disappearing-select" title="Disappearing messages">
      <span aria-hidden="true">⏱</span>
      <span class="sr-only">Disappearing messages</span>
      <select value={String(ms)} disabled={busy || !allowed} data-testid="disappearing-select" onChange={(e) => void change(Number(e.currentTarget.value))}>
        {Limits.disappearingChoicesMs.map((choice) => (
          <option key={choice} value={String(choice)}>
            {choice === 0 ? "Off" : durationText(choice)}
          </option>
        ))}
      </select>
    </label>
  );
}
