import { exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import { ErrorBody, ErrorCode, errorStatus, ErrorFrame, HistoryResponse, Limits, type ServerFrame } from "../../src/protocol";
import { Endpoints, type EndpointName } from "../../src/protocol/endpoints";
import { api, connect, createGroup, quickUsers, TEST_JWT_SECRET, text, type Account, type TestSocket } from "../helpers/client";

/**
 * Hostile and broken input, over HTTP and both sockets: bodies that are not JSON or not the right
 * shape, payloads past every size limit, deep nesting, odd unicode and SQL-looking text, bad
 * cursors and path parameters, unknown frames, and a 10,000-frame burst. Every answer must be the
 * documented error shape (never a 500), the socket must stay usable, and stored history must stay
 * gapless and exactly what was acknowledged.
 */

const codes = new Set<string>(Object.values(ErrorCode));

/** An HTTP answer that is a refusal in the documented shape, with the status its code maps to. */
function expectRefusal(res: { status: number; body: unknown }, what: string, allowed?: string[]) {
  expect(res.status, `${what}: ${JSON.stringify(res.body)?.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  const body = ErrorBody.parse(res.body);
  expect(codes.has(body.error.code), `${what}: unknown code ${body.error.code}`).toBe(true);
  expect(res.status, what).toBe(errorStatus[body.error.code as ErrorCode]);
  expect(body.error.message.length, what).toBeGreaterThan(0);
  if (allowed) expect(allowed, what).toContain(body.error.code);
}

/** Like `api`, but for answers that may not be JSON (and never throws on them). */
async function request(method: string, path: string, opts: { token?: string; rawBody?: BodyInit; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { "Content-Type": "application/json", ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await exports.default.fetch(`http://parley.test${path}`, { method, headers, body: opts.rawBody });
  const raw = await res.text();
  let body: unknown = raw;
  try {
    body = JSON.parse(raw);
  } catch {
    /* not JSON: left as text for the assertion message */
  }
  return { status: res.status, body };
}

async function freshToken(who: Account) {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: who.user.user_id, username: who.user.username, iat: now, exp: now + 3600, jti: crypto.randomUUID(), gen: 0 }, TEST_JWT_SECRET, "HS256");
}

/** Every message of a conversation, paging forward; checks the seqs run 1..n with no gap. */
async function fullHistory(token: string, conversation: string) {
  const messages: { seq: number; content: string; sender_id: string; content_type: string }[] = [];
  for (let after = 0; ; ) {
    const page = await api("GET", `/api/v1/conversations/${conversation}/messages?after=${after}&limit=${Limits.historyMaxPage}`, { token });
    expect(page.status).toBe(200);
    const body = HistoryResponse.parse(page.body);
    messages.push(...body.messages);
    if (!body.has_more) break;
    after = body.messages.at(-1)!.seq;
  }
  expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
  return messages;
}

/**
 * Sends one raw socket message and waits for `errors` error frames, then for the answer to a
 * heartbeat spelled so that it reaches the object (the exact heartbeat text is answered by the
 * runtime itself and could overtake). Returns what came back, heartbeat acks aside.
 */
async function answersTo(s: TestSocket, raw: string | ArrayBuffer, errors: number): Promise<ServerFrame[]> {
  const start = s.frames.length;
  const since = () => s.frames.slice(start);
  s.ws.send(raw);
  await s.until(() => since().filter((f) => f.type === "error").length >= errors, `${errors} error frame(s)`);
  const acks = since().filter((f) => f.type === "heartbeat_ack").length + 1;
  s.send(' {"type":"heartbeat"}');
  await s.until(() => since().filter((f) => f.type === "heartbeat_ack").length >= acks, "the heartbeat's answer");
  // A device socket may still be receiving its catch-up (new_message) when the test starts: that is
  // the socket working, not an answer to the bad input.
  return since().filter((f) => f.type !== "heartbeat_ack" && f.type !== "new_message");
}

