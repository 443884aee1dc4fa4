import { typingText } from "../../format";

/** Above the composer while others type here: "Ana is typing…", with animated dots. */
export function TypingIndicator({ names }: { names: string[] }) {
  if (names.length === 0) return null;
  return (
    <div class="typing-indicator" data-testid="typing-indicator" aria-live="polite">
      <span class="typing-dots" aria-hidden="true">
        <i />
        <i />
        <i />
      </span>
      {typingText(names, true)}
    </div>
  );
}
