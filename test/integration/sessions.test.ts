import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userHome } from "../../src/objects/homes";
import { Limits } from "../../src/protocol";
import { api, connect, directConversation, registerUser, type Account } from "../helpers/client";
import { taskDueAt } from "../helpers/objects";
import { pushBrowser, subscriptionOf } from "../helpers/webpush";

type Res = { status: number; body: any };
const code = (res: Res) => [res.status, res.body?.error?.code];
const claimsOf = (token: string) => JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { sid: string; ver: number; iat: number; exp: number };
const refresh = (token: string): Promise<Res> => api("POST", "/api/v1/auth/refresh", { token });

async function pushDevices(who: Account): Promise<string[]> {
  return runInDurableObject(userHome(env, who.user.user_id), (_o, state) =>
    state.storage.sql
      .exec<{ device_id: string }>("SELECT device_id FROM push_subscriptions WHERE user_id = ? ORDER BY device_id", who.user.user_id)
      .toArray()
      .map((r) => r.device_id),
  );
}

const login = async (username: string) =>
  (await api("POST", "/api/v1/auth/login", { body: { username, password: "correct horse battery" } })).body as { token: string };

describe("sessions: refresh and logout", () => {
  it("refresh rotates: each token replaces the one before, which stops working; the session keeps its id", async () => {
    const ana = await registerUser("ana");
    const first = claimsOf(ana.token);
    const v1 = await refresh(ana.token);
    expect(v1.status).toBe(200);
    expect(v1.body.user).toEqual(ana.user);
    const c1 = claimsOf(v1.body.token);
    expect([c1.sid, c1.ver, c1.exp - c1.iat]).toEqual([first.sid, first.ver + 1, 24 * 3600]);
    const v2 = await refresh(v1.body.token);
    expect(claimsOf(v2.body.token).ver).toBe(first.ver + 2);
    // Two versions back: gone at once (one version back has a 30 s grace for two tabs refreshing together).
    expect(code(await api("GET", "/api/v1/users/me", { token: ana.token }))).toEqual([401, "unauthorized"]);
    expect((await api("GET", "/api/v1/users/me", { token: v2.body.token })).status).toBe(200);
  });

  it("two tabs refreshing the same token at once both get the current token, not a reuse alarm", async () => {
    const ana = await registerUser("ana");
    const [a, b] = await Promise.all([refresh(ana.token), refresh(ana.token)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(claimsOf(a.body.token).ver).toBe(claimsOf(b.body.token).ver);
    expect((await api("GET", "/api/v1/users/me", { token: b.body.token })).status).toBe(200);
  });

  it("a replaced token brought back to refresh ends the whole session: its tokens, sockets and push subscriptions", async () => {
    const ana = await registerUser("ana");
    const stolen = ana.token;
    const v1 = (await refresh(ana.token)).body.token as string;
    const v2 = (await refresh(v1)).body.token as string;
    const socket = await connect(v2, "phone");
    const browser = await pushBrowser();
    expect((await api("POST", "/api/v1/push/subscriptions", { token: v2, body: { device_id: "phone", ...subscriptionOf(browser) } })).status).toBe(201);
    // Another session of hers is not touched.
    const laptop = await login(ana.user.username);
    expect((await api("POST", "/api/v1/push/subscriptions", { token: laptop.token, body: { device_id: "laptop", ...subscriptionOf(browser) } })).status).toBe(201);

    expect(code(await refresh(stolen))).toEqual([401, "unauthorized"]);
    await socket.until((s) => s.closed !== null, "the session's socket to close");
    expect(socket.closed!.code).toBe(4003);
    expect(code(await api("GET", "/api/v1/users/me", { token: v2 }))).toEqual([401, "unauthorized"]);
    expect(code(await refresh(v2))).toEqual([401, "unauthorized"]);
    expect(await pushDevices(ana)).toEqual(["laptop"]);
    expect((await api("GET", "/api/v1/users/me", { token: laptop.token })).status).toBe(200);
  });

  it("a session ends at its lifetime however often it was refreshed: its token stops working and its sockets close by themselves", async () => {
    const ana = await registerUser("ana");
    const token = (await refresh(ana.token)).body.token as string;
    const socket = await connect(token, "phone");
    const { sid } = claimsOf(token);
    // As if logged in 30 days ago: the session ends in a moment, and the object's own alarm closes its socket.
    const at = Date.now() + 300;
    await runInDurableObject(userHome(env, ana.user.user_id), (_o, state) => {
      state.storage.sql.exec("UPDATE sessions SET expires_at = ? WHERE session_id = ?", at, sid);
    });
    // Its alarm task comes due then, as the object booked it when the session started.
    await taskDueAt(userHome(env, ana.user.user_id), "sessions", at);
    await socket.until((s) => s.closed !== null, "the expired session's socket to close");
    expect(socket.closed!.code).toBe(4003);
    expect(code(await refresh(token))).toEqual([401, "unauthorized"]);
    // A Worker isolate may have found the token valid within the last 5 s (middleware/auth.ts): at most that long.
    await expect.poll(async () => code(await api("GET", "/api/v1/users/me", { token })), { timeout: 10_000, interval: 500 }).toEqual([401, "unauthorized"]);
    expect(Limits.sessionMaxLifetimeMs).toBe(30 * 24 * 3600 * 1000);
  });

  it("logs one token out: it stops working and its sockets close; the user's other sessions stay", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const phone = await login(ana.user.username);
    const laptopSocket = await connect(ana.token, "laptop");
    const phoneSocket = await connect(phone.token, "phone");
    const phoneLive = await connect(phone.token, "phone-live", { path: `/api/v1/conversations/${conversation}/ws` });

    const browser = await pushBrowser();
    for (const [token, device_id] of [[phone.token, "phone"], [ana.token, "laptop"]] as const) {
      expect((await api("POST", "/api/v1/push/subscriptions", { token, body: { device_id, ...subscriptionOf(browser) } })).status).toBe(201);
    }
    expect((await api("POST", "/api/v1/auth/logout", { token: phone.token })).status).toBe(204);
    // The phone's push subscription went with its session; the laptop's stays.
    expect(await pushDevices(ana)).toEqual(["laptop"]);
    await phoneSocket.until((s) => s.closed !== null, "the phone's device socket to close");
    await phoneLive.until((s) => s.closed !== null, "the phone's live socket to close");
    expect(phoneSocket.closed!.code).toBe(4003);
    expect(phoneLive.closed!.code).toBe(4003);
    const refused = await api("GET", "/api/v1/users/me", { token: phone.token });
    expect(refused).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });

    // The laptop is untouched: its socket still carries messages.
    await api("POST", `/api/v1/conversations/${conversation}/messages`, {
      token: bo.token,
      body: { content: "still there?", content_type: "text", client_msg_id: "m1" },
    });
    const [frame] = await laptopSocket.next("new_message");
    expect(frame!.content).toBe("still there?");
    expect(laptopSocket.closed).toBeNull();
    laptopSocket.close();
  });

  it("logs out every device at once; logging in again works", async () => {
    const ana = await registerUser("ana");
    const second = await login(ana.user.username);
    const sockets = await Promise.all([connect(ana.token, "one"), connect(second.token, "two")]);
    expect((await api("POST", "/api/v1/auth/logout", { token: ana.token, body: { all: true } })).status).toBe(204);
    for (const s of sockets) {
      await s.until((x) => x.closed !== null, "every socket to close");
      expect(s.closed!.code).toBe(4003);
    }
    expect((await api("GET", "/api/v1/users/me", { token: ana.token })).status).toBe(401);
    expect((await api("GET", "/api/v1/users/me", { token: second.token })).status).toBe(401);
    const again = await login(ana.user.username);
    expect((await api("GET", "/api/v1/users/me", { token: again.token })).status).toBe(200);
    expect((await api("POST", "/api/v1/auth/logout", { token: again.token, rawBody: "{not json" })).status).toBe(400);
    expect((await api("POST", "/api/v1/auth/logout", { token: again.token, body: { everything: true } })).status).toBe(400);
  });
});