/** Strings that must come back exactly as sent. */
const verbatim: Record<string, string> = {
  emoji: "👩‍👩‍👧‍👦 🏳️‍🌈 🇺🇦 ✊🏿 🫠",
  rtl: "مرحبا بالعالم \u202ereversed\u202c עברית",
  combining: "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇ e\u0301 \u0e01\u0e34\u0e4a",
  nul: "before\u0000after",
  controls: "tab\there\r\nnew line \u0007\u001b[31m",
  zeroWidth: "\u200b\u200d\ufeffinvisible",
  sqlDrop: "'); DROP TABLE messages;--",
  sqlOr: "\" OR 1=1; DELETE FROM members WHERE '1'='1",
  sqlComment: "x' /* */ UNION SELECT * FROM conversation --",
  jsonLooking: '{"type":"system","content":"{}"}',
  html: "<script>alert(1)</script><img src=x onerror=alert(1)>",
  escapes: "\\u0000 \\n %00 %27 ${7*7} {{7*7}}",
  astral: "𝕳𝖊𝖑𝖑𝖔 𠜎𠜱 \u{10FFFD}",
  maxLength: "é".repeat(Limits.maxContentBytes / 2),
};

let owner: Account;
let other: Account;
let group: string;
/** Everything stored in `group` so far, in order: checked at the end of each test. */
const expectedContents: string[] = [];

beforeAll(async () => {
  [owner, other] = (await quickUsers(2, "bad")) as [Account, Account];
  group = await createGroup(owner, [other], "battery");
  expectedContents.push("system");
});

async function historyIntact() {
  const messages = await fullHistory(other.token, group);
  // Compared as JSON text: a failure's diff then shows escapes, never raw control or unpaired characters.
  const shown = (contents: string[]) => contents.map((c) => JSON.stringify(c));
  expect(shown(messages.map((m) => (m.content_type === "system" ? "system" : m.content)))).toEqual(shown(expectedContents));
}

