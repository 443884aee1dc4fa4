import type { ChatEntry } from "../../../../src/client";

/** How the menu was opened: the full menu, or straight to the reaction picker. */
export type MenuMode = "actions" | "react";

/** What a message row can ask of its chat; ChatView answers each with the SDK, the composer or a dialog. */
export interface ChatActions {
  /** Who received and read one of your messages. */
  info(entry: ChatEntry): void;
  /** Drop one of your messages the server refused. */
  discard(entry: ChatEntry): void;
  /** Open the message menu at `anchor` (its button, or the bubble after a long press or right click). */
  menu(entry: ChatEntry, anchor: HTMLElement, mode: MenuMode): void;
  reply(entry: ChatEntry): void;
  edit(entry: ChatEntry): void;
  forward(entry: ChatEntry): void;
  /** Ask how to delete it (for me, or for everyone when allowed). */
  remove(entry: ChatEntry): void;
  /** Set your reaction, or take it back (null). */
  react(entry: ChatEntry, emoji: string | null): void;
  star(entry: ChatEntry, starred: boolean): void;
  /** Scroll to the message with this seq (loading older history if needed) and highlight it. */
  jump(seq: number): void;
}

/** What the composer is doing besides writing a new message: replying to one, or editing one of yours. */
export interface ComposeIntent {
  kind: "reply" | "edit";
  entry: ChatEntry;
}
