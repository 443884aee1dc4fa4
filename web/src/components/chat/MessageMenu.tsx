import type { JSX } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ChatEntry } from "../../../../src/client";
import { useApp } from "../../context";
import { EditIcon, ForwardIcon, PlusIcon, ReplyIcon, StarFilledIcon, StarIcon, TrashIcon } from "../icons";
import type { ChatActions, MenuMode } from "./chatActions";
import { PICKER_EMOJIS, QUICK_COUNT } from "./emoji";
import { canEdit } from "./messageRules";

export interface MenuTarget {
  entry: ChatEntry;
  /** What it was opened from: it is placed beside this, and focus goes back to it when dismissed. */
  anchor: HTMLElement;
  mode: MenuMode;
}

interface Props {
  target: MenuTarget;
  actions: ChatActions;
  onClose(): void;
}

const ITEMS = '[role="menuitem"], [role="menuitemradio"]';
/** Where each key moves focus, from the focused item's index `at` among `n`. */
const MOVES: Record<string, (at: number, n: number) => number> = {
  ArrowDown: (at) => at + 1,
  ArrowRight: (at) => at + 1,
  ArrowUp: (at) => at - 1,
  ArrowLeft: (at) => at - 1,
  Home: () => 0,
  End: (_, n) => n - 1,
};

/**
 * A message's menu: a row of quick reactions (or, in "react" mode, the whole picker), then reply, edit,
 * forward, star and delete, as far as they apply. A native popover: it sits above everything, and the
 * browser closes it on Escape or a click outside. Arrow keys, Home and End move through the items.
 */
export function MessageMenu({ target, actions, onClose }: Props) {
  const { client, users } = useApp();
  const ref = useRef<HTMLDivElement>(null);
  // Removing the popover after a choice still queues its toggle event: that must not count as a dismissal.
  const closed = useRef(false);
  const [mode, setMode] = useState(target.mode);
  const { entry, anchor } = target;
  const me = users.me.user_id;
  const mine = entry.reactions?.find((r) => r.user_id === me)?.emoji ?? null;

  useLayoutEffect(() => {
    const menu = ref.current;
    if (!menu) return;
    if (!menu.matches(":popover-open")) menu.showPopover();
    place(menu, anchor, entry.own);
    menu.querySelector<HTMLElement>(mode === "react" ? '[role="menuitemradio"]' : ITEMS)?.focus();
  }, [mode]);

  /** Closed without choosing (Escape, a click outside, Tab): focus goes back where it came from. */
  function dismiss() {
    if (closed.current) return;
    closed.current = true;
    onClose();
    if (anchor.isConnected && anchor.matches("button")) anchor.focus();
  }

  function choose(action: () => void) {
    closed.current = true;
    onClose();
    action();
  }

  function react(emoji: string) {
    choose(() => actions.react(entry, emoji === mine ? null : emoji));
  }

  function onKeyDown(e: JSX.TargetedKeyboardEvent<HTMLDivElement>) {
    const items = [...e.currentTarget.querySelectorAll<HTMLElement>(ITEMS)];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const n = items.length;
    const move = MOVES[e.key];
    if (e.key === "Tab") {
      e.preventDefault();
      dismiss();
    } else if (move && n > 0) {
      e.preventDefault();
      items[(move(at, n) + n) % n]!.focus();
    }
  }

  const emojiButton = (emoji: string) => (
    <button
      key={emoji}
      type="button"
      role="menuitemradio"
      aria-checked={emoji === mine}
      tabIndex={-1}
      class={`emoji-button${emoji === mine ? " chosen" : ""}`}
      aria-label={emoji === mine ? `Remove your reaction ${emoji}` : `React with ${emoji}`}
      title={emoji === mine ? "Remove your reaction" : undefined}
      onClick={() => react(emoji)}
    >
      {emoji}
    </button>
  );

  const item = (label: string, icon: JSX.Element, action: () => void, danger = false) => (
    <button type="button" role="menuitem" tabIndex={-1} class={`menu-item${danger ? " danger" : ""}`} onClick={() => choose(action)}>
      {icon}
      {label}
    </button>
  );

  const recent = client.recentEmojis();
  return (
    <div
      ref={ref}
      popover="auto"
      class={`message-menu${mode === "react" ? " picking" : ""}`}
      role="menu"
      aria-label={mode === "react" ? "React to message" : "Message actions"}
      data-testid="message-menu"
      onKeyDown={onKeyDown}
      onToggle={(e) => {
        if ((e as ToggleEvent).newState === "closed") dismiss();
      }}
    >
      {entry.deleted ? (
        item("Delete for me", <TrashIcon />, () => actions.remove(entry), true)
      ) : mode === "react" ? (
        <>
          <div class="emoji-section" role="group" aria-label="Recent">
            <p class="emoji-heading" aria-hidden="true">
              Recent
            </p>
            <div class="emoji-grid">{recent.map(emojiButton)}</div>
          </div>
          <div class="emoji-section" role="group" aria-label="All reactions">
            <p class="emoji-heading" aria-hidden="true">
              Reactions
            </p>
            <div class="emoji-grid">{PICKER_EMOJIS.filter((e) => !recent.includes(e)).map(emojiButton)}</div>
          </div>
        </>
      ) : (
        <>
          <div class="reaction-bar" role="group" aria-label="Quick reactions">
            {recent.slice(0, QUICK_COUNT).map(emojiButton)}
            <button type="button" role="menuitem" tabIndex={-1} class="emoji-button more-reactions" aria-label="More reactions" title="More reactions" onClick={() => setMode("react")}>
              <PlusIcon />
            </button>
          </div>
          <div class="menu-separator" role="separator" />
          {item("Reply", <ReplyIcon />, () => actions.reply(entry))}
          {canEdit(entry) && item("Edit", <EditIcon />, () => actions.edit(entry))}
          {item("Forward", <ForwardIcon />, () => actions.forward(entry))}
          {entry.starred ? item("Unstar", <StarFilledIcon />, () => actions.star(entry, false)) : item("Star", <StarIcon />, () => actions.star(entry, true))}
          {item("Delete", <TrashIcon />, () => actions.remove(entry), true)}
        </>
      )}
    </div>
  );
}

/** Beside the anchor: below it (above when there is no room), lined up with its end for your own messages, inside the window. */
function place(menu: HTMLElement, anchor: HTMLElement, alignEnd: boolean): void {
  const a = anchor.getBoundingClientRect();
  const m = menu.getBoundingClientRect();
  const margin = 8;
  let top = a.bottom + 4;
  if (top + m.height > innerHeight - margin) top = Math.max(margin, a.top - 4 - m.height);
  const left = Math.min(Math.max(margin, alignEnd ? a.right - m.width : a.left), innerWidth - margin - m.width);
  menu.style.top = `${Math.round(top)}px`;
  menu.style.left = `${Math.round(left)}px`;
}
