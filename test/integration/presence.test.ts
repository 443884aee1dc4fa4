import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userHome } from "../../src/objects/homes";
import { api, connect, directConversation, quickUsers, type Account } from "../helpers/client";

const userStub = (a: Account) => userHome(env, a.user.user_id);

async function pair() {
  const [alice, bob, stranger] = await quickUsers(3, "pr");
  await directConversation(alice!, bob!);
  return { alice: alice!, bob: bob!, stranger: stranger! };
}

describe("presence", () => {
  it("goes online on connect and offline with last_seen on close, to subscribers only", async () => {
    const { alice, bob } = await pair();
    const watcher = await connect(bob.token, "bob");
    watcher.send({ type: "presence_subscribe", user_ids: [alice.user.user_id] });
    const [initial] = await watcher.next("presence");
    expect(initial).toEqual({ type: "presence", user_id: alice.user.user_id, status: "offline", last_seen: null });

    const aliceDevice = await connect(alice.token, "alice");
    await watcher.until((s) => s.of("presence").some((p) => p.status === "online"), "online");
    expect(watcher.of("presence").at(-1)).toMatchObject({ status: "online", last_seen: null });
    // A second device changes nothing.
    const aliceTablet = await connect(alice.token, "tablet");
    aliceTablet.close();
    aliceDevice.close();
    await watcher.until((s) => s.of("presence").some((p) => p.status === "offline" && p.last_seen !== null), "offline");
    const offline = watcher.of("presence").at(-1)!;
    expect(offline.last_seen).toEqual(expect.any(Number));
    expect(watcher.of("presence").map((p) => p.status)).toEqual(["offline", "online", "offline"]);

    const viaHttp = await api("GET", `/api/v1/users/${alice.user.user_id}/presence`, { token: bob.token });
    expect(viaHttp.body).toEqual({ user_id: alice.user.user_id, status: "offline", last_seen: offline.last_seen });
    watcher.close();
  });

  it("drops a watcher whose app went away at the next change, and keeps one still connected", async () => {
    const [alice, bob, cy] = await quickUsers(3, "pw");
    await directConversation(alice!, bob!);
    await directConversation(alice!, cy!);
    const watchers = () =>
      runInDurableObject(userStub(alice!), (_o, state) =>
        state.storage.sql
          .exec<{ subscriber_id: string }>("SELECT subscriber_id FROM presence_subscribers WHERE user_id = ? ORDER BY subscriber_id", alice!.user.user_id)
          .toArray()
          .map((r) => r.subscriber_id),
      );
    const bobDevice = await connect(bob!.token, "bob");
    const cyDevice = await connect(cy!.token, "cy");
    for (const w of [bobDevice, cyDevice]) {
      w.send({ type: "presence_subscribe", user_ids: [alice!.user.user_id] });
      await w.next("presence");
    }
    expect(await watchers()).toEqual([bob!.user.user_id, cy!.user.user_id].sort());

    // Cy's app goes away. Alice's next change reaches Bob, and Cy's object answers that nobody is there.
    cyDevice.close();
    const aliceDevice = await connect(alice!.token, "alice");
    await bobDevice.until((s) => s.of("presence").some((p) => p.status === "online"), "online");
    await expect.poll(watchers).toEqual([bob!.user.user_id]);

    // Cy comes back and watches again: the next change reaches Cy too.
    const cyAgain = await connect(cy!.token, "cy");
    cyAgain.send({ type: "presence_subscribe", user_ids: [alice!.user.user_id] });
    expect((await cyAgain.next("presence"))[0]).toMatchObject({ status: "online" });
    aliceDevice.close();
    await cyAgain.until((s) => s.of("presence").some((p) => p.status === "offline"), "offline");
    expect(await watchers()).toEqual([bob!.user.user_id, cy!.user.user_id].sort());
    for (const s of [bobDevice, cyAgain]) s.close();
  });

  it("tells watchers beyond one invocation's share from the alarm, chunk by chunk", async () => {
    const [alice, ...watchers] = await quickUsers(6, "pc");
    const devices = [];
    for (const w of watchers) {
      await directConversation(alice!, w);
      const d = await connect(w.token, "w");
      d.send({ type: "presence_subscribe", user_ids: [alice!.user.user_id] });
      await d.next("presence");
      devices.push(d);
    }
    // Two watchers per invocation instead of a thousand (PRESENCE_BROADCAST_CHUNK in the tests): five watchers take three.
    const aliceDevice = await connect(alice!.token, "alice");
    for (const d of devices) await d.until((s) => s.of("presence").some((p) => p.status === "online"), "online");
    aliceDevice.close();
    for (const d of devices) await d.until((s) => s.of("presence").filter((p) => p.status === "offline").length === 2, "offline again");
    for (const d of devices) {
      expect(d.of("presence").map((p) => p.status)).toEqual(["offline", "online", "offline"]);
      d.close();
    }
  });

  it("counts a device silent for over 100 s as gone (the alarm stands in for the wait)", async () => {
    const { alice, bob } = await pair();
    const silent = await connect(alice.token, "alice");
    const seen = async () => (await api("GET", `/api/v1/users/${alice.user.user_id}/presence`, { token: bob.token })).body;
    expect(await seen()).toMatchObject({ status: "online", last_seen: null });
    // The alarm runs as if its booked time (100 s after the socket's last sign of life) had come.
    // It checks every socket its object holds at once: one alarm per object, however many users.
    expect(await runDurableObjectAlarm(userStub(alice))).toBe(true);
    await silent.until((s) => s.closed !== null, "the silent socket to be closed");
    await expect.poll(seen).toMatchObject({ status: "offline", last_seen: expect.any(Number) });
  });

  it("is refused to users who share no conversation", async () => {
    const { alice, stranger } = await pair();
    const s = await connect(stranger.token, "s");
    s.send({ type: "presence_subscribe", user_ids: [alice.user.user_id] });
    expect((await s.next("error"))[0]!.code).toBe("forbidden");
    const aliceDevice = await connect(alice.token, "alice");
    aliceDevice.close();
    await s.settle();
    expect(s.of("presence")).toEqual([]);
    const viaHttp = await api("GET", `/api/v1/users/${alice.user.user_id}/presence`, { token: stranger.token });
    expect(viaHttp.status).toBe(403);
    s.close();
  });

  it("hides last seen both ways when a user turns it off", async () => {
    const { alice, bob } = await pair();
    for (const [who, device] of [[alice, "a"], [bob, "b"]] as const) (await connect(who.token, device)).close();
    const seen = async (viewer: Account, target: Account) =>
      (await api("GET", `/api/v1/users/${target.user.user_id}/presence`, { token: viewer.token })).body;
    await expect.poll(async () => (await seen(bob, alice)).last_seen).toEqual(expect.any(Number));
    expect((await seen(alice, bob)).last_seen).toEqual(expect.any(Number));

    const hide = await api("PATCH", "/api/v1/users/me", { token: alice.token, body: { last_seen_visible: false } });
    expect(hide.status).toBe(200);
    expect((await seen(bob, alice)).last_seen).toBeNull(); // others cannot see hers
    expect((await seen(alice, bob)).last_seen).toBeNull(); // and she cannot see theirs
    expect((await seen(bob, alice)).status).toBe("offline");

    await api("PATCH", "/api/v1/users/me", { token: alice.token, body: { last_seen_visible: true } });
    expect((await seen(bob, alice)).last_seen).toEqual(expect.any(Number));
    expect((await seen(alice, bob)).last_seen).toEqual(expect.any(Number));
    const bad = await api("PATCH", "/api/v1/users/me", { token: alice.token, body: {} });
    expect(bad.status).toBe(400);
  });
});

