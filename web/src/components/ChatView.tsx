import { useEffect, useId, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ChatEntry, ParleyClient } from "../../../src/client";
import { conversationTitle, otherMember, useApp, useClientEvents, useMinuteTick, useUsers } from "../context";
import { dayLabel, presenceText, sameDay, systemText, typingText } from "../format";
import { Avatar } from "./Avatar";
import { Composer } from "./Composer";
import { GroupInfo } from "./GroupInfo";
import { BackIcon, CloseIcon, InfoIcon, UploadIcon } from "./icons";
import { MessageBubble } from "./MessageBubble";
import { MessageInfoDialog } from "./MessageInfoDialog";

/** Conversations whose newest page this client has fetched (loadOlder's first call). */
const fetched = new WeakMap<ParleyClient, Set<string>>();
const BOTTOM_SLACK = 48;

/**
 * Block or unblock the other person of a direct chat: their messages, typing, presence and group
 * adds stop reaching you (they are not told).
 */
function BlockButton({ userId, name }: { userId: string; name: string }) {
  const { client } = useApp();
  const [blocked, setBlocked] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    let live = true;
    client.rest
      .call("blocked")
      .then(({ user_ids }) => live && setBlocked(user_ids.includes(userId)))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [client, userId]);
  if (blocked === null) return null;
  async function toggle() {
    setBusy(true);
    try {
      await client.rest.call(blocked ? "unblock" : "block", { user_id: userId });
      setBlocked(!blocked);
    } finally {
      setBusy(false);
    }
  }
  return (
    <button type="button" class="button button-small button-ghost" disabled={busy} aria-pressed={blocked} onClick={() => void toggle()}>
      {blocked ? `Unblock ${name}` : "Block"}
    </button>
  );
}

