import { useCallback, useMemo, useState } from "preact/hooks";
import { AppContext, type AppServices } from "../../context";
import type { Session } from "../../session";
import { ChatView } from "../chat/ChatView";
import type { FocusRequest } from "../chat/MessageList";
import { ConnectionBanner } from "../ConnectionBanner";
import { ConversationList } from "../list/ConversationList";
import { StarredDialog } from "../StarredDialog";
import { EmptyState } from "../EmptyState";
import { SettingsDialog } from "../SettingsDialog";
import { AppHeader } from "./AppHeader";
import { useChatRoute } from "./useChatRoute";
import { useConversationSync } from "./useConversationSync";
import { useParleySession } from "./useParleySession";
import { usePushSync } from "./usePushSync";

/**
 * The signed-in app: one session's client, the list kept current, notifications kept registered, and
 * the route between the list and a chat. Below it everything reads the client from `AppContext`.
 */
export function Messenger({ session, onLogout }: { session: Session; onLogout(): void }) {
  const { client, users, logout } = useParleySession(session, onLogout);
  useConversationSync(client, logout);
  usePushSync(client, session.user.user_id);
  const { selected, open } = useChatRoute();
  const [dialog, setDialog] = useState<"settings" | "starred" | null>(null);
  // A message to show once its chat is open; the nonce makes a second click on the same one jump again.
  const [focus, setFocus] = useState<(FocusRequest & { conversationId: string }) | null>(null);
  const openMessage = useCallback(
    (conversationId: string, seq: number) => {
      setFocus({ conversationId, seq, nonce: Date.now() });
      open(conversationId);
    },
    [open],
  );
  const services = useMemo<AppServices>(() => ({ client, users, open, openMessage }), [client, users, open, openMessage]);

  return (
    <AppContext.Provider value={services}>
      <div class={`messenger ${selected ? "has-chat" : "no-chat"}`}>
        <AppHeader onStarred={() => setDialog("starred")} onSettings={() => setDialog("settings")} onLogout={() => logout()} />
        <ConnectionBanner />
        <div class="panes">
          <ConversationList selected={selected} />
          <main class="chat-pane" aria-label={selected ? "Chat" : "No chat selected"}>
            {selected ? (
              <ChatView key={selected} conversationId={selected} focus={focus?.conversationId === selected ? focus : null} onFocused={() => setFocus(null)} />
            ) : (
              <EmptyState />
            )}
          </main>
        </div>
        {dialog === "settings" && <SettingsDialog onClose={() => setDialog(null)} onLogoutEverywhere={() => logout(true)} />}
        {dialog === "starred" && <StarredDialog onClose={() => setDialog(null)} />}
      </div>
    </AppContext.Provider>
  );
}
