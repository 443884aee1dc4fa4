import type { MutableRef } from "preact/hooks";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ChatEntry } from "../../../../src/client";
import { useApp } from "../../context";
import { dayLabel, sameDay, systemText } from "../../format";
import type { UserDirectory } from "../../users";
import type { ChatActions } from "./chatActions";
import { MessageBubble } from "./MessageBubble";
import { MessageMenu, type MenuTarget } from "./MessageMenu";
import { useHistoryScroll } from "./useHistoryScroll";
import { useJumpToMessage } from "./useJumpToMessage";
import type { OpenChat } from "./useOpenChat";

/** A message to bring into view once the log is ready (a starred message opened from the list); `nonce` repeats a jump. */
export interface FocusRequest {
  seq: number;
  nonce: number;
}

interface Props {
  chat: OpenChat;
  /** The newest page is in (or could not be had): show the log, and start loading older pages on scroll. */
  ready: boolean;
  loadError: string | null;
  /** Whether the reader is at the newest message; the log keeps them there as messages arrive. */
  atBottom: MutableRef<boolean>;
  /** What the message rows and their menu ask for; the list itself opens the menu and does the jumping. */
  actions: Omit<ChatActions, "menu" | "jump">;
  focus: FocusRequest | null;
  /** The focus request was carried out (or could not be). */
  onFocused(): void;
}

/** The message log: older pages above (loaded on scroll), day separators, system notices, bubbles, and a message's menu. */
export function MessageList({ chat, ready, loadError, atBottom, actions, focus, onFocused }: Props) {
  const { client, users } = useApp();
  const entries = client.entries(chat.id);
  const { scroller, sentinel, loadingOlder, onScroll } = useHistoryScroll(chat.id, ready, entries.length, atBottom);
  const { jump, notice } = useJumpToMessage(chat.id, scroller, atBottom);
  const [menu, setMenu] = useState<MenuTarget | null>(null);
  const hasOlder = client.hasOlder(chat.id);
  const rowActions: ChatActions = { ...actions, menu: (entry, anchor, mode) => setMenu({ entry, anchor, mode }), jump: (seq) => void jump(seq) };
  // The menu follows its message as it changes (a reaction arrives) and closes if it goes (deleted for me).
  const menuEntry = menu && entries.find((e) => e.key === menu.entry.key);
  // What was unread when the chat opened (read once, before reading clears it): a divider goes above
  // the first of those messages, fixed once the newest page is in, and the log opens there.
  const [unreadAtOpen] = useState(() => client.conversation(chat.id)?.unread_count ?? 0);
  const unreadFrom = useRef<string | null | undefined>(undefined);
  if (ready && unreadFrom.current === undefined) unreadFrom.current = firstUnread(entries, unreadAtOpen);
  const openedAtUnread = useRef(false);
  useLayoutEffect(() => {
    const el = scroller.current;
    const divider = el?.querySelector<HTMLElement>('[data-testid="unread-divider"]');
    if (!ready || openedAtUnread.current || !el || !divider) return;
    openedAtUnread.current = true;
    // Only when the first unread message is above the screen (opened at the bottom, as always).
    const top = divider.getBoundingClientRect().top - el.getBoundingClientRect().top + el.scrollTop;
    if (top < el.scrollTop) {
      el.scrollTop = Math.max(0, top - 8);
      atBottom.current = false;
    }
  });

  useEffect(() => {
    if (!ready || !focus) return;
    void jump(focus.seq).finally(onFocused);
  }, [ready, focus?.nonce]);

  return (
    <>
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
      {messageRows(entries, chat.group, users, rowActions, unreadFrom.current ? { key: unreadFrom.current, count: unreadAtOpen } : null)}
      {notice && (
        <p class="jump-notice" role="status">
          {notice}
        </p>
      )}
    </div>
    {menu && menuEntry && (
      <MessageMenu
        key={`${menu.entry.key}-${menu.mode}`}
        target={{ ...menu, entry: menuEntry }}
        actions={rowActions}
        // A late close (the popover's toggle event) must not close a menu opened since on another message.
        onClose={() => setMenu((now) => (now === menu ? null : now))}
      />
    )}
    </>
  );
}

/**
 * The rows of the log: a separator before each day's first message, system events as centred notices,
 * and bubbles, a run of one sender's messages grouped (the sender named above the first, in groups).
 */
function messageRows(entries: ChatEntry[], group: boolean, users: UserDirectory, actions: ChatActions, unread: { key: string; count: number } | null) {
  const rows = [];
  let prev: ChatEntry | undefined;
  for (const entry of entries) {
    if (entry.key === unread?.key) {
      rows.push(
        <div class="unread-divider" key="unread-divider" data-testid="unread-divider" role="separator" aria-label={unreadLabel(unread.count)}>
          <span>{unreadLabel(unread.count)}</span>
        </div>,
      );
    }
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
          actions={actions}
        />,
      );
    }
    prev = entry;
  }
  return rows;
}

const unreadLabel = (n: number) => (n === 1 ? "1 unread message" : `${n} unread messages`);

/** The first of the `count` newest messages from others (the oldest loaded one, if not all are loaded), or null. */
function firstUnread(entries: ChatEntry[], count: number): string | null {
  if (count <= 0) return null;
  let seen = 0;
  let oldest: string | null = null;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.own) continue;
    oldest = e.key;
    if (++seen === count) break;
  }
  return oldest;
}