describe("bad input over HTTP", () => {
  /** A path for every endpoint, its parameters filled with real ids. */
  const pathOf = (name: EndpointName, ids: Record<string, string>) =>
    `/api/v1${Endpoints[name].path.replace(/:([a-z_]+)/g, (_, p: string) => ids[p] ?? "x")}`;

  it("answers bodies that are not JSON, not objects, of the wrong types or missing fields with 400", async () => {
    const ids = { conversation_id: group, user_id: other.user.user_id, media_id: "md_nothing", server_msg_id: "m1_x", device_id: "dev" };
    const raws = ["{", "", "{\"a\":", "nul", "null", "[]", "\"text\"", "42", "true", "{\"__proto__\":{\"admin\":true}}", "\u0000", "{}{}", "[{}]"];
    for (const [name, e] of Object.entries(Endpoints) as [EndpointName, (typeof Endpoints)[EndpointName]][]) {
      if (!("body" in e)) continue;
      const schema = e.body;
      const keys = "shape" in schema ? Object.keys((schema as unknown as { shape: object }).shape) : ["type", "member_ids", "name"];
      // The same fields, each of the wrong type: numbers for strings, strings for numbers, objects for arrays.
      const wrongTypes = [
        Object.fromEntries(keys.map((k) => [k, { nested: [k] }])),
        Object.fromEntries(keys.map((k) => [k, 12345])),
        Object.fromEntries(keys.map((k) => [k, null])),
      ].map((b) => JSON.stringify(b));
      for (const raw of [...raws, ...wrongTypes]) {
        let value: unknown = raw === "" ? {} : undefined;
        try {
          value ??= JSON.parse(raw);
        } catch {
          /* not JSON */
        }
        // Some bodies are all optional (logout's `{}`): what the schema accepts is not bad input.
        if (value !== undefined && schema.safeParse(value).success) continue;
        const token = e.auth ? await freshToken(owner) : undefined;
        const res = await request(e.method, pathOf(name, ids), { token, rawBody: raw });
        expectRefusal(res, `${name} ${JSON.stringify(raw)}`, ["invalid_json", "bad_request"]);
      }
      // A body that is JSON but not labelled as such is read as no body at all.
      const token = e.auth ? await freshToken(owner) : undefined;
      const unlabelled = await request(e.method, pathOf(name, ids), { token, rawBody: "{}", headers: { "Content-Type": "text/plain" } });
      if (unlabelled.status >= 400) expectRefusal(unlabelled, `${name} as text/plain`);
    }
    await historyIntact();
  });

  it("refuses huge bodies with 413 or 400, never a 500: content past 64 KiB, a 10 MB body, deep nesting", async () => {
    const send = (rawBody: string) => request("POST", `/api/v1/conversations/${group}/messages`, { token: owner.token, rawBody });
    expectRefusal(await send(JSON.stringify(text("x".repeat(Limits.maxContentBytes + 1), "over"))), "64 KiB + 1", ["content_too_large"]);
    expectRefusal(await send(JSON.stringify(text("€".repeat(Limits.maxContentBytes / 3 + 1), "over-utf8"))), "64 KiB + 1 of UTF-8", ["content_too_large"]);
    const tenMB = 10 * 1024 * 1024;
    expectRefusal(await send(JSON.stringify(text("y".repeat(tenMB), "ten-mb"))), "10 MB of content");
    expectRefusal(await send("z".repeat(tenMB)), "10 MB of garbage", ["content_too_large"]);
    const deep = (depth: number) => `{"content":${"[".repeat(depth)}${"]".repeat(depth)},"content_type":"text","client_msg_id":"deep"}`;
    for (const depth of [1_000, 100_000]) expectRefusal(await send(deep(depth)), `nesting ${depth}`, ["invalid_json", "bad_request"]);
    expectRefusal(await send(deep(1_000_000)), "nesting 1,000,000 (2 MB)", ["content_too_large"]);
    const big = { password: "p".repeat(tenMB), username: "someone" };
    expectRefusal(await request("POST", "/api/v1/auth/register", { rawBody: JSON.stringify(big) }), "10 MB password", ["content_too_large"]);
    expectRefusal(await request("POST", "/api/v1/auth/login", { rawBody: JSON.stringify(big) }), "10 MB login", ["content_too_large"]);
    const members = { type: "group", name: "n", member_ids: Array.from({ length: 200_000 }, (_, i) => `u_${i}`) };
    expectRefusal(await request("POST", "/api/v1/conversations", { token: owner.token, rawBody: JSON.stringify(members) }), "200,000 members", ["content_too_large"]);
    expectRefusal(
      await request("POST", "/api/v1/auth/logout", { token: await freshToken(owner), rawBody: `{"all":${"[".repeat(100_000)}${"]".repeat(100_000)}}` }),
      "nested logout",
      ["bad_request", "invalid_json"],
    );
    await historyIntact();
  });

  it("refuses a body over the request limit before parsing it: by its Content-Length, and as it streams without one", async () => {
    const conversationsBefore = (await api("GET", "/api/v1/conversations", { token: owner.token })).body;
    // Valid JSON, a well-formed request in every way but its size: only the limit can refuse it.
    const padded = JSON.stringify({ type: "group", name: "big", member_ids: [other.user.user_id], padding: "p".repeat(Limits.maxRequestBodyBytes) });
    const declared = await request("POST", "/api/v1/conversations", { token: owner.token, rawBody: padded });
    expectRefusal(declared, "over the limit, with Content-Length", ["content_too_large"]);
    expect(declared.status).toBe(413);
    const bytes = new TextEncoder().encode(padded);
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 16 * 1024) controller.enqueue(bytes.subarray(i, i + 16 * 1024));
        controller.close();
      },
    });
    const res = await exports.default.fetch("http://parley.test/api/v1/conversations", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${owner.token}` },
      body: streamed,
    });
    expectRefusal({ status: res.status, body: await res.json() }, "over the limit, streamed without a length", ["content_too_large"]);
    // Nothing was created by either.
    expect((await api("GET", "/api/v1/conversations", { token: owner.token })).body).toEqual(conversationsBefore);
    // Just under the limit is read and answered on its merits (the unknown field is ignored).
    const under = JSON.stringify({ type: "group", name: "under", member_ids: [other.user.user_id], padding: "p".repeat(Limits.maxRequestBodyBytes - 200) });
    expect((await request("POST", "/api/v1/conversations", { token: owner.token, rawBody: under })).status).toBe(201);
  });

  it("refuses a token in the URL on REST (it would end up in logs), and still takes it on a socket upgrade", async () => {
    for (const [method, path] of [
      ["GET", `/api/v1/users/me?token=${owner.token}`],
      ["GET", `/api/v1/conversations/${group}/messages?token=${owner.token}`],
      ["POST", `/api/v1/auth/logout?token=${owner.token}`],
    ] as const) {
      expectRefusal(await request(method, path, {}), `${method} ${path.split("?")[0]} with ?token=`, ["bad_request"]);
      // Even alongside a valid Authorization header: a client that puts it in the URL is told so.
      expectRefusal(await request(method, path, { token: owner.token }), `${method} ${path.split("?")[0]} with both`, ["bad_request"]);
    }
    // The session was not logged out by the refused logout.
    expect((await api("GET", "/api/v1/users/me", { token: owner.token })).status).toBe(200);
    const upgrade = await exports.default.fetch(`http://parley.test/api/v1/ws?device_id=url-token&token=${owner.token}`, { headers: { Upgrade: "websocket" } });
    expect(upgrade.status).toBe(101);
    upgrade.webSocket!.accept();
    upgrade.webSocket!.close(1000, "done");
  });

  it("stores unicode and SQL-looking text verbatim, over REST", async () => {
    for (const [name, content] of Object.entries(verbatim)) {
      const res = await api("POST", `/api/v1/conversations/${group}/messages`, { token: owner.token, body: text(content, `rest-${name}`) });
      expect(res.status, name).toBe(201);
      expectedContents.push(content);
    }
    await historyIntact();
  });

  it("refuses bad history cursors and limits with 400 bad_request, and serves the valid ones", async () => {
    const invalid = [
      "limit=-1", "limit=0", "limit=101", "limit=NaN", "limit=abc", "limit=1.5", "limit=1e309", "limit=Infinity", "limit=-Infinity",
      "limit=99999999999999999999", "before=-1", "after=-5", "after=NaN", "before=abc", "after=1e400", "before=9007199254740993",
      "before=1&after=1", "limit=1&limit=2", "limit=%00", "after=1.5", "before=%F0%9F%98%80",
    ];
    for (const q of invalid) {
      expectRefusal(await request("GET", `/api/v1/conversations/${group}/messages?${q}`, { token: owner.token }), q, ["bad_request"]);
    }
    const valid = ["limit=100", "limit=1", "after=9007199254740991", "before=0", "after=0&limit=100", "limit=07", "unknown=1"];
    for (const q of valid) {
      const res = await request("GET", `/api/v1/conversations/${group}/messages?${q}`, { token: owner.token });
      expect(res.status, q).toBe(200);
      HistoryResponse.parse(res.body);
    }
  });

  it("answers path parameters with odd characters with a 4xx in the error shape", async () => {
    const odd = [
      "%00", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%E2%80%AE", "%F0%9F%98%80", "a".repeat(5_000), "%", "%ZZ", "%C0%AF", "'%20OR%201%3D1--",
      `g_${"A".repeat(22)}%00`, `d_${"A".repeat(22)}%0A`, "__proto__", "constructor", "%20", "null", "undefined", "-1", "1e999",
    ];
    const real = { conversation_id: group, user_id: other.user.user_id, media_id: "md_nothing", server_msg_id: "m1_x", device_id: "dev" };
    const bodies: Partial<Record<EndpointName, unknown>> = {
      updateGroup: { name: "renamed?" },
      setRole: { role: "admin" },
      sendMessage: text("odd path", "odd"),
    };
    for (const [name, e] of Object.entries(Endpoints) as [EndpointName, (typeof Endpoints)[EndpointName]][]) {
      const params = [...e.path.matchAll(/:([a-z_]+)/g)].map((m) => m[1]!);
      for (const param of params) {
        for (const value of odd) {
          const path = `/api/v1${e.path.replace(/:([a-z_]+)/g, (_, p: string) => (p === param ? value : real[p as keyof typeof real]))}`;
          const body = bodies[name];
          const res = await request(e.method, path, { token: owner.token, rawBody: body === undefined ? undefined : JSON.stringify(body) });
          expectRefusal(res, `${name} ${param}=${value.slice(0, 40)}`);
        }
      }
    }
    for (const suffix of ["", "/thumbnail", "/url", "/view?variant=content&expires=1e999&sig=%00"]) {
      for (const value of odd) expectRefusal(await request("GET", `/api/v1/media/${value}${suffix}`, { token: owner.token }), `media ${value.slice(0, 40)}${suffix}`);
    }
    // (`%2e%2e` is `..` to the URL parser: `/conversations/%2e%2e/ws` is the device socket's own path.)
    for (const value of odd.filter((v) => v !== "%2e%2e")) {
      const res = await exports.default.fetch(`http://parley.test/api/v1/conversations/${value}/ws?token=${owner.token}&device_id=d`, { headers: { Upgrade: "websocket" } });
      expect(res.webSocket, value).toBeNull();
      expectRefusal({ status: res.status, body: await res.json() }, `live socket on ${value.slice(0, 40)}`, ["conversation_not_found", "not_found"]);
    }
    // Nothing was renamed, nobody was promoted, nothing was stored.
    const conversation = await api("GET", `/api/v1/conversations/${group}`, { token: owner.token });
    expect(conversation.body.conversation.name).toBe("battery");
    expect(conversation.body.conversation.members).toContainEqual({ user_id: other.user.user_id, role: "member" });
    await historyIntact();
  });
});

