import { useEffect, useRef, useState } from "preact/hooks";
import type { ConversationSummary, ParleyClient } from "../../../../src/client";
import { conversationTitle, otherMember, useApp } from "../../context";

/** The conversation a chat shows, as the pieces of the chat need it. */
export interface OpenChat {
  id: string;
  /** What the list says about it (or last said: see `gone`); undefined until the list has it. */
  summary: ConversationSummary | undefined;
  /** No longer in the list: removed from the group, or left on another device. Shown read-only. */
  gone: boolean;
  group: boolean;
  /** The other person of a direct chat. */
  partner: string | undefined;
  title: string;
}

/** Conversations whose newest page this client has fetched (loadOlder's first call). */
const fetched = new WeakMap<ParleyClient, Set<string>>();

/**
 * The conversation on screen. Removed from a group (or left on another device), the conversation drops
 * out of the list; the chat keeps showing what it knew, read-only.
 */
export function useOpenChat(id: string): OpenChat {
  const { client, users } = useApp();
  const lastKnown = useRef(client.conversation(id));
  const current = client.conversation(id);
  if (current) lastKnown.current = current;
  const summary = current ?? lastKnown.current;
  const group = summary?.type === "group";
  return {
    id,
    summary,
    gone: !current && !!lastKnown.current,
    group,
    partner: summary && !group ? otherMember(summary, users.me.user_id) : undefined,
    title: summary ? conversationTitle(summary, users) : "Loading…",
  };
}

/**
 * Opening a chat: its newest page once per session, then who received/read our last message; the
 * partner's presence; and the conversation's live socket while it is on screen.
 */
export function useChatOpening({ id, partner }: OpenChat): { ready: boolean; loadError: string | null } {
  const { client } = useApp();
  const [ready, setReady] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
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
        } catch {
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
  return { ready, loadError };
}

/** Read receipts: whenever this chat is on screen and something arrives. */
export function useMarkRead(id: string): void {
  const { client } = useApp();
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
}
