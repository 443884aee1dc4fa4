import { useEffect, useId, useRef, useState } from "preact/hooks";
import { useApp } from "../context";
import { errorText } from "./NewChatDialog";
import { SendIcon } from "./icons";

/** Unsent text per conversation, kept while switching chats. */
const drafts = new Map<string, string>();

/** The message box: Enter sends, Shift+Enter is a new line; each keystroke tells others we type. */
export function Composer({ conversationId, onSent }: { conversationId: string; onSent(): void }) {
  const { client } = useApp();
  const [text, setText] = useState(() => drafts.get(conversationId) ?? "");
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = useId();

  useEffect(() => {
    // Focus the box on open, except on touch screens where it would pop the keyboard up.
    if (!matchMedia("(pointer: coarse)").matches) ref.current?.focus();
    return () => client.stopTyping(conversationId);
  }, [conversationId]);

  useEffect(() => {
    drafts.set(conversationId, text);
    const el = ref.current;
    if (el) {
      el.style.height = "auto";
      el.style.height = `${el.scrollHeight}px`;
    }
  }, [text]);

  async function send() {
    const content = text;
    if (!content.trim()) return;
    setText("");
    setError(null);
    onSent();
    try {
      await client.send(conversationId, content);
    } catch (err) {
      setText(content);
      setError(errorText(err));
    }
    ref.current?.focus();
  }

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      {error && (
        <p class="composer-error" role="alert">
          {error}
        </p>
      )}
      <div class="composer-row">
        <label for={id} class="sr-only">
          Message
        </label>
        <textarea
          id={id}
          ref={ref}
          rows={1}
          placeholder="Write a message"
          value={text}
          onInput={(e) => {
            setText(e.currentTarget.value);
            if (e.currentTarget.value) client.typing(conversationId);
            else client.stopTyping(conversationId);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              void send();
            }
          }}
        />
        <button type="submit" class="send-button" aria-label="Send" disabled={!text.trim()}>
          <SendIcon />
        </button>
      </div>
    </form>
  );
}