/** One raw socket message, how many `error` frames it must get, and which codes. */
type BadFrame = { raw: string | ArrayBuffer; codes: string[]; clientMsgIds?: (string | undefined)[] };

function badFrames(conversation: string): Record<string, BadFrame> {
  const send = (extra: Record<string, unknown>) => JSON.stringify({ type: "send_message", conversation_id: conversation, ...text("x", "c-x"), ...extra });
  const deep = (depth: number) => `{"type":"heartbeat","pad":${"[".repeat(depth)}${"]".repeat(depth)}}`;
  const one = (code: string, id?: string) => ({ codes: [code], clientMsgIds: [id] });
  return {
    notJson: { raw: "{not json", ...one("invalid_json") },
    empty: { raw: "", ...one("invalid_json") },
    truncated: { raw: '{"type":"send_message","conversation_id":', ...one("invalid_json") },
    nul: { raw: "\u0000", ...one("invalid_json") },
    loneSurrogateText: { raw: '{"type":"heartbeat"\ud800}', ...one("invalid_json") },
    jsonNull: { raw: "null", ...one("invalid_frame") },
    jsonNumber: { raw: "42", ...one("invalid_frame") },
    jsonString: { raw: '"send_message"', ...one("invalid_frame") },
    noType: { raw: "{}", ...one("invalid_frame") },
    unknownType: { raw: '{"type":"delete_everything"}', ...one("invalid_frame") },
    typeNotString: { raw: '{"type":["heartbeat"]}', ...one("invalid_frame") },
    protoType: { raw: '{"__proto__":{"type":"heartbeat"}}', ...one("invalid_frame") },
    systemMessage: { raw: send({ content_type: "system", client_msg_id: "c-sys" }), ...one("invalid_frame", "c-sys") },
    contentNumber: { raw: send({ content: 42, client_msg_id: "c-num" }), ...one("invalid_frame", "c-num") },
    contentObject: { raw: send({ content: { toString: "x" }, client_msg_id: "c-obj" }), ...one("invalid_frame", "c-obj") },
    missingContent: { raw: JSON.stringify({ type: "send_message", conversation_id: conversation, content_type: "text", client_msg_id: "c-miss" }), ...one("invalid_frame", "c-miss") },
    missingId: { raw: JSON.stringify({ type: "send_message", conversation_id: conversation, content: "x", content_type: "text" }), ...one("invalid_frame") },
    idTooLong: { raw: send({ client_msg_id: "i".repeat(Limits.clientMsgIdMaxLength + 1) }), ...one("invalid_frame") },
    conversationNumber: { raw: send({ conversation_id: 7, client_msg_id: "c-conv" }), ...one("invalid_frame", "c-conv") },
    whitespace: { raw: send({ content: " \n\t ", client_msg_id: "c-ws" }), ...one("bad_request", "c-ws") },
    textWithMedia: { raw: send({ media_id: "md_x", client_msg_id: "c-md" }), ...one("bad_request", "c-md") },
    overContent: { raw: send({ content: "é".repeat(Limits.maxContentBytes / 2 + 1), client_msg_id: "c-big" }), ...one("content_too_large", "c-big") },
    overFrame: { raw: JSON.stringify({ type: "heartbeat", pad: "x".repeat(Limits.maxFrameBytes) }), ...one("frame_too_large") },
    overBatch: { raw: JSON.stringify([{ type: "heartbeat", pad: "x".repeat(Limits.maxBatchBytes) }]), ...one("frame_too_large") },
    overBatchGarbage: { raw: "[".repeat(Limits.maxBatchBytes + 1), ...one("frame_too_large") },
    deepNesting: { raw: deep(30_000), codes: [] },
    deepBatch: { raw: `[${deep(20_000)}]`, codes: [] },
    emptyBatch: { raw: "[]", ...one("invalid_frame") },
    batchOf101: { raw: JSON.stringify(Array.from({ length: Limits.maxFramesPerMessage + 1 }, () => ({ type: "heartbeat" }))), ...one("invalid_frame") },
    nestedBatch: { raw: JSON.stringify([[{ type: "heartbeat" }]]), ...one("invalid_frame") },
    junkBatch: { raw: JSON.stringify([null, 1, "x", {}, { type: "nope" }]), codes: Array(5).fill("invalid_frame") },
    syncNegative: { raw: JSON.stringify({ type: "sync", conversation_id: conversation, after_seq: -1 }), ...one("invalid_frame") },
    syncFraction: { raw: JSON.stringify({ type: "sync", conversation_id: conversation, after_seq: 1.5 }), ...one("invalid_frame") },
    syncHuge: { raw: JSON.stringify({ type: "sync", conversation_id: conversation, after_seq: 1e308 }), ...one("invalid_frame") },
    syncString: { raw: JSON.stringify({ type: "sync", conversation_id: conversation, after_seq: "0" }), ...one("invalid_frame") },
    syncNaN: { raw: `{"type":"sync","conversation_id":"${conversation}","after_seq":NaN}`, ...one("invalid_json") },
    syncLimitZero: { raw: JSON.stringify({ type: "sync", conversation_id: conversation, after_seq: 0, limit: 0 }), ...one("invalid_frame") },
    syncLimitNegative: { raw: JSON.stringify({ type: "sync", conversation_id: conversation, after_seq: 0, limit: -5 }), ...one("invalid_frame") },
    syncLimitHuge: { raw: JSON.stringify({ type: "sync", conversation_id: conversation, after_seq: 0, limit: Limits.syncMaxPage + 1 }), ...one("invalid_frame") },
    syncLimitInfinite: { raw: `{"type":"sync","conversation_id":"${conversation}","after_seq":0,"limit":1e999}`, ...one("invalid_frame") },
    statusBogus: { raw: JSON.stringify({ type: "message_status", conversation_id: conversation, server_msg_id: "'; DROP TABLE members;--", status: "read" }), ...one("message_not_found") },
    statusUnknownKind: { raw: JSON.stringify({ type: "message_status", conversation_id: conversation, server_msg_id: "m1_x", status: "seen" }), ...one("invalid_frame") },
    typingBad: { raw: JSON.stringify({ type: "typing", conversation_id: conversation, status: 1 }), ...one("invalid_frame") },
    presenceEmpty: { raw: JSON.stringify({ type: "presence_subscribe", user_ids: [] }), ...one("invalid_frame") },
    presenceTooMany: { raw: JSON.stringify({ type: "presence_subscribe", user_ids: Array.from({ length: 101 }, (_, i) => `u_${i}`) }), ...one("invalid_frame") },
    binaryGarbage: { raw: new Uint8Array([0xff, 0xfe, 0x00, 0xc0, 0x80]).buffer as ArrayBuffer, ...one("invalid_frame") },
    // A well-formed send whose content holds a byte that is not UTF-8: refused, not stored with U+FFFD.
    invalidUtf8Content: {
      raw: (() => {
        const [head, tail] = send({ client_msg_id: "c-utf8" }).split('"content":"x"');
        const bytes = [...new TextEncoder().encode(`${head}"content":"a`), 0xff, ...new TextEncoder().encode(`b"${tail}`)];
        return new Uint8Array(bytes).buffer as ArrayBuffer;
      })(),
      ...one("invalid_frame"),
    },
  };
}

