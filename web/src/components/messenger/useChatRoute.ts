import { useCallback, useEffect, useState } from "preact/hooks";
import { closeNotifications, onWorkerMessage } from "../../push";

/** The selected chat lives in the URL hash (#/c/<id>) so reload reopens it and the browser's Back button leaves it. */
function hashConversation(): string | null {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]!) : null;
}

interface ChatRoute {
  /** The open chat, or null for the list (and, on wide screens, the empty state). */
  selected: string | null;
  /** Opens a conversation (null: back to the list). */
  open(conversationId: string | null): void;
}

/**
 * Which view is on screen. A chat is opened from the list, by the URL (reload, Back/Forward), or by a
 * clicked notification; opening one dismisses its notification.
 */
export function useChatRoute(): ChatRoute {
  const [selected, setSelected] = useState<string | null>(hashConversation);

  useEffect(() => {
    const onHash = () => setSelected(hashConversation());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  const open = useCallback((conversationId: string | null) => {
    if (conversationId === null) {
      // Back from a chat: pop the history entry we pushed, if it is ours.
      if (history.state?.parleyChat) history.back();
      else history.replaceState(null, "", location.pathname);
      setSelected(null);
      return;
    }
    const hash = `#/c/${encodeURIComponent(conversationId)}`;
    if (location.hash === hash) return;
    if (hashConversation()) history.replaceState({ parleyChat: true }, "", hash);
    else history.pushState({ parleyChat: true }, "", hash);
    setSelected(conversationId);
  }, []);

  // A clicked notification asks this window to open its chat.
  useEffect(
    () =>
      onWorkerMessage((msg) => {
        if (msg.type === "parley:open") open(msg.conversation_id);
      }),
    [open],
  );

  useEffect(() => {
    if (selected) void closeNotifications(selected).catch(() => {});
  }, [selected]);

  return { selected, open };
}
