import { ParleyApiError, type ParleyClient } from "../../src/client";

/**
 * Web Push for this browser: the service worker (web/public/sw.js, served at /sw.js), the browser's
 * PushSubscription, and the server's copy of it for this device (`subscribePush` / `unsubscribePush`).
 *
 * `parley.push` in localStorage holds the user id this browser's subscription was registered for, so
 * the app knows at start that notifications are on (and for whom) without asking anyone.
 */

const PUSH_KEY = "parley.push";
const SW_URL = "/sw.js";
/** A browser that cannot reach its push service may leave `subscribe()` pending for minutes. */
const SUBSCRIBE_TIMEOUT_MS = 15_000;

/** What the "Notifications on this device" switch shows. */
export type PushState =
  /** No service worker, PushManager or Notification API (or not a secure context). */
  | "unsupported"
  /** The user (or policy) blocked notifications for this site. */
  | "denied"
  | "off"
  | "on";

/** Why turning notifications on did not work; `message` is what the settings say. */
export class PushSetupError extends Error {
  constructor(
    readonly reason: "unsupported" | "denied" | "dismissed" | "server",
    message: string,
  ) {
    super(message);
    this.name = "PushSetupError";
  }
}

export const PUSH_UNAVAILABLE = "Not available in this browser";
export const PUSH_BLOCKED = "Blocked in your browser settings";

export function pushSupported(): boolean {
  return (
    typeof window !== "undefined" &&
    window.isSecureContext &&
    "serviceWorker" in navigator &&
    "PushManager" in window &&
    "Notification" in window
  );
}

function enabledFor(userId: string): boolean {
  return localStorage.getItem(PUSH_KEY) === userId;
}

/** The switch's state for this user, read from the browser (no network). */
export function pushState(userId: string): PushState {
  if (!pushSupported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  return Notification.permission === "granted" && enabledFor(userId) ? "on" : "off";
}

async function registration(): Promise<ServiceWorkerRegistration | undefined> {
  return pushSupported() ? navigator.serviceWorker.getRegistration("/") : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function base64urlToBytes(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, ""));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false;
  const bytes = new Uint8Array(a);
  return bytes.every((x, i) => x === b[i]);
}

async function sendToServer(client: ParleyClient, deviceId: string, subscription: PushSubscription): Promise<void> {
  const json = subscription.toJSON();
  const p256dh = json.keys?.p256dh;
  const auth = json.keys?.auth;
  if (!json.endpoint || !p256dh || !auth) throw new PushSetupError("unsupported", PUSH_UNAVAILABLE);
  await client.rest.call("subscribePush", { body: { device_id: deviceId, endpoint: json.endpoint, keys: { p256dh, auth } } });
}

/**
 * Turns notifications on for this device: permission, service worker, subscription, server. Throws
 * `PushSetupError` (or the server's `ParleyApiError`) with a message for the settings.
 */
export async function enablePush(client: ParleyClient, deviceId: string, userId: string): Promise<void> {
  if (!pushSupported()) throw new PushSetupError("unsupported", PUSH_UNAVAILABLE);
  // Ask the server first: no permission prompt for a server that cannot push anyway.
  let key: string;
  try {
    ({ key } = await client.rest.call("vapidPublicKey"));
  } catch (err) {
    if (err instanceof ParleyApiError && err.code === "misconfigured") {
      throw new PushSetupError("server", "This Parley server is not set up to send notifications.");
    }
    throw err;
  }
  const permission = await Notification.requestPermission();
  if (permission === "denied") throw new PushSetupError("denied", PUSH_BLOCKED);
  if (permission !== "granted") throw new PushSetupError("dismissed", "Allow notifications when your browser asks, to turn them on.");

  let subscription: PushSubscription;
  try {
    await navigator.serviceWorker.register(SW_URL);
    const ready = await withTimeout(navigator.serviceWorker.ready, SUBSCRIBE_TIMEOUT_MS);
    const applicationServerKey = base64urlToBytes(key);
    let existing = await ready.pushManager.getSubscription();
    // A subscription made for another server key (the keys were rotated) cannot be used: replace it.
    if (existing && !sameKey(existing.options.applicationServerKey, applicationServerKey)) {
      await existing.unsubscribe();
      existing = null;
    }
    subscription = existing ?? (await withTimeout(ready.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey }), SUBSCRIBE_TIMEOUT_MS));
  } catch (err) {
    // No push service (blocked network, a browser build without one, private windows): the browser
    // says AbortError / NotAllowedError, or never answers.
    console.warn("push subscribe failed", err);
    throw new PushSetupError("unsupported", PUSH_UNAVAILABLE);
  }
  try {
    await sendToServer(client, deviceId, subscription);
  } catch (err) {
    // The server refused it (e.g. too many devices): leave nothing subscribed that nobody pushes to.
    await subscription.unsubscribe().catch(() => false);
    throw err;
  }
  localStorage.setItem(PUSH_KEY, userId);
}

