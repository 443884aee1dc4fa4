import type { User } from "../../src/client";

/** What survives a reload: the login token and the account it belongs to. */
export interface Session {
  token: string;
  user: User;
}

export const SESSION_KEY = "parley.session";
const DEVICE_KEY = "parley.device_id";

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (typeof parsed.token !== "string" || !parsed.user || typeof parsed.user.user_id !== "string") return null;
    return parsed as Session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  localStorage.removeItem(SESSION_KEY);
}

/** One id per browser profile: the server keeps a delivery cursor per device. */
export function deviceId(): string {
  const existing = localStorage.getItem(DEVICE_KEY);
  if (existing && /^[A-Za-z0-9_-]{1,64}$/.test(existing)) return existing;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const id = `web-${btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
  localStorage.setItem(DEVICE_KEY, id);
  return id;
}