describe("bad input on sockets", () => {
  for (const kind of ["device", "live"] as const) {
    it(`answers every bad ${kind}-socket message with error frames only, and the socket keeps working`, async () => {
      const s =
        kind === "device"
          ? await connect(owner.token, `bad-${kind}`)
          : await connect(owner.token, `bad-${kind}`, { path: `/api/v1/conversations/${group}/ws` });
      await answersTo(s, ' {"type":"heartbeat"}', 0);
      s.frames.splice(0);
      for (const [name, bad] of Object.entries(badFrames(group))) {
        const got = await answersTo(s, bad.raw, bad.codes.length);
        expect(got.map((f) => (f.type === "error" ? f.code : f.type)), name).toEqual(bad.codes);
        for (const [i, f] of got.entries()) {
          ErrorFrame.parse(f);
          if (bad.clientMsgIds?.[i] !== undefined) expect((f as ErrorFrame).client_msg_id, name).toBe(bad.clientMsgIds[i]);
          // Messages are for people: no stack traces or internals.
          expect((f as ErrorFrame).message, name).not.toMatch(/\bat .*\.(ts|js)|TypeError|SQLITE/);
        }
        expect(s.closed, `${name} closed the socket`).toBeNull();
      }
      // Still usable: a heartbeat is answered and a message is stored.
      s.send({ type: "heartbeat" });
      await s.next("heartbeat_ack");
      s.send({ type: "send_message", conversation_id: group, ...text(`still here (${kind})`, `alive-${kind}`) });
      await s.next("message_ack");
      expectedContents.push(`still here (${kind})`);
      s.close();
      await historyIntact();
    });

    it(`stores unicode and SQL-looking text verbatim over the ${kind} socket, and delivers it verbatim`, async () => {
      const s =
        kind === "device"
          ? await connect(owner.token, `uni-${kind}`)
          : await connect(owner.token, `uni-${kind}`, { path: `/api/v1/conversations/${group}/ws` });
      const reader = await connect(other.token, `reader-${kind}`, { path: `/api/v1/conversations/${group}/ws` });
      const entries = Object.entries(verbatim);
      // As one batch, the way a client flushes its outbox.
      s.send(entries.map(([name, content]) => ({ type: "send_message", conversation_id: group, ...text(content, `${kind}-${name}`) })));
      const acks = await s.next("message_ack", entries.length);
      expect(acks.map((a) => a.client_msg_id)).toEqual(entries.map(([name]) => `${kind}-${name}`));
      expectedContents.push(...entries.map(([, content]) => content));
      const delivered = await reader.next("new_message", entries.length);
      expect(delivered.map((m) => m.content)).toEqual(entries.map(([, content]) => content));
      s.close();
      reader.close();
      await historyIntact();
    });
  }

  // Storage has no form for them (they would come back as U+FFFD): refused, never silently changed.
  it("refuses lone surrogates in content or client_msg_id with bad_request, over REST and both sockets", async () => {
    const lone = ["\ud800", "a\udfffb", "\udc00\ud800", "fine 😀 then \ud83d"];
    for (const [i, content] of lone.entries()) {
      const res = await api("POST", `/api/v1/conversations/${group}/messages`, { token: owner.token, body: text(content, `lone-${i}`) });
      expectRefusal(res, `lone surrogate ${i}`, ["bad_request"]);
    }
    expectRefusal(
      await api("POST", `/api/v1/conversations/${group}/messages`, { token: owner.token, body: text("fine", "id-\udc00") }),
      "lone surrogate in client_msg_id",
      ["bad_request"],
    );
    for (const path of [undefined, `/api/v1/conversations/${group}/ws`]) {
      const s = await connect(owner.token, "lone-socket", { path });
      s.send([...lone.map((content, i) => ({ type: "send_message", conversation_id: group, ...text(content, `lone-socket-${i}`) }))]);
      const errors = await s.next("error", lone.length);
      expect(errors.map((e) => [e.code, e.client_msg_id])).toEqual(lone.map((_, i) => ["bad_request", `lone-socket-${i}`]));
      await s.settle();
      expect(s.of("message_ack")).toEqual([]);
      s.close();
    }
    await historyIntact();
  });
});

