import type { z } from "zod";
import { AuthResponse } from "../../src/client";

/** What survives a reload: what logging in answered, the token kept current as it rotates. */
export type Session = z.infer<typeof AuthResponse>;

export const SESSION_KEY = "parley.session";
const DEVICE_KEY = "parley.device_id";

/** The stored session, or null if there is none or it is not one (an older app's, or edited by hand). */
export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    if (!raw) return null;
    const parsed = AuthResponse.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
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
