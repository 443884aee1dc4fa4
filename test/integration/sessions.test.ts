import { describe, expect, it } from "vitest";
import { api, connect, directConversation, registerUser } from "../helpers/client";

const login = async (username: string) =>
  (await api("POST", "/api/v1/auth/login", { body: { username, password: "correct horse battery" } })).body as { token: string };

describe("sessions: refresh and logout", () => {
  it("refreshes a token: the new one works and lives a day", async () => {
    const ana = await registerUser("ana");
    const refreshed = await api("POST", "/api/v1/auth/refresh", { token: ana.token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.token).not.toBe(ana.token);
    expect(refreshed.body.user).toEqual(ana.user);
    const claims = JSON.parse(atob(refreshed.body.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims.exp - claims.iat).toBe(24 * 3600);
    expect((await api("GET", "/api/v1/users/me", { token: refreshed.body.token })).status).toBe(200);
    expect((await api("GET", "/api/v1/users/me", { token: ana.token })).status).toBe(200);
  });

  it("logs one token out: it stops working and its sockets close; the user's other sessions stay", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const phone = await login(ana.user.username);
    const laptopSocket = await connect(ana.token, "laptop");
    const phoneSocket = await connect(phone.token, "phone");
    const phoneLive = await connect(phone.token, "phone-live", { path: `/api/v1/conversations/${conversation}/ws` });

    expect((await api("POST", "/api/v1/auth/logout", { token: phone.token })).status).toBe(204);
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
