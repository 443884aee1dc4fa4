/*
 * Parley's service worker (served as /sw.js; web/public is copied as-is by Vite). It only does
 * notifications: it shows the server's Web Push messages and opens the chat one is about. It caches
 * nothing, so the app itself always comes from the network.
 *
 * Push payload (docs/protocol.md "Push notifications"): {conversation_id, title, body, unread_count},
 * where unread_count is that conversation's unread count.
 *
 * Messages to open app windows (see web/src/push.ts):
 *   {type: "parley:push", conversation_id}  a push arrived while the app was in front (nothing shown)
 *   {type: "parley:open", conversation_id}  a notification was clicked: open that chat
 *   {type: "parley:resubscribed"}           the browser replaced the subscription: send it to the server
 */

const ICON = "/icon-192.png";
const BADGE = "/badge-96.png";

self.addEventListener("install", () => {
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

function readPayload(event) {
  try {
    const data = event.data ? event.data.json() : null;
    if (data && typeof data.conversation_id === "string" && typeof data.title === "string") {
      return {
        conversation_id: data.conversation_id,
        title: data.title,
        body: typeof data.body === "string" ? data.body : "",
        unread_count: Number.isInteger(data.unread_count) && data.unread_count >= 0 ? data.unread_count : 0,
      };
    }
  } catch {
    // Not JSON: fall through to a generic notification.
  }
  return null;
}

function appWindows() {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true });
}

/** The app icon's badge: the unread counts of the conversations that have a notification showing. */
async function updateBadge() {
  if (!("setAppBadge" in self.navigator)) return;
  const shown = await self.registration.getNotifications();
  const unread = shown.reduce((sum, n) => sum + ((n.data && n.data.unread_count) || 0), 0);
  try {
    if (unread > 0) await self.navigator.setAppBadge(unread);
    else await self.navigator.clearAppBadge();
  } catch {
    // Badging is best effort (not installed, not supported on this platform).
  }
}

async function onPush(payload) {
  const windows = await appWindows();
  const inFront = windows.filter((c) => c.focused && c.visibilityState === "visible");
  if (payload && inFront.length > 0) {
    // The app is open and looked at: it shows the message itself. Tell it, so it can catch up.
    for (const c of inFront) c.postMessage({ type: "parley:push", conversation_id: payload.conversation_id });
    return;
  }
  if (!payload) {
    // userVisibleOnly: every push must show something, even one we cannot read.
    await self.registration.showNotification("Parley", { body: "New message", tag: "parley", icon: ICON, badge: BADGE });
    return;
  }
  await self.registration.showNotification(payload.title, {
    body: payload.body,
    // One notification per conversation: a newer push replaces the older one, and still alerts.
    tag: payload.conversation_id,
    renotify: true,
    // The sender's (or the group's) photo, by a URL that authorizes itself for a day; else the app's icon.
    icon: typeof payload.icon === "string" && payload.icon.startsWith("/") ? payload.icon : ICON,
    badge: BADGE,
    timestamp: Date.now(),
    data: { conversation_id: payload.conversation_id, unread_count: payload.unread_count },
  });
  await updateBadge();
}

self.addEventListener("push", (event) => {
  event.waitUntil(onPush(readPayload(event)));
});

async function openConversation(conversationId) {
  const url = conversationId ? `/#/c/${encodeURIComponent(conversationId)}` : "/";
  const windows = await appWindows();
  const target = windows.find((c) => c.focused) || windows.find((c) => c.visibilityState === "visible") || windows[0];
  if (!target) {
    await self.clients.openWindow(url);
    return;
  }
  try {
    await target.focus();
  } catch {
    // Some browsers refuse focus(); the message below still opens the chat.
  }
  // The app routes by itself (history entry, chat state), so ask it rather than reloading it.
  if (conversationId) target.postMessage({ type: "parley:open", conversation_id: conversationId });
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(openConversation(typeof data.conversation_id === "string" ? data.conversation_id : null).then(updateBadge));
});

self.addEventListener("notificationclose", (event) => {
  event.waitUntil(updateBadge());
});

/** The browser replaced (or dropped) the subscription: subscribe again with the same server key. */
self.addEventListener("pushsubscriptionchange", (event) => {
  const key = event.oldSubscription && event.oldSubscription.options.applicationServerKey;
  const renewed = event.newSubscription
    ? Promise.resolve(event.newSubscription)
    : key
      ? self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key })
      : Promise.reject(new Error("no key to subscribe again with"));
  event.waitUntil(
    renewed
      .then(async () => {
        // The server learns the new endpoint from the app (this worker has no session token); if no
        // window is open, the app sends it at its next start.
        for (const c of await appWindows()) c.postMessage({ type: "parley:resubscribed" });
      })
      .catch(() => {}),
  );
});
