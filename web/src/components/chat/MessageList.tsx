import type { MutableRef } from "preact/hooks";
import type { ChatEntry } from "../../../../src/client";
import { useApp } from "../../context";
import { dayLabel, sameDay, systemText } from "../../format";
import type { UserDirectory } from "../../users";
import { MessageBubble } from "./MessageBubble";
import { useHistoryScroll } from "./useHistoryScroll";
import type { OpenChat } from "./useOpenChat";

interface Props {
  chat: OpenChat;
  /** The newest page is in (or could not be had): show the log, and start loading older pages on scroll. */
  ready: boolean;
  loadError: string | null;
  /** Whether the reader is at the newest message; the log keeps them there as messages arrive. */
  atBottom: MutableRef<boolean>;
  onInfo(entry: ChatEntry): void;
}

/** The message log: older pages above (loaded on scroll), day separators, system notices and bubbles. */
export function MessageList({ chat, ready, loadError, atBottom, onInfo }: Props) {
  const { client, users } = useApp();
  const entries = client.entries(chat.id);
  const { scroller, sentinel, loadingOlder, onScroll } = useHistoryScroll(chat.id, ready, entries.length, atBottom);
  const hasOlder = client.hasOlder(chat.id);
  return (
    <div class="message-scroller" ref={scroller} role="log" aria-label="Messages" data-testid="message-list" tabIndex={0} onScroll={onScroll}>
      <div class="history-sentinel" ref={sentinel} aria-hidden={!loadingOlder}>
        {!ready || loadingOlder ? (
          <span class="spinner" role="status" aria-label="Loading" />
        ) : !hasOlder && entries.length > 0 ? (
          <span class="history-start">This is the start of the conversation.</span>
        ) : null}
      </div>
      {loadError && (
        <p class="load-error" role="alert">
          {loadError}
        </p>
      )}
      {ready && entries.length === 0 && !loadError && <p class="chat-empty muted">No messages yet. Say hello!</p>}
      {messageRows(entries, chat.group, users, onInfo, (e) => client.discardFailed(e.key))}
    </div>
  );
}

/**
 * The rows of the log: a separator before each day's first message, system events as centred notices,
 * and bubbles, a run of one sender's messages grouped (the sender named above the first, in groups).
 */
function messageRows(entries: ChatEntry[], group: boolean, users: UserDirectory, onInfo: (entry: ChatEntry) => void, onDiscard: (entry: ChatEntry) => void) {
  const rows = [];
  let prev: ChatEntry | undefined;
  for (const entry of entries) {
    const newDay = !prev || !sameDay(prev.timestamp, entry.timestamp);
    if (newDay) {
      rows.push(
        <div class="day-separator" key={`day-${entry.key}`}>
          <span>{dayLabel(entry.timestamp)}</span>
        </div>,
      );
    }
    if (entry.content_type === "system") {
      rows.push(
        <div class="system-notice" key={entry.key} data-testid="system-message" data-seq={entry.seq ?? ""}>
          <span>{systemText(entry.content, (u) => users.name(u, true))}</span>
        </div>,
      );
    } else {
      const continued = !newDay && prev?.sender_id === entry.sender_id && prev.content_type !== "system";
      rows.push(
        <MessageBubble
          key={entry.key}
          entry={entry}
          continued={continued}
          senderName={group && !entry.own && !continued ? users.name(entry.sender_id) : undefined}
          onInfo={onInfo}
          onDiscard={onDiscard}
        />,
      );
    }
    prev = entry;
  }
  return rows;
}
