import type { JSX } from "preact";
import { useLayoutEffect, useRef } from "preact/hooks";
import type { ConversationSummary } from "../../../../src/client";
import { useApp } from "../../context";
import { errorText } from "../../errors";
import { ArchiveIcon, CheckIcon, MutedIcon, PinIcon } from "../icons";

const ITEMS = '[role="menuitem"]';
const HOUR = 3600_000;

/** Whether the conversation is muted now (`muted_until` in the future; MUTED_FOREVER for always). */
export const isMuted = (c: ConversationSummary, now = Date.now()) => c.muted_until !== null && c.muted_until > now;

/**
 * A chat's menu in the list (its ⋮ button, or a right click on the row): mute for 8 hours, a week or
 * always (or unmute), pin or unpin, mark as unread or read, archive or unarchive. Your own settings,
 * the same on all your devices. A native popover, like the message menu: Escape or a click outside
 * closes it; the arrow keys, Home and End move through the items.
 */
export function ChatMenu({ conversation: c, anchor, onClose, onError }: { conversation: ConversationSummary; anchor: HTMLElement; onClose(): void; onError(text: string): void }) {
  const { client } = useApp();
  const ref = useRef<HTMLDivElement>(null);
  const closed = useRef(false);
  const id = c.conversation_id;

  useLayoutEffect(() => {
    const menu = ref.current;
    if (!menu) return;
    if (!menu.matches(":popover-open")) menu.showPopover();
    const a = anchor.getBoundingClientRect();
    const m = menu.getBoundingClientRect();
    const top = a.bottom + 4 + m.height > innerHeight - 8 ? Math.max(8, a.top - 4 - m.height) : a.bottom + 4;
    menu.style.top = `${Math.round(top)}px`;
    menu.style.left = `${Math.round(Math.min(Math.max(8, a.right - m.width), innerWidth - 8 - m.width))}px`;
    menu.querySelector<HTMLElement>(ITEMS)?.focus();
  }, []);

  function dismiss() {
    if (closed.current) return;
    closed.current = true;
    onClose();
    if (anchor.isConnected) anchor.focus();
  }

  function choose(action: () => Promise<unknown>) {
    closed.current = true;
    onClose();
    if (anchor.isConnected) anchor.focus();
    action().catch((err: unknown) => onError(errorText(err)));
  }

  function onKeyDown(e: JSX.TargetedKeyboardEvent<HTMLDivElement>) {
    const items = [...e.currentTarget.querySelectorAll<HTMLElement>(ITEMS)];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const n = items.length;
    const to = e.key === "ArrowDown" ? at + 1 : e.key === "ArrowUp" ? at - 1 : e.key === "Home" ? 0 : e.key === "End" ? n - 1 : null;
    if (e.key === "Tab") {
      e.preventDefault();
      dismiss();
    } else if (to !== null && n > 0) {
      e.preventDefault();
      items[(to + n) % n]!.focus();
    }
  }

  const item = (label: string, icon: JSX.Element, action: () => Promise<unknown>) => (
    <button type="button" role="menuitem" tabIndex={-1} class="menu-item" onClick={() => choose(action)}>
      {icon}
      {label}
    </button>
  );
  const unread = c.unread_count > 0 || c.marked_unread;
  return (
    <div
      ref={ref}
      popover="auto"
      class="message-menu chat-menu"
      role="menu"
      aria-label="Chat actions"
      data-testid="chat-menu"
      onKeyDown={onKeyDown}
      onToggle={(e) => {
        if ((e as ToggleEvent).newState === "closed") dismiss();
      }}
    >
      {isMuted(c) ? (
        item("Unmute", <MutedIcon />, () => client.mute(id, null))
      ) : (
        <>
          {item("Mute for 8 hours", <MutedIcon />, () => client.mute(id, Date.now() + 8 * HOUR))}
          {item("Mute for 1 week", <MutedIcon />, () => client.mute(id, Date.now() + 7 * 24 * HOUR))}
          {item("Mute always", <MutedIcon />, () => client.mute(id, "always"))}
        </>
      )}
      <div class="menu-separator" role="separator" />
      {item(c.pinned_at !== null ? "Unpin" : "Pin", <PinIcon />, () => client.pin(id, c.pinned_at === null))}
      {unread
        ? item("Mark as read", <CheckIcon />, async () => client.markRead(id))
        : item("Mark as unread", <CheckIcon />, () => client.markUnread(id, true))}
      {item(c.archived ? "Unarchive" : "Archive", <ArchiveIcon />, () => client.setArchived([id], !c.archived))}
    </div>
  );
}
