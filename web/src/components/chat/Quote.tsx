import type { QuotedMessage } from "../../../../src/client";
import { hue } from "../../format";
import type { UserDirectory } from "../../users";
import { quoteText } from "./messageRules";

/**
 * The quoted message above a reply: who wrote it and its first line (or media kind, or that it was
 * deleted). A button: it scrolls to the original, loading older history if it is not on screen yet.
 */
export function Quote({ quote, users, onJump }: { quote: QuotedMessage; users: UserDirectory; onJump(seq: number): void }) {
  const name = users.name(quote.sender_id, true);
  const text = quoteText(quote);
  return (
    <button
      type="button"
      class={`quote${quote.deleted ? " deleted" : ""}`}
      style={{ "--sender-hue": hue(quote.sender_id) }}
      data-testid="quote"
      aria-label={`Reply to ${name}: ${text}. Show the original message`}
      onClick={() => onJump(quote.seq)}
    >
      <span class="quote-name">{name}</span>
      <span class="quote-text">{text}</span>
    </button>
  );
}
