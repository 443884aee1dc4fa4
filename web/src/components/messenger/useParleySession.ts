import { useEffect, useMemo } from "preact/hooks";
import { ParleyClient } from "../../../../src/client";
import { IndexedDbOutbox } from "../../../../src/client/outbox-idb";
import { forgetPush, setBadge } from "../../push";
import { deviceId, loadSession, saveSession, SESSION_KEY, type Session } from "../../session";
import { UserDirectory } from "../../users";

interface ParleySession {
  client: ParleyClient;
  users: UserDirectory;
  /** Logs out on the server too (the token stops working, its sockets close; `everywhere`: every session), then here. */
  logout(everywhere?: boolean): void;
}

/**
 * One signed-in session: the SDK client (its outbox in IndexedDB, so unsent messages survive a reload)
 * and the name directory, started on mount and stopped on unmount. The token is kept current across
 * refreshes and tabs; a session ended elsewhere (revoked) goes back to the login screen.
 */
export function useParleySession(session: Session, onLogout: () => void): ParleySession {
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

  const { logout, endSession } = useMemo(() => {
    /** Back to the login screen, without asking the server (the session is already over there). */
    function endSession() {
      setBadge(0);
      client.stop();
      if (location.hash) history.replaceState(null, "", location.pathname);
      onLogout();
    }
    function logout(everywhere = false) {
      // This browser stops showing the account's notifications (the subscription goes first, at once).
      void forgetPush(client, deviceId(), session.user.user_id)
        .catch(() => {})
        .finally(() => client.logout({ all: everywhere }).catch(() => {}));
      endSession();
    }
    return { logout, endSession };
  }, [client]);

  useEffect(() => {
    const detach = users.attach(client);
    void client.start();
    client.rest
      .call("me")
      .then(({ user }) => users.put(user))
      .catch(() => {});
    // This session was logged out (here via "log out all devices" elsewhere, or by the server).
    const offRevoked = client.on("connection", (state) => {
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
    return () => {
      offRevoked();
      offToken();
      window.removeEventListener("storage", onStorage);
      detach();
      client.stop();
      void outbox.close();
    };
  }, [client]);

  return { client, users, logout };
}
