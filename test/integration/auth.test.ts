import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import type { DirectoryObject } from "../../src/objects/directory/DirectoryObject";
import { api, openSocket, registerUser, rest, TEST_JWT_SECRET, uniqueName } from "../helpers/client";

const SECRET = TEST_JWT_SECRET;

describe("accounts", () => {
  it("registers, logs in and reads the profile", async () => {
    const username = uniqueName("alice");
    const reg = await api("POST", "/api/v1/auth/register", {
      body: { username: username.toUpperCase(), password: "correct horse", display_name: "Alice" },
    });
    expect(reg.status).toBe(201);
    expect(reg.body.user).toMatchObject({ username, display_name: "Alice" });
    expect(reg.body.user.user_id).toMatch(/^u_/);

    const login = await api("POST", "/api/v1/auth/login", { body: { username, password: "correct horse" } });
    expect(login.status).toBe(200);
    expect(login.body.user).toEqual(reg.body.user);

    const me = await api("GET", "/api/v1/users/me", { token: login.body.token });
    expect(me).toEqual({ status: 200, body: { user: reg.body.user, settings: { last_seen_visible: true, push_previews: true, groups_add: "everyone", presence_visible_to: "everyone", keep_archived: false, photo_visible_to: "everyone", about_visible_to: "everyone", read_receipts: true } } });
  });

  it("keeps usernames unique regardless of case", async () => {
    const username = uniqueName("bob");
    expect((await api("POST", "/api/v1/auth/register", { body: { username, password: "password1" } })).status).toBe(201);
    const again = await api("POST", "/api/v1/auth/register", { body: { username: username.toUpperCase(), password: "password2" } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("username_taken");
  });

  it("refuses bad registrations with the error shape", async () => {
    for (const body of [
      { username: "ab", password: "password1" },
      { username: "has space", password: "password1" },
      { username: uniqueName(), password: "short" },
      { username: uniqueName(), password: "x".repeat(257) },
      { password: "password1" },
    ]) {
      const res = await api("POST", "/api/v1/auth/register", { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatchObject({ code: "bad_request", message: expect.any(String) });
    }
    const garbled = await api("POST", "/api/v1/auth/register", { rawBody: "{not json" });
    expect(garbled.status).toBe(400);
    expect(garbled.body.error.code).toBe("invalid_json");
  });

  it("refuses a wrong password and an unknown user alike", async () => {
    const a = await registerUser();
    const wrong = await api("POST", "/api/v1/auth/login", { body: { username: a.user.username, password: "not the password" } });
    const unknown = await api("POST", "/api/v1/auth/login", { body: { username: uniqueName("ghost"), password: "whatever1" } });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error.code).toBe(unknown.body.error.code);
  });

  it("looks users up by username", async () => {
    const a = await registerUser();
    const b = await registerUser();
    const found = await api("GET", `/api/v1/users?username=${b.user.username.toUpperCase()}`, { token: a.token });
    expect(found).toEqual({ status: 200, body: { user: b.user } });
    const missing = await api("GET", `/api/v1/users?username=${uniqueName("nobody")}`, { token: a.token });
    expect(missing.status).toBe(404);
  });

  it("answers which account a username names from the location's cache once found, but never caches a miss, nor a profile", async () => {
    const a = await registerUser();
    const later = uniqueName("later");
    expect((await api("GET", `/api/v1/users?username=${later}`, { token: a.token })).status).toBe(404);
    const reg = await api("POST", "/api/v1/auth/register", { body: { username: later, password: "correct horse", display_name: "Later" } });
    expect(reg.status).toBe(201);
    const b = { user: reg.body.user as { user_id: string; username: string; display_name: string } };
    // Registered a moment after the miss: found, because the miss was not kept.
    const found = await api("GET", `/api/v1/users?username=${later}`, { token: a.token });
    expect(found).toEqual({ status: 200, body: { user: b.user } });
    // Now which account the name is comes from the cache: a doctored entry there is what the route follows.
    const key = new Request(`https://profiles.parley.invalid/username-id/${encodeURIComponent(b.user.username)}`);
    await expect.poll(async () => (await caches.default.match(key)) !== undefined).toBe(true);
    await caches.default.put(key, Response.json(a.user.user_id, { headers: { "Cache-Control": "max-age=60" } }));
    const cached = await api("GET", `/api/v1/users?username=${later}`, { token: a.token });
    expect(cached.body.user.user_id).toBe(a.user.user_id);
    await caches.default.delete(key);
    // The profile is never cached: a new display name shows at once, by name and by id.
    expect((await api("PATCH", "/api/v1/users/me", { token: reg.body.token as string, body: { display_name: "Later, renamed" } })).status).toBe(200);
    expect((await api("GET", `/api/v1/users?username=${later}`, { token: a.token })).body.user.display_name).toBe("Later, renamed");
    expect((await rest(a.token).call("user", { user_id: b.user.user_id })).user.display_name).toBe("Later, renamed");
  });

  it("resolves a user id to a profile, and 404s an unknown or malformed id", async () => {
    const [a, b] = await Promise.all([registerUser("ida"), registerUser("idb")]);
    const found = await rest(a.token).call("user", { user_id: b.user.user_id });
    expect(found.user).toEqual(b.user);
    for (const id of ["u_doesnotexist0000000", "not-an-id", "%00"]) {
      const res = await api("GET", `/api/v1/users/${id}`, { token: a.token });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe("user_not_found");
    }
    expect((await api("GET", `/api/v1/users/${b.user.user_id}`)).status).toBe(401);
  });

  it("refuses missing, forged and expired tokens on HTTP and on socket upgrades", async () => {
    const a = await registerUser();
    const now = Math.floor(Date.now() / 1000);
    const expired = await sign({ sub: a.user.user_id, username: a.user.username, iat: now - 7200, exp: now - 3600, jti: "j1", gen: 0 }, SECRET, "HS256");
    const forged = await sign({ sub: a.user.user_id, username: a.user.username, iat: now, exp: now + 3600, jti: "j2", gen: 0 }, "another-secret-another-secret-0123", "HS256");
    const noExp = await sign({ sub: a.user.user_id, username: a.user.username, iat: now, jti: "j3", gen: 0 }, SECRET, "HS256");
    for (const token of [undefined, "garbage", expired, forged, noExp]) {
      const res = await api("GET", "/api/v1/users/me", { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("unauthorized");
      const upgrade = await openSocket(token ?? null, "d1");
      expect(upgrade.status).toBe(401);
      expect(upgrade.webSocket).toBeNull();
    }
  });

  it("accepts the token as a WebSocket subprotocol and echoes a protocol back", async () => {
    const a = await registerUser();
    const res = await openSocket(a.token, "d1", { viaProtocol: true });
    expect(res.status).toBe(101);
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBe("parley.v1");
    res.webSocket!.accept();
    res.webSocket!.close(1000);
  });
});

describe("names nobody registered", () => {
  it("looking them up or logging in with them stores nothing: no object is created", async () => {
    const name = uniqueName("ghost");
    const someone = await registerUser("seer");
    expect((await api("GET", `/api/v1/users?username=${name}`, { token: someone.token })).status).toBe(404);
    expect((await api("POST", "/api/v1/auth/login", { body: { username: name, password: "whatever123" } })).status).toBe(401);
    const tables = await runInDurableObject(env.DIRECTORY.get(env.DIRECTORY.idFromName(name)), (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master").one().n,
    );
    expect(tables).toBe(0);
    // A registered name's object has its schema and account.
    const registered = await runInDurableObject(env.DIRECTORY.get(env.DIRECTORY.idFromName(someone.user.username)), (o: DirectoryObject) => o.lookup());
    expect(registered?.user_id).toBe(someone.user.user_id);
  });
});