/**
 * Turns notifications off for this device. The browser's subscription goes first: once it is gone
 * the push service answers 410 and the server forgets the device even if the DELETE below is lost.
 */
export async function disablePush(client: ParleyClient, deviceId: string): Promise<void> {
  localStorage.removeItem(PUSH_KEY);
  const subscription = await (await registration())?.pushManager.getSubscription();
  await subscription?.unsubscribe().catch(() => false);
  try {
    await client.rest.call("unsubscribePush", { device_id: deviceId });
  } catch (err) {
    // 404: the server had already forgotten it. A network error: the 410 will tell it.
    if (err instanceof ParleyApiError && (err.status === 404 || err.status === 0)) return;
    throw err;
  }
}

/**
 * At app start: if notifications are on for this user, register the service worker again (picking
 * up a new sw.js) and re-send the subscription, whose endpoint the browser may have rotated. If the
 * browser dropped the subscription or the permission, notifications are off: the server is told.
 */
export async function resumePush(client: ParleyClient, deviceId: string, userId: string): Promise<void> {
  if (!pushSupported() || !enabledFor(userId)) return;
  if (Notification.permission !== "granted") {
    await disablePush(client, deviceId);
    return;
  }
  const reg = await navigator.serviceWorker.register(SW_URL);
  const subscription = await reg.pushManager.getSubscription();
  if (!subscription) {
    await disablePush(client, deviceId);
    return;
  }
  await sendToServer(client, deviceId, subscription);
}

/** At log out: this browser stops receiving the account's notifications. */
export async function forgetPush(client: ParleyClient, deviceId: string, userId: string): Promise<void> {
  if (pushSupported() && enabledFor(userId)) await disablePush(client, deviceId);
}

/** Closes the notifications of a conversation the user is now looking at. */
export async function closeNotifications(conversationId: string): Promise<void> {
  const reg = await registration();
  if (!reg) return;
  for (const n of await reg.getNotifications({ tag: conversationId })) n.close();
}

/** The app icon's badge: total unread while the app is open (the service worker sets it while closed). */
export function setBadge(unread: number): void {
  if (!("setAppBadge" in navigator)) return;
  const done = unread > 0 ? navigator.setAppBadge(unread) : navigator.clearAppBadge();
  done.catch(() => {});
}

/** Messages the service worker sends to open windows. */
export type WorkerMessage = { type: "parley:open"; conversation_id: string } | { type: "parley:push"; conversation_id: string } | { type: "parley:resubscribed" };

/** Listens to the service worker (any version, controlling this page or not). */
export function onWorkerMessage(listener: (message: WorkerMessage) => void): () => void {
  if (!("serviceWorker" in navigator)) return () => {};
  const handler = (event: MessageEvent) => {
    const data = event.data as WorkerMessage | null;
    if (data && typeof data === "object" && typeof data.type === "string" && data.type.startsWith("parley:")) listener(data);
  };
  navigator.serviceWorker.addEventListener("message", handler);
  return () => navigator.serviceWorker.removeEventListener("message", handler);
}
