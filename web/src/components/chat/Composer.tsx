import type { MutableRef } from "preact/hooks";
import { useEffect, useId, useRef, useState } from "preact/hooks";
import { useApp } from "../../context";
import { errorText } from "../../errors";
import { ACCEPT, displayName, forgetPreview, rememberPreview, withType } from "../../media";
import { AttachIcon, SendIcon } from "../icons";

/** Unsent text per conversation, kept while switching chats. */
const drafts = new Map<string, string>();

interface Props {
  conversationId: string;
  onSent(): void;
  /** Set to this composer's file sender, so files dropped on the chat go the same way as attached ones. */
  sendFilesRef?: MutableRef<((files: File[]) => void) | null>;
  /** A file the server (or SDK) refused, with its reason. */
  onFileError(message: string): void;
}

/**
 * The message box: Enter sends, Shift+Enter is a new line; each keystroke tells others we type.
 * Attach (or a drop on the chat) sends each file as its own message, the typed text as the first one's caption.
 */
export function Composer({ conversationId, onSent, sendFilesRef, onFileError }: Props) {
  const { client } = useApp();
  const [text, setText] = useState(() => drafts.get(conversationId) ?? "");
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
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

  async function sendFiles(files: File[]) {
    if (!files.length) return;
    const caption = text.trim() ? text : "";
    if (caption) {
      setText("");
      client.stopTyping(conversationId);
    }
    setError(null);
    onSent();
    // One at a time, in order: each message is queued as its upload finishes, so they arrive in the order picked.
    for (const [i, picked] of files.entries()) {
      const file = withType(picked);
      const preview = file.type.startsWith("image/") ? URL.createObjectURL(file) : undefined;
      // sendMedia announces its upload (and key) synchronously, before its first await.
      let key: string | undefined;
      const off = client.on("upload", (u) => {
        if (!key && u.conversation_id === conversationId) key = u.key;
      });
      const sending = client.sendMedia(conversationId, file, { filename: file.name || displayName({ filename: null, content_type: file.type }), ...(i === 0 && caption ? { caption } : {}) });
      off();
      if (preview && key) rememberPreview([key], preview);
      try {
        const pending = await sending;
        if (preview && pending.media_id) rememberPreview([pending.media_id], preview);
      } catch (err) {
        if (preview) (key ? forgetPreview(key) : URL.revokeObjectURL(preview));
        onFileError(`“${picked.name || "The file"}” wasn't sent: ${errorText(err)}`);
        // The caption went with a refused file: give it back unless something new was typed.
        if (i === 0 && caption) setText((now) => (now ? now : caption));
      }
    }
  }
  if (sendFilesRef) sendFilesRef.current = (files) => void sendFiles(files);

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
        <button type="button" class="icon-button attach-button" aria-label="Attach" title="Attach photos, videos or files" onClick={() => fileInput.current?.click()}>
          <AttachIcon />
        </button>
        <input
          ref={fileInput}
          type="file"
          hidden
          multiple
          accept={ACCEPT}
          aria-label="Attach a file"
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = "";
            void sendFiles(files);
            ref.current?.focus();
          }}
        />
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