export function ChatView({ conversationId: id }: { conversationId: string }) {
  const { client, users, open } = useApp();
  useUsers();
  useMinuteTick();
  useClientEvents(["conversation"], (_, changed) => changed === id, [id]);
  useClientEvents(["conversations", "presence", "connection"]);
  const [ready, setReady] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [panel, setPanel] = useState<"info" | null>(null);
  const [infoFor, setInfoFor] = useState<ChatEntry | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const restore = useRef<{ height: number; top: number; count: number } | null>(null);
  const titleId = useId();
  const sendFiles = useRef<((files: File[]) => void) | null>(null);
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const [toast, setToast] = useState<string | null>(null);

  // Removed from a group (or left on another device), the conversation drops out of the list;
  // keep showing what we knew, read-only.
  const lastKnown = useRef(client.conversation(id));
  const current = client.conversation(id);
  if (current) lastKnown.current = current;
  const summary = current ?? lastKnown.current;
  const gone = !current && !!lastKnown.current;
  const entries = client.entries(id);
  const me = users.me.user_id;
  const group = summary?.type === "group";
  const title = summary ? conversationTitle(summary, users) : "Loading…";
  const partner = summary && !group ? otherMember(summary, me) : undefined;
  const typers = client.typingIn(id).filter((u) => u !== me);
  const typingNames = typers.map((u) => users.name(u));

  let status = "";
  if (typers.length) status = typingText(typingNames, group);
  else if (group) status = `${summary?.member_count ?? summary?.members.length ?? 0} members`;
  // While disconnected the last presence we heard may be stale: say nothing rather than "online".
  else if (partner && client.connectionState === "open") status = presenceText(client.presenceOf(partner));

  // Opening: the newest page once per session, then who received/read our last message.
  useEffect(() => {
    let cancelled = false;
    let seen = fetched.get(client);
    if (!seen) fetched.set(client, (seen = new Set()));
    const known = seen;
    (async () => {
      if (!known.has(id)) {
        try {
          await client.loadOlder(id);
          known.add(id);
        } catch (err) {
          if (!cancelled) setLoadError("Couldn't load messages. They'll appear when the connection is back.");
        }
      }
      if (cancelled) return;
      setReady(true);
      await client.loadReceipts(id).catch(() => {});
    })();
    if (partner) client.subscribePresence([partner]);
    // The conversation on screen also gets its live socket: messages straight from the conversation
    // object, no hop through the user object. The SDK merges both sockets by seq.
    client.watch(id);
    return () => {
      cancelled = true;
      client.unwatch();
    };
  }, [id]);

  // Read receipts: whenever this chat is on screen and something arrives.
  useEffect(() => {
    const mark = () => {
      if (document.visibilityState === "visible") client.markRead(id);
    };
    mark();
    const off = client.on("conversation", (changed) => changed === id && mark());
    document.addEventListener("visibilitychange", mark);
    return () => {
      off();
      document.removeEventListener("visibilitychange", mark);
    };
  }, [id]);

  // Keep the view where the reader left it: at the bottom, or on the same message after older ones load.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const r = restore.current;
    if (r && entries.length !== r.count) {
      el.scrollTop = el.scrollHeight - r.height + r.top;
      restore.current = null;
    } else if (atBottom.current) {
      el.scrollTop = el.scrollHeight;
    }
  });

  // Infinite scroll: a sentinel above the oldest message pulls in the page before it.
  useEffect(() => {
    const el = scroller.current;
    const top = sentinel.current;
    if (!ready || !el || !top) return;
    let busy = false;
    const observer = new IntersectionObserver(
      async (items) => {
        if (busy || !items.some((i) => i.isIntersecting) || !client.hasOlder(id)) return;
        busy = true;
        setLoadingOlder(true);
        restore.current = { height: el.scrollHeight, top: el.scrollTop, count: client.entries(id).length };
        try {
          const added = await client.loadOlder(id);
          if (added === 0) restore.current = null;
        } catch {
          restore.current = null;
        }
        busy = false;
        setLoadingOlder(false);
        // Still in view (a short page)? Observing again reports the current state.
        observer.unobserve(top);
        observer.observe(top);
      },
      { root: el, rootMargin: "300px 0px 0px 0px" },
    );
    observer.observe(top);
    return () => observer.disconnect();
  }, [ready, id]);

  const rows = [];
  let prev: ChatEntry | undefined;
  for (const entry of entries) {
    const newDay = !prev || !sameDay(prev.timestamp, entry.timestamp);
    if (newDay) {
      rows.push(
        <div class="day-separator" key={`day-${entry.key}`}>
          <span>{dayLabel(entry.timestamp)}</span>
        </div>,
      );
    }
    if (entry.content_type === "system") {
      rows.push(
        <div class="system-notice" key={entry.key} data-testid="system-message" data-seq={entry.seq ?? ""}>
          <span>{systemText(entry.content, (u) => users.name(u, true))}</span>
        </div>,
      );
    } else {
      const continued = !newDay && prev?.sender_id === entry.sender_id && prev.content_type !== "system";
      rows.push(
        <MessageBubble
          key={entry.key}
          entry={entry}
          continued={continued}
          senderName={group && !entry.own && !continued ? users.name(entry.sender_id) : undefined}
          onInfo={setInfoFor}
          onDiscard={(e) => client.discardFailed(e.key)}
        />,
      );
    }
    prev = entry;
  }

  const hasOlder = client.hasOlder(id);
  const canDrop = !gone;
  const carriesFiles = (e: DragEvent) => canDrop && !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  return (
    <section
      class="chat"
      aria-labelledby={titleId}
      onDragEnter={(e) => {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        dragDepth.current++;
        setDragging(true);
      }}
      onDragOver={(e) => {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        e.dataTransfer!.dropEffect = "copy";
      }}
      onDragLeave={(e) => {
        if (!carriesFiles(e)) return;
        dragDepth.current = Math.max(0, dragDepth.current - 1);
        if (dragDepth.current === 0) setDragging(false);
      }}
      onDrop={(e) => {
        if (!carriesFiles(e)) return;
        e.preventDefault();
        dragDepth.current = 0;
        setDragging(false);
        const files = [...(e.dataTransfer?.files ?? [])];
        if (files.length) sendFiles.current?.(files);
      }}
    >
      <header class="chat-header">
        <button type="button" class="icon-button back-button" aria-label="Back to chats" onClick={() => open(null)}>
          <BackIcon />
        </button>
        <Avatar userId={partner ?? id} name={title} group={group} />
        <div class="chat-heading">
          <h2 id={titleId} class="chat-title">
            {title}
          </h2>
          <p class={`chat-status${typers.length ? " typing" : ""}`} data-testid="chat-status" aria-live="polite">
            {status}
          </p>
        </div>
        {group && !gone && (
          <button type="button" class="icon-button" aria-label="Group info" onClick={() => setPanel("info")}>
            <InfoIcon />
          </button>
        )}
        {!group && partner && <BlockButton userId={partner} name={title} />}
      </header>
      <div
        class="message-scroller"
        ref={scroller}
        role="log"
        aria-label="Messages"
        data-testid="message-list"
        tabIndex={0}
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < BOTTOM_SLACK;
        }}
      >
        <div class="history-sentinel" ref={sentinel} aria-hidden={!loadingOlder}>
          {!ready || loadingOlder ? (
            <span class="spinner" role="status" aria-label="Loading" />
          ) : !hasOlder && entries.length > 0 ? (
            <span class="history-start">This is the start of the conversation.</span>
          ) : null}
        </div>
        {loadError && (
          <p class="load-error" role="alert">
            {loadError}
          </p>
        )}
        {ready && entries.length === 0 && !loadError && <p class="chat-empty muted">No messages yet. Say hello!</p>}
        {rows}
      </div>
      {typers.length > 0 && (
        <div class="typing-indicator" data-testid="typing-indicator" aria-live="polite">
          <span class="typing-dots" aria-hidden="true">
            <i />
            <i />
            <i />
          </span>
          {typingText(typingNames, true)}
        </div>
      )}
      {toast && (
        <div class="toast-row">
          <div class="toast" role="alert" data-testid="media-error">
            <span class="toast-text">{toast}</span>
            <button type="button" class="icon-button" aria-label="Dismiss" onClick={() => setToast(null)}>
              <CloseIcon />
            </button>
          </div>
        </div>
      )}
      {gone ? (
        <p class="chat-gone" role="status">
          You're no longer a member of this conversation.
        </p>
      ) : (
        <Composer
          conversationId={id}
          sendFilesRef={sendFiles}
          onFileError={setToast}
          onSent={() => {
            atBottom.current = true;
            setToast(null);
          }}
        />
      )}
      {dragging && (
        <div class="drop-overlay" data-testid="drop-overlay" aria-hidden="true">
          <div class="drop-target">
            <UploadIcon />
            <span>Drop to send</span>
          </div>
        </div>
      )}
      {panel === "info" && summary && <GroupInfo conversation={summary} onClose={() => setPanel(null)} />}
      {infoFor && summary && <MessageInfoDialog entry={infoFor} conversation={summary} onClose={() => setInfoFor(null)} />}
    </section>
  );
}
