import { createServer, type Server } from "node:http";
import type { BrowserContext, CDPSession, Page, Worker } from "playwright-core";
import { describe, expect, inject, it, onTestFailed } from "vitest";
import { ParleyClient, RestClient } from "../../src/client";
import { chromiumForTests, registerInBrowser, shoot, username } from "../helpers/browser";

const baseUrl = inject("serverUrl");
const origin = new URL(baseUrl).origin;
const chromium = chromiumForTests();
// Headless Chromium never shows a permission prompt: without a grant, requestPermission() is "denied".
const context = ({ notifications }: { notifications: boolean }) =>
  chromium.context(notifications ? { grant: { permissions: ["notifications"], origin } } : {});

const settingsDialog = (page: Page) => page.getByRole("dialog", { name: "Settings" });
const pushSwitch = (page: Page) => settingsDialog(page).getByRole("switch", { name: "Notifications on this device" });
const previewsSwitch = (page: Page) => settingsDialog(page).getByRole("switch", { name: "Show message text in notifications" });
const lastSeenSwitch = (page: Page) => settingsDialog(page).getByRole("switch", { name: "Share my last seen" });

async function openSettings(page: Page) {
  await page.getByRole("button", { name: "Settings" }).click();
  await settingsDialog(page).waitFor();
  // The account's settings have loaded from `me` once their switches are enabled.
  await settingsDialog(page).getByRole("switch", { name: "Share my last seen", disabled: false }).waitFor();
}

type Shown = { title: string; body: string; tag: string; data: { conversation_id?: string; unread_count?: number } | null };
/*
 * The browser APIs the page- and worker-side callbacks use. Tests are type-checked with the Workers
 * types, not the DOM's, and a callback passed to evaluate() runs in the browser, so it cannot call a
 * helper defined here: each casts `navigator` / `self` to these shapes itself.
 */
type Registration = { active: { scriptURL: string } | null; getNotifications(): Promise<Shown[]> };
type PageSW = { serviceWorker: { ready: Promise<Registration>; addEventListener(type: "message", listener: (e: { data: unknown }) => void): void } };
type WorkerScope = {
  registration: Registration;
  clients: { matchAll(options: object): Promise<{ postMessage(message: unknown): void }[]> };
};

/** The notifications the app's service worker is showing, read in a page of the app. */
const notificationsIn = (page: Page) =>
  page.evaluate(async () =>
    (await (await (navigator as unknown as PageSW).serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })),
  );
/**
 * The app's service worker as it runs now. Chromium may stop an idle worker and start a new instance
 * for the next push, and a handle to the stopped one can hang rather than fail, so every read looks
 * the worker up again.
 */
async function appWorker(ctx: BrowserContext): Promise<Worker> {
  return ctx.serviceWorkers().find((w) => w.url() === `${origin}/sw.js`) ?? (await ctx.waitForEvent("serviceworker", { timeout: 5_000 }));
}

/** The same, read inside the service worker (when no page of the app is open), sorted by tag. */
async function notificationsInWorker(ctx: BrowserContext) {
  const read = (await appWorker(ctx)).evaluate(async () =>
    (await (self as unknown as WorkerScope).registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag })),
  );
  // A read that hangs in a stopping worker fails here, and expect.poll tries the next instance.
  const hung = new Promise<never>((_, fail) => setTimeout(() => fail(new Error("the service worker did not answer within 3 s")), 3_000).unref());
  return (await Promise.race([read, hung])).sort((a, b) => a.tag.localeCompare(b.tag));
}

/** The app windows the service worker can see (a closed page may linger in this list for a moment). */
async function appWindowsInWorker(ctx: BrowserContext): Promise<number> {
  const worker = await appWorker(ctx);
  return worker.evaluate(async () => (await (self as unknown as WorkerScope).clients.matchAll({ type: "window", includeUncontrolled: true })).length);
}

/**
 * Starts CDP's ServiceWorker domain and resolves with the registration id of the app's /sw.js. The
 * worker's lifecycle (starting, running, stopping) and its errors are printed if the test fails: a
 * push delivered by CDP while the worker changes state is the first thing to rule out.
 */
