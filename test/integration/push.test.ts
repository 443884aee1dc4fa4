import { env, exports } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userHome } from "../../src/objects/homes";
import { consumePushJobs, PushJob } from "../../src/queues/push";
import type { UserObject } from "../../src/objects/user/UserObject";
import { MUTED_FOREVER } from "../../src/protocol";
import { api, connect, directConversation, registerUser, type Account } from "../helpers/client";
import { png, upload } from "../helpers/media";
import { b64url, decryptPush, pushBrowser, recordedPushes, subscriptionOf, type PushBrowser } from "../helpers/webpush";

/**
 * Web Push end to end against a local push service (test/helpers/globalPush.ts). The test plays the
 * browser: it makes its own P-256 key pair and auth secret, and decrypts what arrives with WebCrypto
 * — an RFC 8291 implementation of its own, independent of web-push's, which encrypted it.
 */
const enc = new TextEncoder();
const fromB64url = (s: string) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

async function subscribe(who: Account, b: PushBrowser, deviceId = "laptop") {
  return api("POST", "/api/v1/push/subscriptions", { token: who.token, body: { device_id: deviceId, ...subscriptionOf(b) } });
}

async function waitFor<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** RFC 8292: `vapid t=<JWT>, k=<public key>`; the ES256 JWT must verify against the server's key. */
async function verifyVapid(headers: Record<string, string>, endpoint: string) {
  const match = /^vapid t=([^,]+),\s*k=(.+)$/.exec(headers.authorization ?? "");
  expect(match, `Authorization: ${headers.authorization}`).not.toBeNull();
  const [, jwt, k] = match!;
  expect(k).toBe(env.VAPID_PUBLIC_KEY);
  const [head, claims, signature] = jwt!.split(".");
  const key = await crypto.subtle.importKey("raw", fromB64url(k!), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const valid = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, fromB64url(signature!), enc.encode(`${head}.${claims}`));
  expect(valid).toBe(true);
  expect(JSON.parse(new TextDecoder().decode(fromB64url(head!)))).toMatchObject({ alg: "ES256", typ: "JWT" });
  const payload = JSON.parse(new TextDecoder().decode(fromB64url(claims!)));
  expect(payload.aud).toBe(new URL(endpoint).origin);
  expect(payload.sub).toMatch(/^mailto:/);
  expect(payload.exp * 1000).toBeGreaterThan(Date.now());
  expect(payload.exp * 1000).toBeLessThanOrEqual(Date.now() + 24 * 3600 * 1000);
  // A tampered token does not verify: the check can fail.
  const forged = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, fromB64url(signature!), enc.encode(`${head}.${claims}x`));
  expect(forged).toBe(false);
}

function userObject(who: Account) {
  return userHome(env, who.user.user_id);
}

async function send(from: Account, conversation: string, content: string) {
  const res = await api("POST", `/api/v1/conversations/${conversation}/messages`, {
    token: from.token,
    body: { content, content_type: "text", client_msg_id: crypto.randomUUID() },
  });
  expect(res.status).toBe(201);
}

async function pairWithBrowser(status = 201) {
  const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
  const conversation = await directConversation(ana, bo);
  const b = await pushBrowser(status);
  expect((await subscribe(bo, b)).status).toBe(201);
  return { ana, bo, conversation, b };
}

