import { FormError } from "./Dialog";
import { useState } from "preact/hooks";
import { ParleyApiError, ParleyClient } from "../../../src/client";
import type { Session } from "../session";

/** Log in or create an account; hands the new session up. */
export function AuthScreen({ onSession }: { onSession(session: Session): void }) {
  const [mode, setMode] = useState<"login" | "register">("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const registering = mode === "register";

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const base = location.origin;
      const result = registering
        ? await ParleyClient.register(base, {
            username,
            password,
            ...(displayName.trim() ? { display_name: displayName.trim() } : {}),
          })
        : await ParleyClient.login(base, { username, password });
      onSession(result);
    } catch (err) {
      setError(err instanceof ParleyApiError ? err.message : "Something went wrong. Please try again.");
      setBusy(false);
    }
  }

  function switchMode() {
    setMode(registering ? "login" : "register");
    setError(null);
  }

  return (
    <main class="auth">
      <div class="auth-card">
        <div class="brand brand-large" aria-hidden="true">
          <span class="brand-mark">P</span>
        </div>
        <h1>{registering ? "Create your Parley account" : "Welcome to Parley"}</h1>
        <p class="muted">{registering ? "Pick a username your friends can find you by." : "Log in to pick up your conversations."}</p>
        <form onSubmit={submit} class="form" noValidate>
          <div class="field">
            <label for="auth-username">Username</label>
            <input
              id="auth-username"
              name="username"
              autoComplete="username"
              autoCapitalize="none"
              spellcheck={false}
              required
              value={username}
              onInput={(e) => setUsername(e.currentTarget.value)}
            />
          </div>
          {registering && (
            <div class="field">
              <label for="auth-display-name">Display name</label>
              <input
                id="auth-display-name"
                name="display_name"
                autoComplete="name"
                maxLength={64}
                value={displayName}
                onInput={(e) => setDisplayName(e.currentTarget.value)}
              />
            </div>
          )}
          <div class="field">
            <label for="auth-password">Password</label>
            <input
              id="auth-password"
              name="password"
              type="password"
              autoComplete={registering ? "new-password" : "current-password"}
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
            {registering && <p class="hint">At least 8 characters.</p>}
          </div>
          <FormError error={error} />
          <button type="submit" class="button button-primary button-block" disabled={busy}>
            {registering ? "Create account" : "Log in"}
          </button>
        </form>
        <p class="auth-switch">
          {registering ? "Already on Parley?" : "New here?"}{" "}
          <button type="button" class="link-button" onClick={switchMode}>
            {registering ? "I already have an account" : "Create an account"}
          </button>
        </p>
      </div>
    </main>
  );
}