async function appRegistration(cdp: CDPSession): Promise<string> {
  const started = Date.now();
  const lifecycle: string[] = [];
  cdp.on("ServiceWorker.workerVersionUpdated", ({ versions }) => {
    for (const v of versions) lifecycle.push(`${Date.now() - started} ms: version ${v.versionId} ${v.runningStatus} ${v.status}`);
  });
  cdp.on("ServiceWorker.workerErrorReported", ({ errorMessage }) => lifecycle.push(`${Date.now() - started} ms: error ${errorMessage.errorMessage}`));
  onTestFailed(() => console.error(`service worker lifecycle:\n${lifecycle.join("\n")}`));
  const found = new Promise<string>((resolve) => {
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
      const reg = registrations.find((r) => r.scopeURL === `${origin}/` && !r.isDeleted);
      if (reg) resolve(reg.registrationId);
    });
  });
  await cdp.send("ServiceWorker.enable");
  return found;
}

function push(cdp: CDPSession, registrationId: string, payload: { conversation_id: string; title: string; body: string; unread_count: number }) {
  return cdp.send("ServiceWorker.deliverPushMessage", { origin, registrationId, data: JSON.stringify(payload) });
}

/**
 * Delivers a push and waits until the worker shows what it should. CDP's delivery is fire-and-forget:
 * on a loaded machine Chromium has dropped one (CI, once in many runs: the worker running throughout,
 * the notification never shown in 15 s). A real push service redelivers a message the browser did
 * not acknowledge, so this does too, once, after 5 s, and says so; showing the same tag twice is harmless.
 */
async function pushAndSee(
  ctx: BrowserContext,
  cdp: CDPSession,
  registrationId: string,
  payload: { conversation_id: string; title: string; body: string; unread_count: number },
  expected: { title: string; body: string; tag: string }[],
) {
  const sorted = [...expected].sort((a, b) => a.tag.localeCompare(b.tag));
  await push(cdp, registrationId, payload);
  try {
    await expect.poll(() => notificationsInWorker(ctx), { timeout: 5_000 }).toEqual(sorted);
  } catch {
    console.warn(`push for ${payload.conversation_id} not shown in 5 s: delivering it again`);
    await push(cdp, registrationId, payload);
    await expect.poll(() => notificationsInWorker(ctx)).toEqual(sorted);
  }
}

/**
 * The browser's side of Web Push, played by the test: a key pair and auth secret, an endpoint on a
 * local HTTP server standing in for the push service (development servers accept http://127.0.0.1
 * endpoints), and RFC 8291 decryption with WebCrypto.
 */
async function pushService() {
  const received: { headers: Record<string, string | string[] | undefined>; body: Buffer }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(201).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const keys = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", keys.publicKey)) as ArrayBuffer);
  const auth = crypto.getRandomValues(new Uint8Array(16));
  const { port } = server.address() as { port: number };
  const hkdf = async (salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number) =>
    new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt, info },
        await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]),
        bytes * 8,
      ),
    );
  const text = (s: string) => new TextEncoder().encode(s);
  return {
    received,
    subscription: {
      endpoint: `http://127.0.0.1:${port}/push/web-client-test`,
      keys: { p256dh: Buffer.from(publicKey).toString("base64url"), auth: Buffer.from(auth).toString("base64url") },
    },
    /** aes128gcm (RFC 8188) with the RFC 8291 key schedule: what the browser does before `push`. */
    async decrypt(body: Buffer): Promise<string> {
      const salt = body.subarray(0, 16);
      const idLength = body[20]!;
      const serverKey = body.subarray(21, 21 + idLength);
      const ciphertext = body.subarray(21 + idLength);
      const serverPublic = await crypto.subtle.importKey("raw", serverKey, { name: "ECDH", namedCurve: "P-256" }, false, []);
      const secret = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: serverPublic } as unknown as SubtleCryptoDeriveKeyAlgorithm, keys.privateKey, 256));
      const ikm = await hkdf(auth, secret, Buffer.concat([text("WebPush: info\0"), publicKey, serverKey]), 32);
      const cek = await hkdf(salt, ikm, text("Content-Encoding: aes128gcm\0"), 16);
      const nonce = await hkdf(salt, ikm, text("Content-Encoding: nonce\0"), 12);
      const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
      const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, ciphertext));
      const end = padded.lastIndexOf(2); // the last record's delimiter, then zero padding
      return new TextDecoder().decode(padded.subarray(0, end));
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/**
 * Stands in for the browser's push service connection (which Playwright's incognito contexts lack):
 * PushManager hands out the given subscription. Permission, the service worker and the app's calls
 * are all real.
 */