describe("who sees my presence", () => {
  const presenceOf = async (target: Account, viewer: Account) =>
    (await api("GET", `/api/v1/users/${target.user.user_id}/presence`, { token: viewer.token })).body as { status: string; last_seen: number | null };
  const watchers = (a: Account) =>
    runInDurableObject(userStub(a), (_o, state) =>
      state.storage.sql
        .exec<{ subscriber_id: string }>("SELECT subscriber_id FROM presence_subscribers WHERE user_id = ?", a.user.user_id)
        .toArray()
        .map((r) => r.subscriber_id),
    );

  it("re-checks at every change: a watcher removed from the last shared conversation hears nothing more, and the watch goes", async () => {
    const [admin, member] = await quickUsers(2, "rm");
    const group = (await api("POST", "/api/v1/conversations", { token: admin!.token, body: { type: "group", name: "g", member_ids: [member!.user.user_id] } })).body
      .conversation.conversation_id as string;
    const watcher = await connect(member!.token, "member");
    watcher.send({ type: "presence_subscribe", user_ids: [admin!.user.user_id] });
    await watcher.next("presence");
    const device = await connect(admin!.token, "admin");
    await watcher.until((s) => s.of("presence").some((p) => p.status === "online"), "online");
    const heard = watcher.of("presence").length;

    expect((await api("DELETE", `/api/v1/conversations/${group}/members/${member!.user.user_id}`, { token: admin!.token })).status).toBe(200);
    // Wait until the member's object has applied the removal (its inbox no longer has the group).
    await expect.poll(async () => (await api("GET", "/api/v1/conversations", { token: member!.token })).body.conversations.length).toBe(0);
    device.close();
    // The change reached the member's object, which refused it and dropped the watch.
    await expect.poll(() => watchers(admin!)).toEqual([]);
    expect(watcher.of("presence").length).toBe(heard);
    watcher.close();
  });

  it("'nobody': watchers see the user offline with no last seen from the moment it is set, and the user sees nobody's", async () => {
    const { alice, bob } = await pair();
    const aliceDevice = await connect(alice.token, "alice");
    const bobDevice = await connect(bob.token, "bob");
    bobDevice.send({ type: "presence_subscribe", user_ids: [alice.user.user_id] });
    const [first] = await bobDevice.next("presence");
    expect(first!.status).toBe("online");

    const set = await api("PATCH", "/api/v1/users/me", { token: alice.token, body: { presence_visible_to: "nobody" } });
    expect(set.body.settings.presence_visible_to).toBe("nobody");
    const hidden = (await bobDevice.next("presence", 2))[1];
    expect(hidden).toEqual({ type: "presence", user_id: alice.user.user_id, status: "offline", last_seen: null });
    // Online, but not to Bob; and Alice, who shows nobody, sees Bob (online) as offline.
    expect(await presenceOf(alice, bob)).toEqual({ user_id: alice.user.user_id, status: "offline", last_seen: null });
    expect(await presenceOf(bob, alice)).toEqual({ user_id: bob.user.user_id, status: "offline", last_seen: null });
    // Back to everyone: Bob hears she is online.
    await api("PATCH", "/api/v1/users/me", { token: alice.token, body: { presence_visible_to: "everyone" } });
    const back = (await bobDevice.next("presence", 3))[2];
    expect(back).toMatchObject({ user_id: alice.user.user_id, status: "online" });
    expect((await presenceOf(bob, alice)).status).toBe("online");
    aliceDevice.close();
    bobDevice.close();
  });

  it("'contacts': people the user started a chat with see it; others in a shared group do not", async () => {
    const [alice, friend, groupmate] = await quickUsers(3, "pc");
    await directConversation(alice!, friend!);
    await api("POST", "/api/v1/conversations", { token: friend!.token, body: { type: "group", name: "g", member_ids: [alice!.user.user_id, groupmate!.user.user_id] } });
    await api("PATCH", "/api/v1/users/me", { token: alice!.token, body: { presence_visible_to: "contacts" } });
    const device = await connect(alice!.token, "alice");
    expect((await presenceOf(alice!, friend!)).status).toBe("online");
    expect(await presenceOf(alice!, groupmate!)).toEqual({ user_id: alice!.user.user_id, status: "offline", last_seen: null });
    device.close();
  });
});
