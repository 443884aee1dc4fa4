import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FREE_LOGIN_FAILURES, loginDelayMs } from "../../src/objects/directory/DirectoryObject";
import { Limits } from "../../src/protocol";
import { api, connect, directConversation, openSocket, registerUser, uniqueName } from "../helpers/client";

/**
 * Login limits count in fixed 60 s windows aligned to the wall clock (as the local rate limiter
 * does): a run that straddled a boundary would see its count reset halfway. Start with room left.
 */
async function inFreshWindow(periodMs = 60_000, needMs = 15_000) {
  const left = periodMs - (Date.now() % periodMs);
  if (left < needMs) await new Promise((r) => setTimeout(r, left + 50));
}

/** This project runs with the production limits (the `workers` project raises the send rate). */
describe("limits", () => {
  it("limits a user's send rate across sockets and REST: a burst of 60, then rate_limited per message", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const socket = await connect(ana.token, "phone");
    const burst = Limits.sendBurst + 10;
    const frames = Array.from({ length: burst }, (_, i) => ({
      type: "send_message",
      conversation_id: conversation,
      content: `m${i}`,
      content_type: "text",
      client_msg_id: `c${i}`,
    }));
    socket.send(frames.slice(0, 100));
    await socket.until((s) => s.of("message_ack").length + s.of("error").length >= burst, "an answer per frame");
    const acks = socket.of("message_ack");
    const refused = socket.of("error");
    // A few tokens may refill while the batch is handled; never more than the burst plus a little.
    expect(acks.length).toBeGreaterThanOrEqual(Limits.sendBurst);
    expect(acks.length).toBeLessThan(burst);
    expect(refused.every((e) => e.code === "rate_limited" && e.client_msg_id !== undefined)).toBe(true);
    // REST draws on the same bucket.
    const rest = await api("POST", `/api/v1/conversations/${conversation}/messages`, {
      token: ana.token,
      body: { content: "via REST", content_type: "text", client_msg_id: "rest-1" },
    });
    expect(rest).toMatchObject({ status: 429, body: { error: { code: "rate_limited" } } });
    // What was acked is stored, once each.
    const stored = (await api("GET", `/api/v1/conversations/${conversation}/messages?limit=100`, { token: bo.token })).body.messages;
    expect(stored.map((m: { content: string }) => m.content).sort()).toEqual(acks.map((a) => `m${a.client_msg_id.slice(1)}`).sort());
    socket.close();
  });

  it("one send rate per user across the device socket and every live socket: four sockets cannot send four bursts", async () => {
    const [ana, ...others] = await Promise.all([registerUser("ana"), registerUser("bo"), registerUser("cy"), registerUser("di")]);
    const conversations = await Promise.all(others.map((o) => directConversation(ana, o)));
    const sockets = [
      await connect(ana.token, "phone"),
      ...(await Promise.all(conversations.slice(0, 3).map((c, i) => connect(ana.token, `live${i}`, { path: `/api/v1/conversations/${c}/ws` })))),
    ];
    const targets = [conversations[0]!, ...conversations.slice(0, 3)];
    sockets.forEach((s, i) =>
      s.send(Array.from({ length: Limits.sendBurst }, (_, k) => ({ type: "send_message", conversation_id: targets[i], content: `s${i}-${k}`, content_type: "text", client_msg_id: `s${i}-${k}` }))),
    );
    for (const s of sockets) await s.until((x) => x.of("message_ack").length + x.of("error").length >= Limits.sendBurst, "an answer per frame");
    const acked = sockets.reduce((n, s) => n + s.of("message_ack").length, 0);
    // One burst in all (and what refills while the four are handled), not one per socket.
    expect(acked).toBeGreaterThanOrEqual(Limits.sendBurst);
    expect(acked).toBeLessThan(Limits.sendBurst + Limits.sendPerSecond);
    expect(sockets.flatMap((s) => s.of("error")).every((e) => e.code === "rate_limited")).toBe(true);
    for (const s of sockets) s.close();
  });

  it("holds back a socket's later sends after a refusal until the refused one comes again: nothing overtakes it", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const socket = await connect(ana.token, "phone");
    const frame = (id: string) => ({ type: "send_message", conversation_id: conversation, content: id, content_type: "text", client_msg_id: id });
    const answered = (id: string) => socket.until((s) => [...s.of("message_ack"), ...s.of("error")].some((f) => f.client_msg_id === id), `an answer to ${id}`);
    const refusedIds = () => new Set(socket.of("error").filter((e) => e.code === "rate_limited").map((e) => e.client_msg_id));
    // Empty the bucket; the last of these is refused.
    const burst = Array.from({ length: Limits.sendBurst + 5 }, (_, i) => frame(`b${i}`));
    socket.send(burst);
    await answered(burst.at(-1)!.client_msg_id);
    const firstRefused = burst.find((f) => refusedIds().has(f.client_msg_id))!;
    expect(firstRefused).toBeDefined();
    // Long enough for tokens to refill: a later message would find one, and is refused all the same.
    await new Promise((r) => setTimeout(r, 3_000 / Limits.sendPerSecond));
    socket.send([frame("later")]);
    await answered("later");
    expect(refusedIds().has("later")).toBe(true);
    // The first refused one, sent again, is taken, and then so is the later one: stored in send order.
    socket.send([frame(firstRefused.client_msg_id)]);
    await socket.until((s) => s.of("message_ack").some((a) => a.client_msg_id === firstRefused.client_msg_id), "the resend acked");
    socket.send([frame("later")]);
    await socket.until((s) => s.of("message_ack").some((a) => a.client_msg_id === "later"), "the later one acked");
    const stored: string[] = (await api("GET", `/api/v1/conversations/${conversation}/messages?limit=100`, { token: bo.token })).body.messages.map((m: { content: string }) => m.content);
    expect(stored.indexOf(firstRefused.client_msg_id)).toBeLessThan(stored.indexOf("later"));
    expect(stored.filter((c) => c === "later")).toHaveLength(1);
    socket.close();
  });

  it("slows a client guessing one account's password with growing delays, and never locks the owner out", async () => {
    const ana = await registerUser("ana");
    const from = (ip: string, password: string) =>
      exports.default.fetch("http://parley.test/api/v1/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
        body: JSON.stringify({ username: ana.user.username, password }),
      });
    const attacker = "198.51.100.66";
    // The first failures cost nothing; after them the attacker waits, even with the right password.
    for (let i = 0; i < FREE_LOGIN_FAILURES; i++) expect((await from(attacker, "wrong password!")).status).toBe(401);
    const waited = await from(attacker, "correct horse battery");
    expect(waited.status).toBe(429);
    expect(((await waited.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    expect(Number(waited.headers.get("Retry-After"))).toBe(1);
    // The owner, elsewhere, logs in at once: someone else's guesses never lock an account.
    expect((await from("203.0.113.20", "correct horse battery")).status).toBe(200);
    expect((await api("POST", "/api/v1/auth/login", { body: { username: ana.user.username, password: "correct horse battery" } })).status).toBe(200);
    // The delay grows with each further failure: 1 s, then 2 s.
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await from(attacker, "wrong again!!")).status).toBe(401);
    const longer = await from(attacker, "wrong again!!");
    expect(longer.status).toBe(429);
    expect(Number(longer.headers.get("Retry-After"))).toBe(2);
    expect([0, 1, 4, 5, 6, 7, 30].map(loginDelayMs)).toEqual([0, 0, 0, 1_000, 2_000, 4_000, 15 * 60_000]);
  });

  it("limits group creations and member adds per adder, and nobody else", async () => {
    const [mallory, victim, carol] = await Promise.all([registerUser("mal"), registerUser("vic"), registerUser("car")]);
    const create = (who: typeof mallory, name: string) =>
      api("POST", "/api/v1/conversations", { token: who.token, body: { type: "group", name, member_ids: [victim.user.user_id] } });
    const statuses: number[] = [];
    for (let i = 0; i < Limits.groupChangeBurst; i++) statuses.push((await create(mallory, `g${i}`)).status);
    expect(statuses.every((s) => s === 201)).toBe(true);
    const refused = await create(mallory, "one too many");
    expect(refused).toMatchObject({ status: 429, body: { error: { code: "rate_limited" } } });
    // Adding members draws on the same rate.
    const first = (await api("GET", "/api/v1/conversations", { token: mallory.token })).body.conversations[0].conversation_id;
    expect((await api("POST", `/api/v1/conversations/${first}/members`, { token: mallory.token, body: { user_ids: [carol.user.user_id] } })).status).toBe(429);
    // Another adder is not slowed, and the victim's own actions never are.
    expect((await create(carol, "carol's")).status).toBe(201);
    expect((await api("POST", "/api/v1/conversations", { token: victim.token, body: { type: "group", name: "mine", member_ids: [carol.user.user_id] } })).status).toBe(201);
  });

  it("limits media upload grants per user", async () => {
    const [ana, bo] = await Promise.all([registerUser("up"), registerUser("up")]);
    const ask = (who: typeof ana) => api("POST", "/api/v1/media/upload", { token: who.token, body: { content_type: "image/png", size: 100 } });
    const answers = [];
    for (let i = 0; i < Limits.uploadBurst + 1; i++) answers.push(await ask(ana));
    expect(answers.slice(0, Limits.uploadBurst).every((r) => r.status === 201)).toBe(true);
    expect([answers.at(-1)!.status, answers.at(-1)!.body.error.code]).toEqual([429, "rate_limited"]);
    expect((await ask(bo)).status).toBe(201);
  });

  it("limits history and sync requests per user, across REST and sockets", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const socket = await connect(ana.token, "phone");
    const statuses = await Promise.all(
      Array.from({ length: Limits.historyBurst + 20 }, () => api("GET", `/api/v1/conversations/${conversation}/messages?limit=1`, { token: ana.token }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(Limits.historyBurst);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    // The device socket draws on the same budget: syncs sent now are refused (a token or two may
    // have refilled meanwhile, not five).
    socket.send(Array.from({ length: 5 }, () => ({ type: "sync", conversation_id: conversation, after_seq: 0, limit: 1 })));
    const refused = await socket.next("error");
    expect(refused[0]).toMatchObject({ code: "rate_limited" });
    expect(refused[0]!.message).toMatch(/history or sync/);
    // Another user is not affected.
    expect((await api("GET", `/api/v1/conversations/${conversation}/messages?limit=1`, { token: bo.token })).status).toBe(200);
    socket.close();
  });

  it("paces a user's catch-up by its byte budget: the whole backlog arrives, in order, no faster than the budget refills", async () => {
    const [ana, bo] = await Promise.all([registerUser("cu"), registerUser("cu")]);
    const conversation = await directConversation(ana, bo);
    const big = "x".repeat(60 * 1024);
    for (let i = 0; i < 12; i++) {
      const sent = await api("POST", `/api/v1/conversations/${conversation}/messages`, { token: ana.token, body: { content: `${i}:${big}`, content_type: "text", client_msg_id: `cu-${i}` } });
      expect(sent.status).toBe(201);
    }
    // ≈ 740 KB to catch up against a budget of 256 KB at once, then 256 KB a second (this project's override).
    const started = Date.now();
    const phone = await connect(bo.token, "phone");
    await phone.until((s) => s.of("new_message").length >= 12, "the whole backlog", 30_000);
    const elapsed = Date.now() - started;
    expect(phone.of("new_message").map((m) => Number(m.content.split(":")[0]))).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(elapsed).toBeGreaterThan(1_500);
    phone.close();
  });

  it("limits presence watches per user", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    await directConversation(ana, bo);
    const socket = await connect(ana.token, "phone");
    // Each subscribe of one partner costs one watch: a burst's worth, then some more at once.
    const frames = Array.from({ length: Limits.presenceWatchBurst + 50 }, () => ({ type: "presence_subscribe", user_ids: [bo.user.user_id] }));
    for (let i = 0; i < frames.length; i += 100) socket.send(frames.slice(i, i + 100));
    await socket.until((s) => s.of("presence").length + s.of("error").length >= frames.length, "an answer to each subscribe");
    expect(socket.of("presence").length).toBeGreaterThanOrEqual(Limits.presenceWatchBurst);
    const refused = socket.of("error");
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => e.code === "rate_limited")).toBe(true);
    socket.close();
  });

  it("limits registrations per client address", async () => {
    await inFreshWindow();
    const register = (ip: string) =>
      exports.default.fetch("http://parley.test/api/v1/auth/register", {
        method: "POST",
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
        body: JSON.stringify({ username: uniqueName("reg"), password: "correct horse battery" }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await register("198.51.100.77")).status);
    expect(statuses.slice(0, 10).every((s) => s === 201)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect((await register("198.51.100.78")).status).toBe(201); // another address is not affected
  });

  it("limits login attempts per client IP, whichever usernames it tries", async () => {
    await inFreshWindow();
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) {
      const res = await api("POST", "/api/v1/auth/login", {
        body: { username: uniqueName("guess"), password: "whatever123" },
        headers: { "CF-Connecting-IP": "203.0.113.7" },
      });
      statuses.push(res.status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429]);
    // Another client is not affected.
    const other = await api("POST", "/api/v1/auth/login", {
      body: { username: uniqueName("guess"), password: "whatever123" },
      headers: { "CF-Connecting-IP": "203.0.113.8" },
    });
    expect(other.status).toBe(401);
  });

  it("limits devices per user", async () => {
    const ana = await registerUser("ana");
    for (let i = 0; i < Limits.devicesPerUser; i++) (await connect(ana.token, `device-${i}`)).close();
    const extra = await openSocket(ana.token, "one-too-many");
    expect(extra.status).toBe(429);
    expect(((await extra.json()) as any).error.code).toBe("rate_limited");
    // A known device still connects.
    const known = await openSocket(ana.token, "device-0");
    expect(known.status).toBe(101);
    known.webSocket?.accept();
    known.webSocket?.close();
  });

  it("refuses socket upgrades from another site's pages (Origin), and allows our own", async () => {
    const ana = await registerUser("ana");
    const upgrade = (origin: string) =>
      exports.default.fetch(`http://parley.test/api/v1/ws?device_id=web&token=${ana.token}`, {
        headers: { Upgrade: "websocket", Origin: origin },
      });
    const evil = await upgrade("https://evil.example");
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as any).error.code).toBe("forbidden");
    const ours = await upgrade("http://parley.test");
    expect(ours.status).toBe(101);
    ours.webSocket?.accept();
    ours.webSocket?.close();
  });
});