describe("a burst of 10,000 frames", () => {
  const BURST = 10_000;

  /** Counts answers (ack or error) per client_msg_id straight off the socket, cheaply. */
  function answerLog(s: TestSocket) {
    const byId = new Map<string, ServerFrame[]>();
    let total = 0;
    let wake = () => {};
    s.ws.addEventListener("message", (e) => {
      const f = JSON.parse(e.data as string) as ServerFrame;
      if (f.type !== "message_ack" && f.type !== "error") return;
      const id = f.client_msg_id ?? "(none)";
      byId.set(id, [...(byId.get(id) ?? []), f]);
      total++;
      wake();
    });
    return {
      byId,
      async until(count: number, timeoutMs: number) {
        const deadline = Date.now() + timeoutMs;
        while (total < count) {
          if (Date.now() > deadline) throw new Error(`only ${total} of ${count} answers within ${timeoutMs} ms`);
          await new Promise<void>((r) => {
            const t = setTimeout(r, 200);
            wake = () => {
              clearTimeout(t);
              r();
            };
          });
        }
      },
    };
  }

  /**
   * 10,000 frames as batches of 100 (the protocol's limit per socket message, how a client flushes
   * its outbox) on each socket; and one socket message per frame, fewer of them: in local workerd each
   * socket message costs a few milliseconds of its own (about 150 a second), so 10,000 single frames
   * would take over a minute by themselves.
   */
  const modes = [
    { socket: "device", batched: true, count: BURST },
    { socket: "live", batched: true, count: BURST },
    { socket: "device", batched: false, count: 500 },
    { socket: "live", batched: false, count: 500 },
  ] as const;
  for (const { socket, batched, count } of modes) {
    const mode = `${count} frames ${batched ? "in batches of 100" : "one per socket message"} on the ${socket} socket`;
    it(`answers each of ${mode} exactly once, and stores what was acked exactly once, in order`, async () => {
      const [a, b] = (await quickUsers(2, "burst")) as [Account, Account];
      const conversation = await createGroup(a, [b], "burst");
      const s =
        socket === "device"
          ? await connect(a.token, "burst-device")
          : await connect(a.token, "burst-live", { path: `/api/v1/conversations/${conversation}/ws` });
      const log = answerLog(s);
      // Every 97th frame is refused (a client may not send system messages); every 89th resends an earlier id.
      const frames = Array.from({ length: count }, (_, i) => {
        const id = i % 89 === 88 ? `b${i - 88}` : `b${i}`;
        return { type: "send_message", conversation_id: conversation, content: id, content_type: i % 97 === 96 ? "system" : "text", client_msg_id: id };
      });
      const started = Date.now();
      if (batched) for (let i = 0; i < count; i += Limits.maxFramesPerMessage) s.send(frames.slice(i, i + Limits.maxFramesPerMessage));
      else for (const f of frames) s.send(f);
      // Bounded: every frame answered within 30 s even on a loaded machine (about 5 s when idle).
      await log.until(count, 30_000);
      expect(Date.now() - started).toBeLessThan(30_000);

      // Exactly one answer per frame: resent ids get one per send, each naming the same stored message.
      const sentPerId = new Map<string, number>();
      for (const f of frames) sentPerId.set(f.client_msg_id, (sentPerId.get(f.client_msg_id) ?? 0) + 1);
      expect(log.byId.get("(none)")).toBeUndefined();
      const stored = new Map<string, number>();
      for (const [id, count] of sentPerId) {
        const answers = log.byId.get(id) ?? [];
        expect(answers.length, id).toBe(count);
        const acks = answers.filter((f) => f.type === "message_ack");
        for (const e of answers.filter((f) => f.type === "error")) expect(["invalid_frame", "rate_limited"]).toContain((e as ErrorFrame).code);
        if (acks.length > 0) {
          expect(new Set(acks.map((f) => f.seq)).size, `${id} acked as two messages`).toBe(1);
          stored.set(id, acks[0]!.seq);
        }
      }
      // The refused system frames were never acked.
      for (const f of frames) if (f.content_type === "system" && sentPerId.get(f.client_msg_id) === 1) expect(stored.has(f.client_msg_id)).toBe(false);

      // History: gapless, and exactly the acked messages, each once, at the acked seq.
      s.send({ type: "heartbeat" });
      await s.next("heartbeat_ack");
      const history = await fullHistory(b.token, conversation);
      const texts = history.filter((m) => m.content_type === "text");
      expect(texts.length).toBe(stored.size);
      expect(history.filter((m) => m.content_type === "system")).toHaveLength(1); // group_created only
      for (const m of texts) expect(stored.get(m.content), m.content).toBe(m.seq);
      // Send order kept: one sender's acked messages have increasing seqs in the order sent.
      // (An id whose first send was refused is stored from its resend: its place is that of its first text send.)
      const firstTextSend = [...new Set(frames.filter((f) => f.content_type === "text").map((f) => f.client_msg_id))];
      const order = firstTextSend.map((id) => stored.get(id)!);
      expect(order).toEqual([...order].sort((x, y) => x - y));
      s.close();
    });
  }
});
