import { useState } from "preact/hooks";
import { AuthScreen } from "./components/AuthScreen";
import { Messenger } from "./components/messenger/Messenger";
import { clearSession, loadSession, saveSession, type Session } from "./session";

/** Signed out: the auth screen. Signed in: the messenger, rebuilt from scratch per session. */
export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  if (!session) {
    return (
      <AuthScreen
        onSession={(s) => {
          saveSession(s);
          setSession(s);
        }}
      />
    );
  }
  return (
    <Messenger
      key={session.token}
      session={session}
      onLogout={() => {
        clearSession();
        setSession(null);
      }}
    />
  );
}
