import { useRef } from "preact/hooks";
import type { ChatEntry } from "../../../../src/client";
import { useApp } from "../../context";
import { clock, hue } from "../../format";
import { mentionSegments } from "../../mentions";
import { BlockedIcon, ChevronDownIcon, ForwardIcon, SmileIcon, StarFilledIcon } from "../icons";
import type { ChatActions } from "./chatActions";
import { MediaContent } from "./Media";
import { forwardedLabel, isStored } from "./messageRules";
import { Quote } from "./Quote";
import { Reactions } from "./Reactions";
import { Tick } from "./Tick";

interface Props {
  entry: ChatEntry;
  /** Group chats name the sender above the first of a run of someone else's messages. */
  senderName?: string;
  /** Same sender as the message above: tighter spacing, no tail. */
  continued: boolean;
  actions: ChatActions;
}

/** How long a finger rests on a message before its menu opens (touch screens have no hover). */
const LONG_PRESS_MS = 500;

/**
 * One message: who forwarded or quoted what above it, its text (mentions highlighted) or media, the
 * time, "edited", a star and your tick; reactions under it. Once stored it has a menu: a hover toolbar
 * (React, Message actions) on desktop, a long press or right click anywhere on it.
 * Text is rendered as text (never HTML); line breaks are kept by CSS.
 */
export function MessageBubble({ entry, senderName, continued, actions }: Props) {
  const { users } = useApp();
  const own = entry.own;
  const state = entry.state ?? "sent";
  const deleted = entry.deleted === true;
  const media = !deleted && entry.media && entry.content_type !== "text" && entry.content_type !== "system";
  const stored = isStored(entry);
  const bubble = useRef<HTMLDivElement>(null);
  const press = useRef<{ timer: ReturnType<typeof setTimeout>; x: number; y: number } | null>(null);
  const forwarded = deleted ? "" : forwardedLabel(entry.forwarded);

  const cancelPress = () => {
    if (press.current) clearTimeout(press.current.timer);
    press.current = null;
  };

  const meta = (
    <span class="message-meta">
      {entry.starred && !deleted && (
        <span class="star-mark" role="img" aria-label="Starred" data-testid="star-mark">
          <StarFilledIcon />
        </span>
      )}
      {entry.edited_at !== undefined && !deleted && (
        <span class="edited-mark" data-testid="edited-mark">
          edited
        </span>
      )}
      <time dateTime={new Date(entry.timestamp).toISOString()}>{clock(entry.timestamp)}</time>
      {own && !deleted && <Tick entry={entry} state={state} onInfo={actions.info} />}
    </span>
  );

  return (
    <div
      class={`message ${own ? "own" : "other"}${continued ? " continued" : ""}${state === "failed" ? " failed" : ""}${deleted ? " deleted" : ""}`}
      data-testid="message"
      data-seq={entry.seq ?? ""}
      data-own={String(own)}
      data-state={own ? state : undefined}
      data-deleted={deleted ? "true" : undefined}
    >
      <div class="bubble-row">
        <div
          ref={bubble}
          class={`bubble${media ? " has-media" : ""}`}
          onContextMenu={(e) => {
            // Right click on desktop, long press on Android: the message menu instead of the browser's.
            if (!stored || (e.target as HTMLElement).closest("a, video")) return;
            e.preventDefault();
            cancelPress();
            actions.menu(entry, e.currentTarget, "actions");
          }}
          onPointerDown={(e) => {
            if (!stored || e.pointerType === "mouse") return;
            const anchor = e.currentTarget;
            press.current = { x: e.clientX, y: e.clientY, timer: setTimeout(() => actions.menu(entry, anchor, "actions"), LONG_PRESS_MS) };
          }}
          onPointerMove={(e) => {
            // A finger that moves is scrolling, not pressing.
            const p = press.current;
            if (p && Math.hypot(e.clientX - p.x, e.clientY - p.y) > 10) cancelPress();
          }}
          onPointerUp={cancelPress}
          onPointerCancel={cancelPress}
        >
          {senderName && (
            <div class="sender-name" style={{ "--sender-hue": hue(entry.sender_id) }}>
              {senderName}
            </div>
          )}
          {forwarded && (
            <div class="forwarded-label" data-testid="forwarded">
              <ForwardIcon />
              {forwarded}
            </div>
          )}
          {entry.reply_to && !deleted && <Quote quote={entry.reply_to} users={users} onJump={actions.jump} />}
          {deleted ? (
            <>
              <p class="message-text deleted-text" data-testid="deleted-text">
                <BlockedIcon />
                {deletedText(entry, users.me.user_id, (id) => users.name(id))}
              </p>
              {meta}
            </>
          ) : media ? (
            <>
              <MediaContent entry={entry} />
              <div class="media-footer">
                {entry.content.trim() && <MessageText entry={entry} me={users.me.user_id} />}
                {meta}
              </div>
            </>
          ) : (
            <>
              {entry.content_type === "text" ? <MessageText entry={entry} me={users.me.user_id} /> : <p class="message-text">[{entry.content_type}]</p>}
              {meta}
            </>
          )}
        </div>
        {stored && (
          <div class="message-tools">
            {!deleted && (
              <button type="button" class="tool-button" aria-label="React" title="React" onClick={(e) => actions.menu(entry, e.currentTarget, "react")}>
                <SmileIcon />
              </button>
            )}
            <button type="button" class="tool-button" aria-label="Message actions" title="More" aria-haspopup="menu" onClick={(e) => actions.menu(entry, e.currentTarget, "actions")}>
              <ChevronDownIcon />
            </button>
          </div>
        )}
      </div>
      {!deleted && <Reactions entry={entry} users={users} onReact={actions.react} />}
      {state === "failed" && (
        <div class="message-error">
          <span>Not sent: {entry.error?.message ?? "the server refused this message"}</span>
          <button type="button" class="link-button" onClick={() => actions.discard(entry)}>
            Discard
          </button>
        </div>
      )}
    </div>
  );
}

/** The text with its mentions highlighted (yours more strongly). */
function MessageText({ entry, me }: { entry: ChatEntry; me: string }) {
  return (
    <p class="message-text">
      {mentionSegments(entry.content, entry.mentions).map((s, i) =>
        s.userId ? (
          <span key={i} class={`mention${s.userId === me ? " mention-me" : ""}`} data-testid="mention" data-user-id={s.userId}>
            {s.text}
          </span>
        ) : (
          s.text
        ),
      )}
    </p>
  );
}

/** "You deleted this message", "This message was deleted", or who deleted it when an admin did. */
export function deletedText(entry: Pick<ChatEntry, "sender_id" | "deleted_by">, me: string, name: (userId: string) => string): string {
  const by = entry.deleted_by ?? entry.sender_id;
  if (by === me) return "You deleted this message";
  if (by !== entry.sender_id) return `This message was deleted by ${name(by)}`;
  return "This message was deleted";
}