describe("push notifications", () => {
  it("publishes the VAPID key and validates subscriptions", async () => {
    const ana = await registerUser("ana");
    const { body } = await api("GET", "/api/v1/push/vapid-public-key", { token: ana.token });
    expect(body.key).toBe(env.VAPID_PUBLIC_KEY);
    expect(fromB64url(body.key)).toHaveLength(65);
    const b = await pushBrowser();
    const bad = (keys: object, endpoint = b.endpoint) =>
      api("POST", "/api/v1/push/subscriptions", { token: ana.token, body: { device_id: "d1", endpoint, keys } });
    expect((await bad({ p256dh: b64url(b.publicKey.slice(0, 64)), auth: b64url(b.auth) })).status).toBe(400);
    expect((await bad({ p256dh: b64url(b.publicKey), auth: b64url(b.auth.slice(0, 8)) })).status).toBe(400);
    const notAPoint = new Uint8Array(65).fill(7);
    expect((await bad({ p256dh: b64url(notAPoint), auth: b64url(b.auth) })).status).toBe(400);
    expect((await bad({ p256dh: b64url(b.publicKey), auth: b64url(b.auth) }, "http://push.example.com/x")).status).toBe(400);
    expect((await bad({ p256dh: b64url(b.publicKey), auth: b64url(b.auth) }, "ftp://127.0.0.1/x")).status).toBe(400);
    // https is not enough: the push consumer would POST wherever the subscription points.
    for (const aimed of [
      "https://169.254.169.254/latest/meta-data/",
      "https://internal.example.com/admin",
      "https://10.0.0.7/push",
      "https://fcm.googleapis.com.evil.example/x",
      "https://evilfcm.googleapis.com/x",
      "https://fcm.googleapis.com:8443/x",
      "https://user:pw@fcm.googleapis.com/x",
    ]) {
      const refused = await bad({ p256dh: b64url(b.publicKey), auth: b64url(b.auth) }, aimed);
      expect(refused.status, aimed).toBe(400);
      expect(refused.body.error.code, aimed).toBe("bad_request");
    }
    for (const real of ["https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/wpush/v2/x", "https://wns2-by3p.notify.windows.com/w/?token=x", "https://web.push.apple.com/QX"]) {
      expect((await bad({ p256dh: b64url(b.publicKey), auth: b64url(b.auth) }, real)).status, real).toBe(201);
    }
    expect((await subscribe(ana, b, "d1")).status).toBe(201);
    expect((await api("DELETE", "/api/v1/push/subscriptions/d1", { token: ana.token })).status).toBe(204);
    expect((await api("DELETE", "/api/v1/push/subscriptions/d1", { token: ana.token })).status).toBe(404);
  });

  it("never fetches a queued push whose endpoint is not allowed (stored before the list, or the list changed)", async () => {
    const b = await pushBrowser();
    const outcomes: string[] = [];
    const job = (endpoint: string) => ({
      id: endpoint,
      attempts: 1,
      body: PushJob.parse({
        user_id: "u_nobody",
        device_id: "d",
        subscription: { endpoint, keys: subscriptionOf(b).keys },
        payload: { conversation_id: "d_x", title: "t", body: "b", unread_count: 1 },
        topic: "t",
        urgency: "high",
      }),
      ack: () => outcomes.push(`ack ${endpoint}`),
      retry: () => outcomes.push(`retry ${endpoint}`),
    });
    // A fetch to either would fail here (no such service) and be retried: an ack without a retry
    // means it was refused before any request was made.
    const aimed = ["https://169.254.169.254/latest/meta-data/", "http://10.0.0.7/push"];
    await consumePushJobs({ messages: aimed.map(job) } as unknown as MessageBatch<unknown>, env);
    expect(outcomes.sort()).toEqual(aimed.map((e) => `ack ${e}`).sort());
  });

  it("delivers a real push to an offline user: it decrypts with the browser's key and the VAPID token verifies", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    await send(ana, conversation, "Are you coming tonight?");
    const [push] = await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "a push");
    expect(push!.headers["content-encoding"]).toBe("aes128gcm");
    expect(Number(push!.headers.ttl)).toBeGreaterThan(0);
    expect(push!.headers.urgency).toBe("high");
    expect(push!.headers.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    await verifyVapid(push!.headers, b.endpoint);
    expect(await decryptPush(b, push!.body)).toEqual({
      conversation_id: conversation,
      title: ana.user.display_name,
      body: "Are you coming tonight?",
      unread_count: 1,
    });
    void bo;
  });

  it("shows the sender's photo: the payload's icon is a same-origin URL of its thumbnail that works without a token", async () => {
    const { ana, conversation, b } = await pairWithBrowser();
    const photo = await upload(ana, png(96, 96), "image/png");
    expect((await api("PATCH", "/api/v1/users/me", { token: ana.token, body: { display_name: "Ana Photo", photo_media_id: photo } })).status).toBe(200);
    await send(ana, conversation, "look at my new photo");
    const [push] = await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "a push");
    const payload = (await decryptPush(b, push!.body)) as { title: string; icon?: string };
    expect(payload.title).toBe("Ana Photo");
    expect(payload.icon).toMatch(new RegExp(`^/api/v1/media/${photo}/view\\?variant=thumbnail&expires=\\d+&sig=[0-9a-f]{64}$`));
    // The notification loads it as a plain image request, once the thumbnail is made.
    await expect
      .poll(async () => (await exports.default.fetch(`http://localhost${payload.icon}`)).headers.get("content-type"), { timeout: 10_000 })
      .toBe("image/jpeg");
  });

  it("sends a push that was decided but not yet queued when the object died (the outbox), once, and empties the outbox", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    // A normal push leaves nothing behind in the outbox.
    await send(ana, conversation, "first");
    await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "the first push");
    const outboxOf = () =>
      runInDurableObject(userObject(bo), (_o, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_outbox WHERE user_id = ?", bo.user.user_id).one().n,
      );
    await waitFor(outboxOf, (n) => n === 0, "the outbox to empty");
    // The state a crash leaves: the window and the outbox row committed (with its alarm task booked,
    // as queuePush does in the same transaction), the queue never asked.
    await runInDurableObject(userObject(bo), async (_o, state) => {
      const at = Date.now() + 10_000;
      state.storage.sql.exec(
        "INSERT INTO push_outbox (user_id, conversation_id, count, sender_id, latest, created_at) VALUES (?, ?, 1, ?, ?, ?)",
        bo.user.user_id,
        conversation,
        ana.user.user_id,
        "left behind by a crash",
        Date.now(),
      );
      state.storage.sql.exec(
        "INSERT INTO alarm_tasks (task, subject, due_at) VALUES ('push', '', ?) ON CONFLICT (task, subject) DO UPDATE SET due_at = MIN(due_at, excluded.due_at)",
        at,
      );
      await state.storage.setAlarm(at);
    });
    await evictDurableObject(userObject(bo));
    await waitFor(async () => runDurableObjectAlarm(userObject(bo)), (ran) => ran, "the alarm", 10_000);
    const pushes = await waitFor(() => recordedPushes(b), (r) => r.length >= 2, "the push from the outbox");
    expect(await decryptPush(b, pushes[1]!.body)).toMatchObject({ conversation_id: conversation, body: "left behind by a crash" });
    await waitFor(outboxOf, (n) => n === 0, "the outbox to empty");
    expect((await recordedPushes(b)).length).toBe(2);
  });

  it("logging out everywhere deletes the user's push subscriptions: no push reaches a logged-out device", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    const subscriptions = () =>
      runInDurableObject(userObject(bo), (_o, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_subscriptions WHERE user_id = ?", bo.user.user_id).one().n,
      );
    expect(await subscriptions()).toBe(1);
    expect((await api("POST", "/api/v1/auth/logout", { token: bo.token, body: { all: true } })).status).toBe(204);
    expect(await subscriptions()).toBe(0);
    // A message for Bo now decides no push: once his inbox has it, nothing waits in a window or the outbox.
    await send(ana, conversation, "after the logout");
    const state = () =>
      runInDurableObject(userObject(bo), (_o, st) => ({
        inbox: st.storage.sql.exec<{ s: number }>("SELECT COALESCE(MAX(c.last_seq), 0) AS s FROM inbox i JOIN conversations c USING (conversation_id) WHERE i.user_id = ?", bo.user.user_id).one().s,
        windows: st.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_windows WHERE user_id = ?", bo.user.user_id).one().n,
        outbox: st.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_outbox WHERE user_id = ?", bo.user.user_id).one().n,
      }));
    await waitFor(state, (s) => s.inbox >= 1, "Bo's inbox to have the message");
    expect(await state()).toMatchObject({ windows: 0, outbox: 0 });
    expect(await recordedPushes(b)).toEqual([]);
  });

  it("coalesces ten quick messages into fewer pushes, with the right unread count", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    for (let i = 1; i <= 10; i++) await send(ana, conversation, `message ${i}`);
    await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "the first push");
    // The rest wait for the 30 s window to end: run that alarm now (its booked time counts as now).
    await waitFor(async () => runDurableObjectAlarm(userObject(bo)), (ran) => ran, "the coalescing alarm", 10_000);
    const pushes = await waitFor(() => recordedPushes(b), (r) => r.length >= 2, "the coalesced push");
    const payloads = (await Promise.all(pushes.map((p) => decryptPush(b, p.body)))) as { body: string; unread_count: number }[];
    expect(pushes.length).toBeLessThan(10);
    expect(payloads[0]).toMatchObject({ body: "message 1", unread_count: 1 });
    expect(payloads.at(-1)).toMatchObject({ body: "9 new messages", unread_count: 10 });
    expect(new Set(pushes.map((p) => p.headers.topic)).size).toBe(1); // one topic per conversation
  });

  it("counts a message delivered again once: an object that lost its unwritten inbox is not pushed twice", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    await send(ana, conversation, "first");
    await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "the first push");
    await send(ana, conversation, "second");
    await send(ana, conversation, "third");
    const pushWindow = () =>
      runInDurableObject(userObject(bo), (_o: UserObject, state) =>
        state.storage.sql
          .exec<{ pending: number }>("SELECT pending FROM push_windows WHERE user_id = ? AND conversation_id = ?", bo.user.user_id, conversation)
          .one().pending,
      );
    await waitFor(pushWindow, (n) => n === 2, "two messages waiting for the window");
    // Bo's object crashes holding its inbox head unwritten (aborted: what it held in memory is
    // gone), so fan-out's confirmation finds it short and delivers all three again.
    await runInDurableObject(userObject(bo), (_o: UserObject, state) => state.abort("injected: crash holding inbox writes")).catch((err: unknown) => {
      if (!String(err).includes("injected")) throw err;
    });
    await waitFor(async () => (await api("GET", "/api/v1/conversations", { token: bo.token })).body.conversations[0]?.unread_count, (n) => n === 3, "the redelivery", 15_000);
    expect(await pushWindow()).toBe(2);
    await waitFor(async () => runDurableObjectAlarm(userObject(bo)), (ran) => ran, "the coalescing alarm", 10_000);
    const pushes = await waitFor(() => recordedPushes(b), (r) => r.length >= 2, "the coalesced push");
    const payloads = (await Promise.all(pushes.map((p) => decryptPush(b, p.body)))) as { body: string }[];
    expect(payloads.map((p) => p.body)).toEqual(["first", "2 new messages"]);
  });

  it("sends nothing to a user with a device connected", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    const socket = await connect(bo.token, "bo-phone");
    await send(ana, conversation, "you're online");
    await socket.next("new_message");
    socket.close();
    const windows = await runInDurableObject(userObject(bo), (_: UserObject, state) =>
      state.storage.sql.exec("SELECT * FROM push_windows WHERE user_id = ?", bo.user.user_id).toArray(),
    );
    expect(windows).toEqual([]);
    expect(await recordedPushes(b)).toEqual([]);
  });

  it("forgets a subscription the push service says is gone (410)", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser(410);
    await send(ana, conversation, "hello?");
    await waitFor(() => userObject(bo).pushStats(bo.user.user_id), (s) => s.subscriptions === 0, "the subscription to be forgotten");
    expect(await recordedPushes(b)).toHaveLength(1);
  });

  it("retries a push that fails with 500, then dead-letters and counts it", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser(500);
    await send(ana, conversation, "anyone?");
    await waitFor(() => userObject(bo).pushStats(bo.user.user_id), (s) => s.dead_letters === 1, "the dead letter", 45_000);
    expect((await recordedPushes(b)).length).toBe(4); // the first attempt and 3 retries (max_retries in wrangler.toml)
    expect((await userObject(bo).pushStats(bo.user.user_id)).subscriptions).toBe(1); // a 500 does not end the subscription
  });

  it("leaves the message text out when previews are off", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    const off = await api("PATCH", "/api/v1/users/me", { token: bo.token, body: { push_previews: false } });
    expect(off.body.settings).toEqual({ last_seen_visible: true, push_previews: false, groups_add: "everyone", presence_visible_to: "everyone", keep_archived: false, photo_visible_to: "everyone", about_visible_to: "everyone", read_receipts: true });
    await send(ana, conversation, "the secret is 4711");
    const [push] = await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "a push");
    const payload = (await decryptPush(b, push!.body)) as { body: string };
    expect(payload.body).toBe("New message");
    expect(JSON.stringify(payload)).not.toContain("4711");
  });

  it("pushes a reaction to its author only, not counted unread; edits and reactions to others' messages push nothing", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    const bos = await api("POST", `/api/v1/conversations/${conversation}/messages`, { token: bo.token, body: { content: "lunch?", content_type: "text", client_msg_id: "b1" } });
    const anas = await api("POST", `/api/v1/conversations/${conversation}/messages`, { token: ana.token, body: { content: "ok", content_type: "text", client_msg_id: "a1" } });
    await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "the push of ana's message");
    const action = (on: string, body: object) => api("POST", `/api/v1/conversations/${conversation}/messages/${on}/actions`, { token: ana.token, body });
    // Ana edits and reacts to her own message: nothing for Bo's phone. Then she reacts to Bo's.
    expect((await action(anas.body.server_msg_id, { action: "edit", content: "ok!", client_msg_id: "e1" })).status).toBe(201);
    expect((await action(anas.body.server_msg_id, { action: "reaction", content: "😂", client_msg_id: "x1" })).status).toBe(201);
    expect((await action(bos.body.server_msg_id, { action: "reaction", content: "👍", client_msg_id: "x2" })).status).toBe(201);
    // Inside the first push's window: coalesced like a message, sent when the window ends (the
    // object's alarm; other tasks may come first, so alarms run until the push is there).
    const pushes = await waitFor(
      async () => {
        await runDurableObjectAlarm(userObject(bo));
        return recordedPushes(b);
      },
      (r) => r.length >= 2,
      "the reaction's push",
      10_000,
    );
    const payloads = (await Promise.all(pushes.map((p) => decryptPush(b, p.body)))) as { body: string; unread_count: number }[];
    expect(payloads.map((p) => p.body)).toEqual(["ok", "Reacted 👍 to your message"]);
    expect(payloads[1]!.unread_count).toBe(1); // still only Ana's one message to read
  });

  it("never pushes a message deleted for everyone before its push went out", async () => {
    const { ana, bo, conversation, b } = await pairWithBrowser();
    await send(ana, conversation, "first");
    await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "the first push");
    await send(ana, conversation, "second");
    const secret = await api("POST", `/api/v1/conversations/${conversation}/messages`, { token: ana.token, body: { content: "pin 8642", content_type: "text", client_msg_id: "s1" } });
    const pending = () =>
      runInDurableObject(userObject(bo), (_o: UserObject, state) =>
        state.storage.sql.exec<{ pending: number }>("SELECT pending FROM push_windows WHERE user_id = ? AND conversation_id = ?", bo.user.user_id, conversation).one().pending,
      );
    await waitFor(pending, (n) => n === 2, "two messages waiting for the window");
    const del = await api("POST", `/api/v1/conversations/${conversation}/messages/${secret.body.server_msg_id}/actions`, {
      token: ana.token,
      body: { action: "delete", client_msg_id: "d1" },
    });
    expect(del.status).toBe(201);
    await waitFor(pending, (n) => n === 1, "the deleted message dropped from the window");
    await waitFor(async () => runDurableObjectAlarm(userObject(bo)), (ran) => ran, "the coalescing alarm", 10_000);
    const pushes = await waitFor(() => recordedPushes(b), (r) => r.length >= 2, "the coalesced push");
    const payloads = (await Promise.all(pushes.map((p) => decryptPush(b, p.body)))) as { body: string }[];
    expect(payloads.map((p) => p.body)).toEqual(["first", "New message"]);
    expect(JSON.stringify(payloads)).not.toContain("8642");
  });

  it("pushes a mention at once, without waiting for the window", async () => {
    const [ana, bo, cy] = await Promise.all([registerUser("ana"), registerUser("bo"), registerUser("cy")]);
    const { conversation } = (await api("POST", "/api/v1/conversations", { token: ana.token, body: { type: "group", name: "crew", member_ids: [bo.user.user_id, cy.user.user_id] } })).body;
    const group: string = conversation.conversation_id;
    const b = await pushBrowser();
    expect((await subscribe(bo, b)).status).toBe(201);
    await send(ana, group, "morning all");
    await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "the first push");
    await send(ana, group, "anyone up?"); // waits for the window
    const mention = await api("POST", `/api/v1/conversations/${group}/messages`, {
      token: ana.token,
      body: { content: "@bo can you check", content_type: "text", client_msg_id: "m1", mentions: [{ user_id: bo.user.user_id, offset: 0, length: 3 }] },
    });
    expect(mention.status).toBe(201);
    // No alarm is run: the mention does not wait for the 30 s window.
    const pushes = await waitFor(() => recordedPushes(b), (r) => r.length >= 2, "the mention's push", 10_000);
    const last = (await decryptPush(b, pushes[1]!.body)) as { body: string; unread_count: number };
    expect(last.body).toBe("2 new messages");
    expect(last.unread_count).toBe(4); // "group created", and Ana's three
  });

  it("pushes nothing for a muted conversation except mentions, and pushes again once the mute ends", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const { conversation } = (await api("POST", "/api/v1/conversations", { token: ana.token, body: { type: "group", name: "quiet", member_ids: [bo.user.user_id] } })).body;
    const group: string = conversation.conversation_id;
    const b = await pushBrowser();
    expect((await subscribe(bo, b)).status).toBe(201);
    const mute = (muted_until: number | "always" | null) => api("PATCH", `/api/v1/conversations/${group}/settings`, { token: bo.token, body: { muted_until } });
    expect(await mute("always")).toMatchObject({ status: 200, body: { settings: { muted_until: MUTED_FOREVER } } });
    const inboxHead = () =>
      runInDurableObject(userObject(bo), (_o: UserObject, st) =>
        st.storage.sql.exec<{ s: number }>("SELECT last_seq AS s FROM conversations WHERE conversation_id = ?", group).one().s,
      );
    const state = () =>
      runInDurableObject(userObject(bo), (_o: UserObject, st) => ({
        pending: st.storage.sql.exec<{ n: number }>("SELECT COALESCE(SUM(pending), 0) AS n FROM push_windows WHERE user_id = ?", bo.user.user_id).one().n,
        outbox: st.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_outbox WHERE user_id = ?", bo.user.user_id).one().n,
      }));

    // Muted: two messages reach Bo's inbox and nothing is pushed, nor waits to be.
    await send(ana, group, "lunch?");
    await send(ana, group, "anyone?");
    await waitFor(inboxHead, (seq) => seq >= 3, "Bo's inbox to have both");
    // (No alarm is run here: running it early would jump to its booked time, which may be the end of Bo's session.)
    expect(await state()).toEqual({ pending: 0, outbox: 0 });
    expect(await recordedPushes(b)).toEqual([]);

    // A mention is pushed despite the mute, and only the mention.
    const mention = await api("POST", `/api/v1/conversations/${group}/messages`, {
      token: ana.token,
      body: { content: "@bo are you coming", content_type: "text", client_msg_id: "quiet-m1", mentions: [{ user_id: bo.user.user_id, offset: 0, length: 3 }] },
    });
    expect(mention.status).toBe(201);
    const pushes = await waitFor(() => recordedPushes(b), (r) => r.length >= 1, "the mention's push", 10_000);
    expect(pushes).toHaveLength(1);
    expect(await decryptPush(b, pushes[0]!.body)).toMatchObject({ body: expect.stringMatching(/: @bo are you coming$/) });

    // The mute runs out (as if its 8 hours had passed): messages are pushed again.
    await mute(Date.now() + 8 * 3600_000);
    await runInDurableObject(userObject(bo), (_o: UserObject, st) => {
      st.storage.sql.exec("UPDATE inbox SET muted_until = ? WHERE user_id = ? AND conversation_id = ?", Date.now() - 1, bo.user.user_id, group);
    });
    await send(ana, group, "we're leaving");
    await waitFor(inboxHead, (seq) => seq >= 5, "Bo's inbox to have it");
    // It waits for the window the mention opened: the coalescing alarm sends it.
    const after = await waitFor(
      async () => {
        await runDurableObjectAlarm(userObject(bo));
        return recordedPushes(b);
      },
      (r) => r.length >= 2,
      "the push after the mute",
      10_000,
    );
    expect(await decryptPush(b, after[1]!.body)).toMatchObject({ body: expect.stringMatching(/: we're leaving$/) });

    // Unmuted outright: pushed as before (a mute of a time already past answers as unmuted).
    expect(await mute(Date.now() - 1000)).toMatchObject({ status: 200, body: { settings: { muted_until: null } } });
    expect(await mute(null)).toMatchObject({ status: 200, body: { settings: { muted_until: null } } });
  });
});
