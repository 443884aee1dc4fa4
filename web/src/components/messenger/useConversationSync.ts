import { useEffect } from "preact/hooks";
import { ParleyApiError, type ParleyClient } from "../../../../src/client";
import { onWorkerMessage, setBadge } from "../../push";

/**
 * Keeps the conversation list current: fetched at start and again after every reconnect (messages may
 * have arrived while away), and when a push reaches this open window. A token the server no longer
 * accepts logs out. The app icon's badge follows the list's unread counts while the app is open.
 */
export function useConversationSync(client: ParleyClient, logout: () => void): void {
  useEffect(() => {
    let stopped = false;
    const refresh = () =>
      client.refreshConversations().catch((err: unknown) => {
        // A token the server no longer accepts: back to the login screen.
        if (!stopped && err instanceof ParleyApiError && err.status === 401) logout();
      });
    void refresh();
    const offOpen = client.on("connection", (state) => {
      if (state === "open") void refresh();
    });
    const offBadge = client.on("conversations", () => setBadge(client.conversations().reduce((n, c) => n + c.unread_count, 0)));
    // A push came although this window is open: the server thinks no device is connected.
    const offWorker = onWorkerMessage((msg) => {
      if (msg.type === "parley:push") void refresh();
    });
    return () => {
      stopped = true;
      offOpen();
      offBadge();
      offWorker();
    };
  }, [client]);
}