function fakePushManagerScript(subscription: { endpoint: string; keys: { p256dh: string; auth: string } }): string {
  return `(() => {
    const json = ${JSON.stringify(subscription)};
    const KEY = "test.push-subscribed";
    const make = (serverKey) => ({
      endpoint: json.endpoint,
      options: { userVisibleOnly: true, applicationServerKey: serverKey },
      toJSON: () => ({ endpoint: json.endpoint, expirationTime: null, keys: json.keys }),
      unsubscribe: async () => { localStorage.removeItem(KEY); return true; },
    });
    const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
    const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)).buffer;
    PushManager.prototype.subscribe = async function (options) {
      const key = new Uint8Array(options.applicationServerKey).buffer;
      localStorage.setItem(KEY, b64(key));
      return make(key);
    };
    PushManager.prototype.getSubscription = async function () {
      const key = localStorage.getItem(KEY);
      return key ? make(unb64(key)) : null;
    };
  })();`;
}

async function token(page: Page): Promise<string> {
  return page.evaluate(() => (JSON.parse(localStorage.getItem("parley.session")!) as { token: string }).token);
}

describe("notifications in the web client", () => {
  it("blocked notifications say so, and a browser without a reachable push service says it is not available", async () => {
    // No grant: the browser answers the permission request with "denied".
    const blocked = await registerInBrowser(await context({ notifications: false }), baseUrl, username("nell"), "Nell Park");
    await openSettings(blocked);
    await expect.poll(() => pushSwitch(blocked).isChecked()).toBe(false);
    await pushSwitch(blocked).click();
    await settingsDialog(blocked).getByTestId("push-status").filter({ hasText: "Blocked in your browser settings" }).waitFor();
    await settingsDialog(blocked).getByRole("switch", { name: "Notifications on this device", disabled: true, checked: false }).waitFor();

    // Granted, but the browser cannot subscribe (Playwright's contexts are incognito profiles, where
    // Chromium has no Push API, and there is no network to a push service anyway): the UI says so.
    const page = await registerInBrowser(await context({ notifications: true }), baseUrl, username("nia"), "Nia Diaz");
    await openSettings(page);
    await pushSwitch(page).click();
    await settingsDialog(page).getByRole("alert").filter({ hasText: "Not available in this browser" }).waitFor();
    await settingsDialog(page).getByTestId("push-status").filter({ hasText: "Not available in this browser" }).waitFor();
    await settingsDialog(page).getByRole("switch", { name: "Notifications on this device", disabled: false, checked: false }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem("parley.push"))).toBeNull();
    await shoot(page, "settings");

    // Nothing broke: the dialog closes and the app carries on.
    await settingsDialog(page).getByRole("button", { name: "Close" }).click();
    await settingsDialog(page).waitFor({ state: "hidden" });
    await page.getByRole("button", { name: "New chat" }).click();
    await page.getByRole("dialog", { name: "New chat" }).waitFor();
  });

  it("the service worker shows a pushed message while the app is closed, one per conversation, and stays quiet while the app is in front", async () => {
    const ctx = await context({ notifications: true });
    const ana = username("ana");
    const page = await registerInBrowser(ctx, baseUrl, ana, "Ana Lima");

    // A real conversation with Bo, so the notification's chat can be opened.
    const bo = await ParleyClient.register(baseUrl, { username: username("bo"), password: "correct horse battery", display_name: "Bo Chen" });
    const rest = new RestClient(baseUrl, () => bo.token);
    const anaId = await page.evaluate(() => (JSON.parse(localStorage.getItem("parley.session")!) as { user: { user_id: string } }).user.user_id);
    const { conversation } = await rest.call("createConversation", { body: { type: "direct", member_ids: [anaId] } });
    const conversationId = conversation.conversation_id;

    // The app registers /sw.js when notifications are turned on (here subscribing then fails: no push service).
    await openSettings(page);
    await pushSwitch(page).click();
    await settingsDialog(page).getByRole("alert").filter({ hasText: "Not available in this browser" }).waitFor();
    const scriptURL = await page.evaluate(async () => (await (navigator as unknown as PageSW).serviceWorker.ready).active?.scriptURL);
    expect(scriptURL).toBe(`${origin}/sw.js`);
    await settingsDialog(page).getByRole("button", { name: "Close" }).click();

    // CDP delivers push messages straight to the service worker, without a push service.
    const blank = await ctx.newPage();
    const cdp = await ctx.newCDPSession(blank);
    const registrationId = await appRegistration(cdp);

    // The app is open and focused: the worker shows nothing and tells the app instead.
    const told = page.evaluate(
      () =>
        new Promise<unknown>((resolve) =>
          (navigator as unknown as PageSW).serviceWorker.addEventListener("message", (e) => {
            if ((e.data as { type?: string } | null)?.type === "parley:push") resolve(e.data);
          }),
        ),
    );
    await push(cdp, registrationId, { conversation_id: conversationId, title: "Bo Chen", body: "Are you there?", unread_count: 1 });
    expect(await told).toEqual({ type: "parley:push", conversation_id: conversationId });
    expect(await notificationsIn(page)).toEqual([]);

    // The app is closed: the push shows as a notification; a newer one for the same chat replaces it.
    await page.close();
    // Until the worker no longer lists the closed window, a push would still find the app in front.
    await expect.poll(() => appWindowsInWorker(ctx)).toBe(0);
    await pushAndSee(ctx, cdp, registrationId, { conversation_id: conversationId, title: "Bo Chen", body: "Lunch tomorrow?", unread_count: 2 }, [
      { title: "Bo Chen", body: "Lunch tomorrow?", tag: conversationId },
    ]);
    await pushAndSee(ctx, cdp, registrationId, { conversation_id: conversationId, title: "Bo Chen", body: "3 new messages", unread_count: 4 }, [
      { title: "Bo Chen", body: "3 new messages", tag: conversationId },
    ]);
    await pushAndSee(ctx, cdp, registrationId, { conversation_id: "another-chat", title: "Cy", body: "Hi", unread_count: 1 }, [
      { title: "Bo Chen", body: "3 new messages", tag: conversationId },
      { title: "Cy", body: "Hi", tag: "another-chat" },
    ]);

    // Read back in the app: title, body, the conversation as tag, and its id (and unread count) as data.
    const again = await ctx.newPage();
    await again.goto(baseUrl);
    await again.getByRole("navigation", { name: "Conversations" }).waitFor();
    const shown = await notificationsIn(again);
    expect(shown.find((n) => n.tag === conversationId)).toEqual({
      title: "Bo Chen",
      body: "3 new messages",
      tag: conversationId,
      data: { conversation_id: conversationId, unread_count: 4 },
    });

    // A click on a notification makes the worker post "parley:open" to the app window (CDP cannot
    // click a notification; this drives the app's half of it): the chat opens, and opening it
    // dismisses its notification.
    await (await appWorker(ctx)).evaluate((id) => {
      return (self as unknown as WorkerScope).clients
        .matchAll({ type: "window", includeUncontrolled: true })
        .then((windows) => windows.forEach((w) => w.postMessage({ type: "parley:open", conversation_id: id })));
    }, conversationId);
    await again.getByRole("heading", { name: "Bo Chen" }).waitFor();
    expect(new URL(again.url()).hash).toBe(`#/c/${encodeURIComponent(conversationId)}`);
    await expect.poll(async () => (await notificationsIn(again)).map((n) => n.tag)).toEqual(["another-chat"]);
  });

  it("message previews, last seen and keeping chats archived are saved to the account and kept after a reload", async () => {
    const page = await registerInBrowser(await context({ notifications: false }), baseUrl, username("ola"), "Ola Berg");
    await openSettings(page);
    expect(await previewsSwitch(page).isChecked()).toBe(true);
    expect(await lastSeenSwitch(page).isChecked()).toBe(true);

    await previewsSwitch(page).click();
    await settingsDialog(page).getByRole("switch", { name: "Show message text in notifications", checked: false, disabled: false }).waitFor();
    await lastSeenSwitch(page).click();
    await settingsDialog(page).getByRole("switch", { name: "Share my last seen", checked: false, disabled: false }).waitFor();
    const keepArchived = settingsDialog(page).getByRole("switch", { name: "Keep chats archived" });
    expect(await keepArchived.isChecked()).toBe(false);
    await keepArchived.click();
    await settingsDialog(page).getByRole("switch", { name: "Keep chats archived", checked: true, disabled: false }).waitFor();

    const me = async () =>
      (await (await fetch(`${baseUrl}/api/v1/users/me`, { headers: { Authorization: `Bearer ${await token(page)}` } })).json()) as {
        settings: { push_previews: boolean; last_seen_visible: boolean; keep_archived: boolean };
      };
    expect((await me()).settings).toMatchObject({
      push_previews: false,
      last_seen_visible: false,
      keep_archived: true,
      groups_add: "everyone",
      presence_visible_to: "everyone",
    });

    await page.reload();
    await openSettings(page);
    expect(await previewsSwitch(page).isChecked()).toBe(false);
    expect(await lastSeenSwitch(page).isChecked()).toBe(false);

    // And back on.
    await previewsSwitch(page).click();
    await settingsDialog(page).getByRole("switch", { name: "Show message text in notifications", checked: true, disabled: false }).waitFor();
    expect((await me()).settings).toMatchObject({ push_previews: true, last_seen_visible: false });
    await page.reload();
    await openSettings(page);
    expect(await previewsSwitch(page).isChecked()).toBe(true);
    expect(await lastSeenSwitch(page).isChecked()).toBe(false);
  });

  it("turned on, the app registers this device's subscription; a message while the app is closed is pushed, decrypts to the payload, and the worker shows it; turned off, it is removed", async () => {
    const service = await pushService();
    try {
      const ctx = await context({ notifications: true });
      await ctx.addInitScript({ content: fakePushManagerScript(service.subscription) });
      const page = await registerInBrowser(ctx, baseUrl, username("ana"), "Ana Lima");
      const [anaId, deviceId] = await page.evaluate(() => [
        (JSON.parse(localStorage.getItem("parley.session")!) as { user: { user_id: string } }).user.user_id,
        localStorage.getItem("parley.device_id")!,
      ]);
      const isSubscribe = (r: { url(): string; request(): { method(): string } }) => r.url().endsWith("/api/v1/push/subscriptions") && r.request().method() === "POST";

      await openSettings(page);
      const subscribed = page.waitForResponse(isSubscribe);
      await pushSwitch(page).click();
      const response = await subscribed;
      expect(response.status()).toBe(201);
      expect(response.request().postDataJSON()).toEqual({ device_id: deviceId, ...service.subscription });
      await settingsDialog(page).getByRole("switch", { name: "Notifications on this device", checked: true, disabled: false }).waitFor();
      await settingsDialog(page).getByTestId("push-status").filter({ hasText: "You'll be notified" }).waitFor();
      expect(await page.evaluate(() => localStorage.getItem("parley.push"))).toBe(anaId);

      // After a reload the app re-registers the worker and re-sends the subscription; the switch stays on.
      const resent = page.waitForResponse(isSubscribe);
      await page.reload();
      expect((await resent).status()).toBe(201);
      await openSettings(page);
      expect(await pushSwitch(page).isChecked()).toBe(true);

      // Ana closes the app; once the server sees her offline, Bo's message is pushed to her endpoint.
      const bo = await ParleyClient.register(baseUrl, { username: username("bo"), password: "correct horse battery", display_name: "Bo Chen" });
      const rest = new RestClient(baseUrl, () => bo.token);
      const { conversation } = await rest.call("createConversation", { body: { type: "direct", member_ids: [anaId] } });
      await page.close();
      await expect.poll(() => appWindowsInWorker(ctx)).toBe(0);
      await expect.poll(async () => (await rest.call("presence", { user_id: anaId })).status, { timeout: 30_000 }).toBe("offline");
      await rest.call("sendMessage", {
        conversation_id: conversation.conversation_id,
        body: { content: "Dinner at 8?", content_type: "text", client_msg_id: "push-1" },
      });
      await expect.poll(() => service.received.length, { timeout: 30_000 }).toBe(1);
      const delivered = service.received[0]!;
      expect(delivered.headers["content-encoding"]).toBe("aes128gcm");
      expect(delivered.headers.urgency).toBe("high");
      const plaintext = await service.decrypt(delivered.body);
      expect(JSON.parse(plaintext)).toEqual({ conversation_id: conversation.conversation_id, title: "Bo Chen", body: "Dinner at 8?", unread_count: 1 });

      // What the push service would hand the browser goes to the worker as is (CDP), and shows.
      const blank = await ctx.newPage();
      const cdp = await ctx.newCDPSession(blank);
      const registrationId = await appRegistration(cdp);
      await cdp.send("ServiceWorker.deliverPushMessage", { origin, registrationId, data: plaintext });
      await expect.poll(() => notificationsInWorker(ctx)).toEqual([{ title: "Bo Chen", body: "Dinner at 8?", tag: conversation.conversation_id }]);

      // Turned off: the browser's subscription and the server's copy go (204: the server had it).
      const back = await ctx.newPage();
      await back.goto(baseUrl);
      await openSettings(back);
      const removed = back.waitForResponse((r) => r.url().endsWith(`/api/v1/push/subscriptions/${deviceId}`) && r.request().method() === "DELETE");
      await pushSwitch(back).click();
      expect((await removed).status()).toBe(204);
      await settingsDialog(back).getByRole("switch", { name: "Notifications on this device", checked: false, disabled: false }).waitFor();
      expect(await back.evaluate(() => [localStorage.getItem("parley.push"), localStorage.getItem("test.push-subscribed")])).toEqual([null, null]);
    } finally {
      await service.close();
    }
  });
});
