import { useEffect, useMemo, useState } from "preact/hooks";
import { ParleyApiError, ParleyClient } from "../../../../src/client";
import { IndexedDbOutbox } from "../../../../src/client/outbox-idb";
import { AppContext, type AppServices } from "../../context";
import { closeNotifications, forgetPush, onWorkerMessage, resumePush, setBadge } from "../../push";
import { deviceId, loadSession, saveSession, SESSION_KEY, type Session } from "../../session";
import { UserDirectory } from "../../users";
import { ChatView } from "../chat/ChatView";
import { ConnectionBanner } from "../ConnectionBanner";
import { ConversationList } from "../ConversationList";
import { EmptyState } from "../EmptyState";
import { Avatar } from "../Avatar";
import { SettingsIcon } from "../icons";
import { SettingsDialog } from "../SettingsDialog";

/** The selected chat lives in the URL hash (#/c/<id>) so the browser's Back button leaves a chat. */
function hashConversation(): string | null {
  const match = /^#\/c\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]!) : null;
}

export function Messenger({ session, onLogout }: { session: Session; onLogout(): void }) {
  const { client, users, outbox } = useMemo(() => {
    const outbox = new IndexedDbOutbox(session.user.user_id);
    const client = new ParleyClient({
      baseUrl: location.origin,
      token: session.token,
      user: session.user,
      deviceId: deviceId(),
      outbox,
    });
    return { client, users: new UserDirectory(session.user), outbox };
  }, [session]);
  const [selected, setSelected] = useState<string | null>(hashConversation);
  const [settingsOpen, setSettingsOpen] = useState(false);

  useEffect(() => {
    const onHash = () => setSelected(hashConversation());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);

  useEffect(() => {
    let stopped = false;
    const refresh = () =>
      client.refreshConversations().catch((err: unknown) => {
        // A token the server no longer accepts: back to the login screen.
        if (!stopped && err instanceof ParleyApiError && err.status === 401) logout();
      });
    const detach = users.attach(client);
    void client.start();
    void refresh();
    client.rest
      .call("me")
      .then(({ user }) => users.put(user))
      .catch(() => {});
    // After every reconnect the list may be stale (messages that arrived while away).
    const off = client.on("connection", (state) => {
      if (state === "open") void refresh();
      // This session was logged out (here via "log out all devices" elsewhere, or by the server).
      if (state === "revoked") endSession();
    });
    // The SDK refreshes the token before it expires: keep the new one for the next visit.
    const offToken = client.on("token", (token) => saveSession({ ...session, token }));
    // Refresh rotates the token (the one it replaces stops working): another tab of this browser
    // that refreshed first has stored the new one; take it rather than use, or refresh, a stale one.
    const onStorage = (e: StorageEvent) => {
      if (e.key !== SESSION_KEY || !e.newValue) return;
      const next = loadSession();
      if (next && next.user.user_id === session.user.user_id && next.token !== session.token) client.setToken(next.token);
    };
    window.addEventListener("storage", onStorage);
    // Notifications: keep the service worker and the server's copy of the subscription current.
    const syncPush = () => resumePush(client, deviceId(), session.user.user_id).catch((err: unknown) => console.warn("push", err));
    void syncPush();
    // The app icon's badge follows the list's unread counts while the app is open.
    const offBadge = client.on("conversations", () => setBadge(client.conversations().reduce((n, c) => n + c.unread_count, 0)));
    const offWorker = onWorkerMessage((msg) => {
      if (msg.type === "parley:resubscribed") void syncPush();
      // A push came although this window is open: the server thinks no device is connected.
      if (msg.type === "parley:push") void refresh();
    });
    return () => {
      stopped = true;
      off();
      offToken();
      window.removeEventListener("storage", onStorage);
      offBadge();
      offWorker();
      detach();
      client.stop();
      void outbox.close();
    };
  }, [client]);

  /** Logs out on the server too (the token stops working, its sockets close), then locally. */
  function logout(everywhere = false) {
    // This browser stops showing the account's notifications (the subscription goes first, at once).
    void forgetPush(client, deviceId(), session.user.user_id)
      .catch(() => {})
      .finally(() => client.logout({ all: everywhere }).catch(() => {}));
    endSession();
  }

  /** Back to the login screen, without asking the server (the session is already over there). */
  function endSession() {
    setBadge(0);
    client.stop();
    if (location.hash) history.replaceState(null, "", location.pathname);
    onLogout();
  }

  const services = useMemo<AppServices>(
    () => ({
      client,
      users,
      open(conversationId) {
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
      },
    }),
    [client, users],
  );

  // A clicked notification asks this window to open its chat.
  useEffect(
    () =>
      onWorkerMessage((msg) => {
        if (msg.type === "parley:open") services.open(msg.conversation_id);
      }),
    [services],
  );

  // Opening a chat dismisses its notification.
  useEffect(() => {
    if (selected) void closeNotifications(selected).catch(() => {});
  }, [selected]);

  return (
    <AppContext.Provider value={services}>
      <div class={`messenger ${selected ? "has-chat" : "no-chat"}`}>
        <header class="app-header">
          <div class="brand">
            <span class="brand-mark" aria-hidden="true">
              P
            </span>
            <span class="brand-name">Parley</span>
          </div>
          <div class="app-user">
            <Avatar userId={session.user.user_id} name={users.name(session.user.user_id)} size="small" />
            <span class="app-user-name" data-testid="current-user">
              {users.name(session.user.user_id)}
            </span>
            <button type="button" class="button button-ghost header-settings" onClick={() => setSettingsOpen(true)}>
              <SettingsIcon />
              <span class="header-label">Settings</span>
            </button>
            <button type="button" class="button button-ghost" onClick={() => logout()}>
              Log out
            </button>
          </div>
        </header>
        <ConnectionBanner />
        <div class="panes">
          <ConversationList selected={selected} />
          <main class="chat-pane" aria-label={selected ? "Chat" : "No chat selected"}>
            {selected ? <ChatView key={selected} conversationId={selected} /> : <EmptyState />}
          </main>
        </div>
        {settingsOpen && <SettingsDialog onClose={() => setSettingsOpen(false)} onLogoutEverywhere={() => logout(true)} />}
      </div>
    </AppContext.Provider>
  );
}
