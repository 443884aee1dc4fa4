import type { MutableRef } from "preact/hooks";
import { useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";
import { useApp, useUsers } from "../../context";
import { errorText } from "../../errors";
import { ACCEPT, displayName, forgetPreview, rememberPreview, withType } from "../../media";
import { followEdit, insertMention, matchesName, mentionQuery, wireMentions, type DraftMention, type MentionQuery } from "../../mentions";
import { Avatar } from "../Avatar";
import { AttachIcon, CloseIcon, EditIcon, ReplyIcon, SendIcon } from "../icons";
import type { ComposeIntent } from "./chatActions";
import { entryQuoteText } from "./messageRules";
import { VoiceRecorder } from "./VoiceRecorder";

/** Unsent text (and the mentions in it) per conversation, kept while switching chats. */
const drafts = new Map<string, { text: string; mentions: DraftMention[] }>();

/** Members the mention list shows at most. */
const MENTION_OPTIONS = 8;
const LIST_MOVES: Record<string, number> = { ArrowDown: 1, ArrowUp: -1 };

interface Props {
  conversationId: string;
  /** Replying to or editing a message (set from its menu, or by ↑); null when writing a new one. */
  intent: ComposeIntent | null;
  onIntent(intent: ComposeIntent | null): void;
  /** The other members of a group, who can be @-mentioned; empty in a direct chat. */
  mentionable: string[];
  onSent(): void;
  /** Set to this composer's file sender, so files dropped on the chat go the same way as attached ones. */
  sendFilesRef?: MutableRef<((files: File[]) => void) | null>;
  /** A file the server (or SDK) refused, with its reason. */
  onFileError(message: string): void;
}

/**
 * The message box: Enter sends, Shift+Enter is a new line; each keystroke tells others we type.
 * Attach (or a drop on the chat) sends each file as its own message, the typed text as the first one's caption.
 * Above the box, a bar says what is being replied to or edited (Escape cancels it); ↑ in an empty box
 * edits your last message. An empty box offers the microphone (VoiceRecorder) in Send's place. In groups "@" opens a list of members; picking one writes "@Name" and
 * records a structured mention whose offsets follow any later edit of the text.
 */
export function Composer({ conversationId, intent, onIntent, mentionable, onSent, sendFilesRef, onFileError }: Props) {
  const { client } = useApp();
  const users = useUsers();
  const [text, setText] = useState(() => drafts.get(conversationId)?.text ?? "");
  const [mentions, setMentions] = useState<DraftMention[]>(() => drafts.get(conversationId)?.mentions ?? []);
  const [error, setError] = useState<string | null>(null);
  const [query, setQuery] = useState<MentionQuery | null>(null);
  const [activeOption, setActive] = useState(0);
  /** The draft put aside while a message is edited, given back when the edit ends. */
  const aside = useRef<{ text: string; mentions: DraftMention[] } | null>(null);
  /** Where the caret goes after the next render (after a mention is inserted, or an edit starts). */
  const caretAfter = useRef<number | null>(null);
  /** An "@" whose list was closed with Escape: not reopened until another "@" is typed. */
  const dismissedAt = useRef<number | null>(null);
  const ref = useRef<HTMLTextAreaElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const id = useId();
  const listId = useId();

  const options = query
    ? mentionable.filter((u) => matchesName(users.name(u), query.query) || matchesName(users.get(u)?.username ?? "", query.query)).slice(0, MENTION_OPTIONS)
    : [];
  const listOpen = options.length > 0;
  const active = Math.min(activeOption, options.length - 1);

  // An edit puts the draft aside and the message's text in the box; ending it gives the draft back
  // (before paint, so the bar and the text never disagree on screen).
  useLayoutEffect(() => {
    if (intent?.kind === "edit") {
      aside.current ??= { text, mentions };
      setText(intent.entry.content);
      setMentions([]);
      caretAfter.current = intent.entry.content.length;
    } else if (aside.current) {
      setText(aside.current.text);
      setMentions(aside.current.mentions);
      aside.current = null;
    }
    setQuery(null);
    if (intent) ref.current?.focus();
  }, [intent?.kind, intent?.entry.key]);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el && caretAfter.current !== null) {
      el.setSelectionRange(caretAfter.current, caretAfter.current);
      caretAfter.current = null;
    }
  });

  useEffect(() => {
    // Focus the box on open, except on touch screens where it would pop the keyboard up.
    if (!matchMedia("(pointer: coarse)").matches) ref.current?.focus();
    return () => client.stopTyping(conversationId);
  }, [conversationId]);

  useEffect(() => {
    drafts.set(conversationId, aside.current ?? { text, mentions });
    const el = ref.current;
    if (el) {
      el.style.height = "auto";
      el.style.height = `${el.scrollHeight}px`;
    }
  }, [text, mentions]);

  async function send() {
    const content = text;
    if (!content.trim()) return;
    setError(null);
    if (intent?.kind === "edit") {
      const { entry } = intent;
      onIntent(null);
      if (content !== entry.content && entry.server_msg_id) {
        try {
          await client.edit(conversationId, entry.server_msg_id, content);
        } catch (err) {
          setError(errorText(err));
        }
      }
      ref.current?.focus();
      return;
    }
    const sentMentions = mentions;
    const replyTo = intent?.kind === "reply" ? intent.entry.server_msg_id : null;
    setText("");
    setMentions([]);
    setQuery(null);
    if (intent) onIntent(null);
    onSent();
    try {
      await client.send(conversationId, content, {
        ...(replyTo ? { replyTo } : {}),
        ...(sentMentions.length ? { mentions: wireMentions(sentMentions) } : {}),
      });
    } catch (err) {
      setText(content);
      setMentions(sentMentions);
      setError(errorText(err));
    }
    ref.current?.focus();
  }

  /** Follows the "@…" being typed: the list opens while members match it. */
  function followQuery(value: string, caret: number) {
    const q = mentionable.length ? mentionQuery(value, caret) : null;
    if (!q || q.start === dismissedAt.current) {
      setQuery(null);
      return;
    }
    dismissedAt.current = null;
    if (q.start !== query?.start || q.query !== query.query) setActive(0);
    setQuery(q);
  }

  function pick(userId: string) {
    const el = ref.current;
    if (!query || !el) return;
    const next = insertMention(text, mentions, query, el.selectionStart, userId, users.name(userId));
    setText(next.text);
    setMentions(next.mentions);
    setQuery(null);
    caretAfter.current = next.caret;
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
      {listOpen && (
        <ul class="mention-list" id={listId} role="listbox" aria-label="Mention a member" data-testid="mention-list">
          {options.map((u, i) => (
            <li
              key={u}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              class={`mention-option${i === active ? " active" : ""}`}
              // mousedown, not click: the box keeps its focus and caret.
              onMouseDown={(e) => {
                e.preventDefault();
                pick(u);
              }}
            >
              <Avatar userId={u} name={users.name(u)} size="small" photo={users.photo(u)} />
              <span class="mention-option-name">{users.name(u)}</span>
              {users.get(u)?.username && <span class="mention-option-username muted">@{users.get(u)!.username}</span>}
            </li>
          ))}
        </ul>
      )}
      {intent && (
        <div class={`compose-bar compose-${intent.kind}`} data-testid="compose-bar">
          {intent.kind === "edit" ? <EditIcon /> : <ReplyIcon />}
          <div class="compose-bar-text">
            <span class="compose-bar-title">
              {intent.kind === "edit" ? "Editing" : `Replying to ${intent.entry.own ? "yourself" : users.name(intent.entry.sender_id)}`}
            </span>
            <span class="compose-bar-snippet">{entryQuoteText(intent.entry)}</span>
          </div>
          <button type="button" class="icon-button" aria-label={intent.kind === "edit" ? "Cancel editing" : "Cancel reply"} onClick={() => onIntent(null)}>
            <CloseIcon />
          </button>
        </div>
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
          placeholder={intent?.kind === "edit" ? "Edit message" : "Write a message"}
          value={text}
          aria-autocomplete={mentionable.length ? "list" : undefined}
          aria-controls={listOpen ? listId : undefined}
          aria-activedescendant={listOpen ? `${listId}-${active}` : undefined}
          onInput={(e) => {
            const value = e.currentTarget.value;
            setMentions((now) => followEdit(now, text, value));
            setText(value);
            followQuery(value, e.currentTarget.selectionStart);
            if (value && intent?.kind !== "edit") client.typing(conversationId);
            else client.stopTyping(conversationId);
          }}
          onClick={(e) => followQuery(e.currentTarget.value, e.currentTarget.selectionStart)}
          onKeyUp={(e) => {
            if (["ArrowLeft", "ArrowRight", "Home", "End"].includes(e.key)) followQuery(e.currentTarget.value, e.currentTarget.selectionStart);
          }}
          onBlur={() => setQuery(null)}
          onKeyDown={(e) => {
            if (e.isComposing) return;
            if (listOpen) {
              const move = LIST_MOVES[e.key];
              if (move !== undefined) {
                e.preventDefault();
                setActive((active + move + options.length) % options.length);
                return;
              }
              if (e.key === "Enter" || e.key === "Tab") {
                e.preventDefault();
                pick(options[active]!);
                return;
              }
              if (e.key === "Escape") {
                e.preventDefault();
                dismissedAt.current = query!.start;
                setQuery(null);
                return;
              }
            }
            if (e.key === "Escape" && intent) {
              e.preventDefault();
              onIntent(null);
              return;
            }
            if (e.key === "ArrowUp" && text === "" && !intent) {
              const last = client.lastEditable(conversationId);
              if (last) {
                e.preventDefault();
                onIntent({ kind: "edit", entry: last });
              }
              return;
            }
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void send();
            }
          }}
        />
        {/* An empty box offers the microphone instead of Send (not while editing a message). */}
        {!text.trim() && intent?.kind !== "edit" ? (
          <VoiceRecorder conversationId={conversationId} onError={setError} onSent={onSent} />
        ) : (
          <button type="submit" class="send-button" aria-label="Send" disabled={!text.trim()}>
            <SendIcon />
          </button>
        )}
      </div>
    </form>
  );
}
