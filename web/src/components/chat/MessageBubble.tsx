import type { ChatEntry } from "../../../../src/client";
import { clock, hue } from "../../format";
import { MediaContent } from "./Media";
import { Tick } from "./Tick";

interface Props {
  entry: ChatEntry;
  /** Group chats name the sender above the first of a run of someone else's messages. */
  senderName?: string;
  /** Same sender as the message above: tighter spacing, no tail. */
  continued: boolean;
  onInfo(entry: ChatEntry): void;
  onDiscard(entry: ChatEntry): void;
}

/** One message. Text is rendered as text (never HTML); line breaks are kept by CSS. */
export function MessageBubble({ entry, senderName, continued, onInfo, onDiscard }: Props) {
  const own = entry.own;
  const state = entry.state ?? "sent";
  const media = entry.media && entry.content_type !== "text" && entry.content_type !== "system";
  const meta = (
    <span class="message-meta">
      <time dateTime={new Date(entry.timestamp).toISOString()}>{clock(entry.timestamp)}</time>
      {own && <Tick entry={entry} state={state} onInfo={onInfo} />}
    </span>
  );
  return (
    <div
      class={`message ${own ? "own" : "other"}${continued ? " continued" : ""}${state === "failed" ? " failed" : ""}`}
      data-testid="message"
      data-seq={entry.seq ?? ""}
      data-own={String(own)}
      data-state={own ? state : undefined}
    >
      <div class={`bubble${media ? " has-media" : ""}`}>
        {senderName && (
          <div class="sender-name" style={{ "--sender-hue": hue(entry.sender_id) }}>
            {senderName}
          </div>
        )}
        {media ? (
          <>
            <MediaContent entry={entry} />
            <div class="media-footer">
              {entry.content.trim() && <p class="message-text">{entry.content}</p>}
              {meta}
            </div>
          </>
        ) : (
          <>
            <p class="message-text">{entry.content_type === "text" ? entry.content : `[${entry.content_type}]`}</p>
            {meta}
          </>
        )}
      </div>
      {state === "failed" && (
        <div class="message-error">
          <span>Not sent: {entry.error?.message ?? "the server refused this message"}</span>
          <button type="button" class="link-button" onClick={() => onDiscard(entry)}>
            Discard
          </button>
        </div>
      )}
    </div>
  );
}
