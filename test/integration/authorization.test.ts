import { exports } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import { ClientFrame, type ClientFrameType, type ServerFrame } from "../../src/protocol";
import { Endpoints, type EndpointName } from "../../src/protocol/endpoints";
import {
  api,
  connect,
  createGroup,
  directConversation,
  openSocket,
  quickUsers,
  TEST_JWT_SECRET,
  text,
  type Account,
  type TestSocket,
} from "../helpers/client";
import { png, upload } from "../helpers/media";

/**
 * The authorization matrix: every REST endpoint (from `Endpoints`, so a new one cannot be forgotten)
 * and every client frame type, on the device socket and on the live conversation socket, tried by
 * someone who must be refused — a stranger, a member removed from the group, a non-admin doing an
 * admin's job, and tokens that are logged out, expired, forged or missing. Each refusal must carry
 * the documented status and code, and leak nothing.
 */

type Persona = "stranger" | "removed" | "nonAdmin";
type Expected = { status: number; code: string };
const notAMember: Expected = { status: 403, code: "not_a_member" };
const forbidden: Expected = { status: 403, code: "forbidden" };
const mediaNotFound: Expected = { status: 404, code: "media_not_found" };
const noInvitation: Expected = { status: 404, code: "invitation_not_found" };
const badLink: Expected = { status: 404, code: "invite_link_invalid" };
const notInList: Expected = { status: 404, code: "conversation_not_found" };

interface World {
  admin: Account;
  member: Account;
  removed: Account;
  stranger: Account;
  outsider: Account;
  group: string;
  /** admin ↔ stranger: a conversation the member is not in. */
  foreign: string;
  /** The admin's message in the group, and its seq. */
  adminMessage: { server_msg_id: string; seq: number };
  /** An image the admin sent to the group while `removed` was still a member. */
  groupImage: string;
  /** The admin's upload, sent nowhere. */
  unsentUpload: string;
  bad: Record<string, string | null>;
}

interface RestCase {
  /** Path (with ids filled in) and body, for this endpoint. */
  request: (w: World) => { path: string; body?: unknown };
  /** Who must be refused, and how. An empty object says why nobody else can be (see `why`). */
  refused: Partial<Record<Persona, Expected>>;
  why?: string;
}

const restCases: Record<EndpointName, RestCase> = {
  register: { request: () => ({ path: "/auth/register" }), refused: {}, why: "public" },
  login: { request: () => ({ path: "/auth/login" }), refused: {}, why: "public" },
  refresh: { request: () => ({ path: "/auth/refresh" }), refused: {}, why: "the caller's own session" },
  logout: { request: () => ({ path: "/auth/logout", body: {} }), refused: {}, why: "the caller's own session" },
  me: { request: () => ({ path: "/users/me" }), refused: {}, why: "the caller's own profile" },
  updateMe: { request: () => ({ path: "/users/me", body: { last_seen_visible: false } }), refused: {}, why: "the caller's own settings" },
  findUser: { request: (w) => ({ path: `/users?username=${w.member.user.username}` }), refused: {}, why: "documented: any signed-in user may resolve a name" },
  user: { request: (w) => ({ path: `/users/${w.member.user.user_id}` }), refused: {}, why: "documented: any signed-in user may resolve an id" },
  presence: { request: (w) => ({ path: `/users/${w.member.user.user_id}/presence` }), refused: { stranger: forbidden } },
  listConversations: { request: () => ({ path: "/conversations" }), refused: {}, why: "lists only the caller's own (checked below)" },
  createConversation: {
    request: (w) => ({ path: "/conversations", body: { type: "direct", member_ids: [w.admin.user.user_id] } }),
    refused: {},
    why: "anyone may start a conversation; it grants nothing in others",
  },
  conversation: { request: (w) => ({ path: `/conversations/${w.group}` }), refused: { stranger: notAMember, removed: notAMember } },
  report: {
    request: (w) => ({ path: `/conversations/${w.group}/report`, body: { reason: "testing who may report" } }),
    // Any member may report; nobody else learns anything of the conversation.
    refused: { stranger: notAMember, removed: notAMember },
  },
  updateGroup: {
    request: (w) => ({ path: `/conversations/${w.group}`, body: { name: "hijacked" } }),
    refused: { stranger: notAMember, removed: notAMember, nonAdmin: forbidden },
  },
  addMembers: {
    request: (w) => ({ path: `/conversations/${w.group}/members`, body: { user_ids: [w.outsider.user.user_id] } }),
    refused: { stranger: notAMember, removed: notAMember, nonAdmin: forbidden },
  },
  removeMember: {
    request: (w) => ({ path: `/conversations/${w.group}/members/${w.admin.user.user_id}` }),
    refused: { stranger: notAMember, removed: notAMember, nonAdmin: forbidden },
  },
  setRole: {
    request: (w) => ({ path: `/conversations/${w.group}/members/${w.admin.user.user_id}`, body: { role: "member" } }),
    refused: { stranger: notAMember, removed: notAMember, nonAdmin: forbidden },
  },
  memberHistory: {
    request: (w) => ({ path: `/conversations/${w.group}/members/history` }),
    // The admins' view: members see who is in the group now, not who came and went.
    refused: { stranger: notAMember, removed: notAMember, nonAdmin: forbidden },
  },
  history: { request: (w) => ({ path: `/conversations/${w.group}/messages?after=0` }), refused: { stranger: notAMember, removed: notAMember } },
  sendMessage: {
    request: (w) => ({ path: `/conversations/${w.group}/messages`, body: text("intruder", `intrude-${crypto.randomUUID()}`) }),
    refused: { stranger: notAMember, removed: notAMember },
  },
  messageAction: {
    request: (w) => ({
      path: `/conversations/${w.group}/messages/${w.adminMessage.server_msg_id}/actions`,
      body: { action: "edit", content: "not yours", client_msg_id: `act-${crypto.randomUUID()}` },
    }),
    // Only its sender edits a message.
    refused: { stranger: notAMember, removed: notAMember, nonAdmin: { status: 403, code: "not_editable" } },
  },
  forward: {
    request: (w) => ({
      path: `/conversations/${w.group}/messages/${w.adminMessage.server_msg_id}/forward`,
      body: { conversation_ids: [w.group], client_msg_id: `fwd-${crypto.randomUUID()}` },
    }),
    // The original must be one the forwarder can read; any member may forward it.
    refused: { stranger: notAMember, removed: notAMember },
  },
  receipts: {
    request: (w) => ({ path: `/conversations/${w.group}/messages/${w.adminMessage.server_msg_id}/receipts` }),
    // Only the sender and admins may see receipts.
    refused: { stranger: notAMember, removed: notAMember, nonAdmin: forbidden },
  },
  mediaUpload: { request: () => ({ path: "/media/upload", body: { content_type: "image/png", size: 10 } }), refused: {}, why: "the caller's own upload" },
  mediaComplete: {
    request: (w) => ({ path: `/media/${w.unsentUpload}/complete` }),
    // Only the uploader completes an upload; everyone else sees no such media.
    refused: { stranger: mediaNotFound, removed: mediaNotFound, nonAdmin: mediaNotFound },
  },
  vapidPublicKey: { request: () => ({ path: "/push/vapid-public-key" }), refused: {}, why: "a public key" },
  subscribePush: { request: () => ({ path: "/push/subscriptions" }), refused: {}, why: "the caller's own device (deletion is checked below)" },
  unsubscribePush: { request: () => ({ path: "/push/subscriptions/member-phone" }), refused: { stranger: { status: 404, code: "not_found" } } },
  mediaUrl: { request: (w) => ({ path: `/media/${w.groupImage}/url` }), refused: { stranger: mediaNotFound, removed: mediaNotFound } },
  blocked: { request: () => ({ path: "/users/me/blocked" }), refused: {}, why: "the caller's own list" },
  block: { request: (w) => ({ path: `/users/${w.admin.user.user_id}/block` }), refused: {}, why: "anyone may block anyone; it only ever affects what reaches the caller" },
  unblock: { request: (w) => ({ path: `/users/${w.admin.user.user_id}/block` }), refused: {}, why: "the caller's own blocks" },
  leaveMany: { request: (w) => ({ path: "/conversations/leave", body: { conversation_ids: [w.group] } }), refused: {}, why: "only ever takes the caller out (checked in consent.test.ts)" },
  archiveMany: {
    request: (w) => ({ path: "/conversations/archive", body: { conversation_ids: [w.group], archived: true } }),
    refused: {},
    why: "the caller's own list (checked in consent.test.ts)",
  },
  conversationSettings: {
    request: (w) => ({ path: `/conversations/${w.group}/settings`, body: { muted_until: "always" } }),
    // The caller's own settings, for conversations in their own list only.
    refused: { stranger: notInList, removed: notInList },
  },
  invitations: { request: () => ({ path: "/invitations" }), refused: {}, why: "the caller's own invitations" },
  acceptInvitation: {
    request: (w) => ({ path: `/invitations/${w.group}/accept` }),
    refused: { stranger: noInvitation, removed: noInvitation, nonAdmin: noInvitation },
  },
  declineInvitation: { request: (w) => ({ path: `/invitations/${w.group}` }), refused: { stranger: noInvitation, removed: noInvitation, nonAdmin: noInvitation } },
  createInviteLink: { request: (w) => ({ path: `/conversations/${w.group}/invite-link` }), refused: { stranger: notAMember, removed: notAMember, nonAdmin: forbidden } },
  revokeInviteLink: { request: (w) => ({ path: `/conversations/${w.group}/invite-link` }), refused: { stranger: notAMember, removed: notAMember, nonAdmin: forbidden } },
  previewInviteLink: {
    request: (w) => ({ path: `/invite-links/${w.group}.not-the-token` }),
    refused: { stranger: badLink, removed: badLink, nonAdmin: badLink },
  },
  joinByInviteLink: {
    request: (w) => ({ path: `/invite-links/${w.group}.not-the-token/join` }),
    refused: { stranger: badLink, removed: badLink },
    why: "a member joining again is a no-op; the token is the permission (consent.test.ts)",
  },
  starMessage: {
    request: (w) => ({ path: `/conversations/${w.group}/messages/${w.adminMessage.server_msg_id}/star` }),
    refused: { stranger: notAMember, removed: notAMember },
  },
  hideMessage: {
    request: (w) => ({ path: `/conversations/${w.group}/messages/${w.adminMessage.server_msg_id}/hide` }),
    refused: { stranger: notAMember, removed: notAMember },
  },
  unstarMessage: {
    request: (w) => ({ path: `/conversations/${w.group}/messages/${w.adminMessage.server_msg_id}/star` }),
    refused: {},
    why: "only ever the caller's own star: one they never made changes nothing (marks.test.ts)",
  },
  starred: { request: () => ({ path: "/users/me/starred" }), refused: {}, why: "the caller's own starred messages" },
  marks: { request: () => ({ path: "/users/me/marks?after=0" }), refused: {}, why: "the caller's own marks" },
  searchConversation: { request: (w) => ({ path: `/conversations/${w.group}/search?q=hello` }), refused: { stranger: notAMember, removed: notAMember } },
  search: { request: () => ({ path: "/search?q=hello" }), refused: {}, why: "searches only the caller's own conversations" },
};

/** Every client frame type, aimed at the group (device socket) — what each persona must get back. */
type FrameCase = { frame: (w: World, id: string) => unknown; refusedWith: string | null };
const frameCases: Record<ClientFrameType, FrameCase> = {
  send_message: { frame: (w, id) => ({ type: "send_message", conversation_id: w.group, ...text("intruder", id) }), refusedWith: "not_a_member" },
  message_action: {
    frame: (w, id) => ({ type: "message_action", conversation_id: w.group, client_msg_id: id, action: "reaction", server_msg_id: w.adminMessage.server_msg_id, content: "👍" }),
    refusedWith: "not_a_member",
  },
  forward_message: {
    frame: (w, id) => ({ type: "forward_message", conversation_id: w.group, client_msg_id: id, from: { conversation_id: w.group, server_msg_id: w.adminMessage.server_msg_id } }),
    refusedWith: "not_a_member",
  },
  message_status: {
    frame: (w) => ({ type: "message_status", conversation_id: w.group, server_msg_id: w.adminMessage.server_msg_id, status: "read" }),
    refusedWith: "not_a_member",
  },
  sync: { frame: (w) => ({ type: "sync", conversation_id: w.group, after_seq: 0 }), refusedWith: "not_a_member" },
  typing: { frame: (w) => ({ type: "typing", conversation_id: w.group, status: "typing" }), refusedWith: "not_a_member" },
  presence_subscribe: { frame: (w) => ({ type: "presence_subscribe", user_ids: [w.member.user.user_id] }), refusedWith: "forbidden" },
  // Needs nothing but a session: answered heartbeat_ack.
  heartbeat: { frame: () => ({ type: "heartbeat" }), refusedWith: null },
};

const frameTypes = ClientFrame.options.map((o) => o.shape.type.value) as ClientFrameType[];

/** A GET whose answer may not be JSON (media bytes): status, and the error body when there is one. */
async function rawGet(token: string, path: string) {
  const res = await exports.default.fetch(`http://parley.test/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  const type = res.headers.get("Content-Type") ?? "";
  const body = type.includes("application/json") ? await res.json<any>() : (await res.arrayBuffer(), null);
  return { status: res.status, body };
}

async function eventually<T>(probe: () => Promise<T>, done: (v: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const claims = (who: Account, overrides: Record<string, unknown> = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return { sub: who.user.user_id, username: who.user.username, iat: now, exp: now + 3600, jti: crypto.randomUUID(), gen: 0, ...overrides };
};

const world = {} as World;

beforeAll(async () => {
  const [admin, member, removed, stranger, outsider] = (await quickUsers(5, "authz")) as [Account, Account, Account, Account, Account];
  Object.assign(world, { admin, member, removed, stranger, outsider });
  world.group = await createGroup(admin, [member, removed], "secret plans");
  world.foreign = await directConversation(admin, stranger);
  await directConversation(admin, member);

  // An image sent to the group while `removed` was still in it; they could see it then.
  world.groupImage = await upload(admin, png(48, 32), "image/png");
  const sentImage = await api("POST", `/api/v1/conversations/${world.group}/messages`, {
    token: admin.token,
    body: { content: "", content_type: "image", client_msg_id: "img", media_id: world.groupImage },
  });
  expect(sentImage.status).toBe(201);
  expect((await rawGet(removed.token, `/media/${world.groupImage}`)).status).toBe(200);
  // The thumbnail exists (a member gets it), so a refusal below is about who asks, not a missing job.
  await eventually(() => rawGet(member.token, `/media/${world.groupImage}/thumbnail`), (r) => r.status === 200, "the thumbnail");
  world.unsentUpload = await upload(admin, png(8, 8), "image/png");

  const sent = await api("POST", `/api/v1/conversations/${world.group}/messages`, { token: admin.token, body: text("the plan", "plan") });
  expect(sent.status).toBe(201);
  world.adminMessage = sent.body;

  // A push subscription of the member's, which nobody else may delete.
  const keys = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"])) as CryptoKeyPair;
  const point = new Uint8Array((await crypto.subtle.exportKey("raw", keys.publicKey)) as ArrayBuffer);
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const subscribed = await api("POST", "/api/v1/push/subscriptions", {
    token: member.token,
    body: { device_id: "member-phone", endpoint: "https://fcm.googleapis.com/fcm/send/member-phone", keys: { p256dh: b64(point), auth: b64(crypto.getRandomValues(new Uint8Array(16))) } },
  });
  expect(subscribed.status).toBe(201);

  // Tokens that must not work: logged out, expired, signed with another secret, forged, malformed.
  const loggedOut = await sign(claims(admin), TEST_JWT_SECRET, "HS256");
  expect((await api("GET", "/api/v1/users/me", { token: loggedOut })).status).toBe(200);
  expect((await api("POST", "/api/v1/auth/logout", { token: loggedOut })).status).toBe(204);
  const now = Math.floor(Date.now() / 1000);
  const unsignedHeader = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
  const unsignedBody = btoa(JSON.stringify(claims(admin))).replace(/=+$/, "");
  world.bad = {
    none: null,
    loggedOut,
    expired: await sign(claims(admin, { iat: now - 7200, exp: now - 3600 }), TEST_JWT_SECRET, "HS256"),
    otherSecret: await sign(claims(admin), "another-secret-another-secret-another-secret", "HS256"),
    algNone: `${unsignedHeader}.${unsignedBody}.`,
    noExpiry: await sign({ sub: admin.user.user_id, username: admin.user.username, iat: now, jti: crypto.randomUUID(), gen: 0 }, TEST_JWT_SECRET, "HS256"),
    olderGeneration: await sign(claims(admin, { gen: -1 }), TEST_JWT_SECRET, "HS256"),
    garbage: "not.a.token",
  };
});

describe("authorization matrix: REST", () => {
  it("has a case for every endpoint in Endpoints", () => {
    expect(Object.keys(restCases).sort()).toEqual(Object.keys(Endpoints).sort());
    for (const [name, c] of Object.entries(restCases)) {
      if (Object.keys(c.refused).length === 0) expect(c.why, `${name} refuses nobody: say why`).toBeTruthy();
    }
  });

  it("refuses every authenticated endpoint with 401 unauthorized for every bad token, and does nothing", async () => {
    const checks = Object.entries(Endpoints).flatMap(([name, e]) => {
      if (!e.auth) return [];
      const { path, body } = restCases[name as EndpointName].request(world);
      return Object.entries(world.bad).map(async ([kind, token]) => {
        const res = await api(e.method, `/api/v1${path}`, { token: token ?? undefined, body: body ?? ("body" in e ? {} : undefined) });
        expect(res, `${e.method} ${path} with a ${kind} token`).toMatchObject({ status: 401, body: { error: { code: "unauthorized", message: expect.any(String) } } });
      });
    });
    await Promise.all(checks);
    // Nothing any of them asked for happened: the group keeps its name, members and messages.
    const group = await api("GET", `/api/v1/conversations/${world.group}`, { token: world.admin.token });
    expect(group.body.conversation.name).toBe("secret plans");
    expect(group.body.conversation.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
      [world.admin, world.member, world.removed].map((a) => a.user.user_id).sort(),
    );
  });

  it("refuses strangers, removed members and non-admins with the documented status and code", async () => {
    // Removed by the group's admin.
    const removal = await api("DELETE", `/api/v1/conversations/${world.group}/members/${world.removed.user.user_id}`, { token: world.admin.token });
    expect(removal.status).toBe(200);

    const who: Record<Persona, Account> = { stranger: world.stranger, removed: world.removed, nonAdmin: world.member };
    for (const [name, c] of Object.entries(restCases)) {
      const e = Endpoints[name as EndpointName];
      for (const [persona, expected] of Object.entries(c.refused) as [Persona, Expected][]) {
        const { path, body } = c.request(world);
        const res = await api(e.method, `/api/v1${path}`, { token: who[persona].token, body });
        expect(res, `${name} (${e.method} ${path}) as ${persona}`).toMatchObject({
          status: expected.status,
          body: { error: { code: expected.code, message: expect.any(String) } },
        });
      }
    }

    // Media outside Endpoints (bytes, thumbnail): the same 404 for a stranger and a removed member.
    for (const suffix of ["", "/url", "/thumbnail"]) {
      expect((await rawGet(world.member.token, `/media/${world.groupImage}${suffix}`)).status, `member: media${suffix}`).toBe(200);
      for (const persona of ["stranger", "removed"] as const) {
        const res = await rawGet(who[persona].token, `/media/${world.groupImage}${suffix}`);
        expect(res, `media${suffix} as ${persona}`).toMatchObject({ status: 404, body: { error: { code: "media_not_found" } } });
      }
    }
    // An upload that was never sent: not even a fellow member sees it.
    for (const suffix of ["", "/url"]) {
      expect((await rawGet(world.admin.token, `/media/${world.unsentUpload}${suffix}`)).status).toBe(200);
      expect((await rawGet(world.member.token, `/media/${world.unsentUpload}${suffix}`)).status).toBe(404);
    }

    // Nobody else deleted the member's push subscription: it is still there for its owner to delete.
    expect((await api("DELETE", "/api/v1/push/subscriptions/member-phone", { token: world.member.token })).status).toBe(204);

    // The refused admin actions changed nothing, and no intruder's message was stored.
    const group = await api("GET", `/api/v1/conversations/${world.group}`, { token: world.admin.token });
    expect(group.body.conversation.name).toBe("secret plans");
    expect(group.body.conversation.members).toEqual(
      expect.arrayContaining([
        { user_id: world.admin.user.user_id, role: "admin" },
        { user_id: world.member.user.user_id, role: "member" },
      ]),
    );
    expect(group.body.conversation.members).toHaveLength(2);
    const history = await api("GET", `/api/v1/conversations/${world.group}/messages?after=0`, { token: world.admin.token });
    expect(history.body.messages.map((m: { content: string }) => m.content)).not.toContain("intruder");

    // The conversation list shows neither a stranger nor a removed member the group.
    const list = (a: Account) => api("GET", "/api/v1/conversations", { token: a.token });
    expect((await list(world.stranger)).body.conversations.map((c: { conversation_id: string }) => c.conversation_id)).not.toContain(world.group);
    await eventually(
      () => list(world.removed),
      (r) => !r.body.conversations.some((c: { conversation_id: string }) => c.conversation_id === world.group),
      "the group to leave the removed member's list",
    );
    // And the removed member, sharing nothing with the member now, cannot watch them.
    const presence = await api("GET", `/api/v1/users/${world.member.user.user_id}/presence`, { token: world.removed.token });
    expect(presence).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
  });

  it("answers an unknown conversation id with 404 conversation_not_found", async () => {
    const unknown = `g_${"A".repeat(22)}`;
    for (const name of ["conversation", "history", "sendMessage", "receipts", "updateGroup", "addMembers", "removeMember", "setRole", "starMessage", "hideMessage"] as const) {
      const e = Endpoints[name];
      const { path, body } = restCases[name].request({ ...world, group: unknown });
      const res = await api(e.method, `/api/v1${path}`, { token: world.admin.token, body });
      expect(res, name).toMatchObject({ status: 404, body: { error: { code: "conversation_not_found" } } });
    }
  });
});

describe("authorization matrix: sockets", () => {
  it("has a case for every client frame type", () => {
    expect(Object.keys(frameCases).sort()).toEqual([...frameTypes].sort());
  });

  it("refuses every upgrade with a bad token: 401, no socket, device and live", async () => {
    for (const [kind, token] of Object.entries(world.bad)) {
      for (const path of ["/api/v1/ws", `/api/v1/conversations/${world.group}/ws`]) {
        const res = await openSocket(token, "d1", { path });
        expect(res.status, `${path} with a ${kind} token`).toBe(401);
        expect(res.webSocket).toBeNull();
        expect(((await res.json()) as any).error.code).toBe("unauthorized");
      }
    }
  });

  it("refuses a live socket to strangers and removed members (403) and for unknown conversations (404)", async () => {
    await ensureRemoved();
    const cases: [Account, string, number, string][] = [
      [world.stranger, world.group, 403, "not_a_member"],
      [world.removed, world.group, 403, "not_a_member"],
      [world.admin, `g_${"B".repeat(22)}`, 404, "conversation_not_found"],
      [world.admin, "not-an-id", 404, "conversation_not_found"],
    ];
    for (const [who, id, status, code] of cases) {
      const res = await openSocket(who.token, "d1", { path: `/api/v1/conversations/${id}/ws` });
      expect(res.status, `${who.user.username} on ${id}`).toBe(status);
      expect(res.webSocket).toBeNull();
      expect(((await res.json()) as any).error.code).toBe(code);
    }
  });

  it("answers every frame type from a stranger or removed member on the device socket with an error and no data", async () => {
    await ensureRemoved();
    const watcher = await connect(world.member.token, `watch-${crypto.randomUUID().slice(0, 8)}`);
    for (const persona of ["stranger", "removed"] as const) {
      const who = world[persona];
      const s = await connect(who.token, `d-${persona}`);
      // Replay of what they are still entitled to (the removed member's past) is not what is tested.
      await answers(s, { type: "heartbeat" }, false);
      for (const type of frameTypes) {
        const c = frameCases[type];
        const got = await answers(s, c.frame(world, `${persona}-${type}`), c.refusedWith !== null);
        const errors = got.filter((f): f is Extract<ServerFrame, { type: "error" }> => f.type === "error");
        if (c.refusedWith === null) {
          expect(got, `${persona}: ${type}`).toEqual([]);
        } else {
          expect(errors.map((e) => e.code), `${persona}: ${type}`).toEqual([c.refusedWith]);
          if (type === "send_message") expect(errors[0]!.client_msg_id).toBe(`${persona}-send_message`);
        }
        expect(got.filter((f) => f.type !== "error"), `${persona}: ${type} leaked`).toEqual([]);
      }
      s.close();
    }
    // The members saw none of it: no typing from outside, no intruder message.
    await watcher.settle();
    expect(watcher.of("typing")).toEqual([]);
    expect(watcher.of("new_message").map((m) => m.content)).not.toContain("intruder");
    watcher.close();
  });

  it("answers every frame type naming another conversation on a live socket with bad_request and no data", async () => {
    const live = await connect(world.member.token, "member-live", { path: `/api/v1/conversations/${world.group}/ws` });
    for (const type of frameTypes) {
      const c = frameCases[type];
      const got = await answers(live, c.frame({ ...world, group: world.foreign }, `live-${type}`), c.refusedWith !== null);
      // presence_subscribe belongs on the device socket: refused the same way.
      const expected = c.refusedWith === null ? [] : ["bad_request"];
      expect(got.map((f) => (f.type === "error" ? f.code : f.type)), type).toEqual(expected);
    }
    live.close();
    const foreign = await api("GET", `/api/v1/conversations/${world.foreign}/messages?after=0`, { token: world.admin.token });
    expect(foreign.body.messages).toEqual([]);
  });

  it("gives a member removed while connected nothing after the removal: the live socket closes 4003, frames store nothing", async () => {
    const [a, b, c] = (await quickUsers(3, "rm")) as [Account, Account, Account];
    const group = await createGroup(a, [b, c]);
    const live = await connect(c.token, "c-live", { path: `/api/v1/conversations/${group}/ws` });
    const device = await connect(c.token, "c-phone");
    await device.settle();
    expect((await api("DELETE", `/api/v1/conversations/${group}/members/${c.user.user_id}`, { token: a.token })).status).toBe(200);
    // Whatever the removed member sends now on either socket stores nothing and returns nothing.
    for (const type of frameTypes) {
      const frame = frameCases[type].frame({ ...world, group }, `after-${type}`);
      for (const s of [live, device]) {
        try {
          s.send(frame);
        } catch {
          /* the live socket may already be closed */
        }
      }
    }
    await live.until((s) => s.closed !== null, "the live socket to close");
    expect(live.closed!.code).toBe(4003);
    await device.settle();
    expect((await api("POST", `/api/v1/conversations/${group}/messages`, { token: a.token, body: text("after you left", "later") })).status).toBe(201);
    await device.settle();
    for (const s of [live, device]) {
      const contents = s.of("new_message").map((m) => m.content);
      expect(contents).not.toContain("after you left");
      expect(s.of("message_ack")).toEqual([]);
    }
    const history = await api("GET", `/api/v1/conversations/${group}/messages?after=0`, { token: a.token });
    expect(history.body.messages.map((m: { content: string }) => m.content)).not.toContain("intruder");
    device.close();
  });

  it("closes the sockets a token opened when it logs out, and the token opens no more", async () => {
    const token = await sign(claims(world.member), TEST_JWT_SECRET, "HS256");
    const device = await connect(token, "logout-device");
    const live = await connect(token, "logout-live", { path: `/api/v1/conversations/${world.group}/ws` });
    expect((await api("POST", "/api/v1/auth/logout", { token })).status).toBe(204);
    for (const s of [device, live]) {
      await s.until((x) => x.closed !== null, "the socket to close");
      expect(s.closed!.code).toBe(4003);
    }
    for (const path of ["/api/v1/ws", `/api/v1/conversations/${world.group}/ws`]) {
      expect((await openSocket(token, "again", { path })).status).toBe(401);
    }
  });
});

/**
 * Sends a frame and returns what came back for it: waits for its error (when one is expected), then
 * for the answer to a heartbeat spelled so that it reaches the object (the exact heartbeat text is
 * answered by the runtime at once and could overtake the frame's answer).
 */
async function answers(s: TestSocket, frame: unknown, expectError: boolean): Promise<ServerFrame[]> {
  const start = s.frames.length;
  const since = () => s.frames.slice(start);
  s.send(frame);
  if (expectError) await s.until(() => since().some((f) => f.type === "error"), "an error frame");
  const acks = since().filter((f) => f.type === "heartbeat_ack").length + (isHeartbeat(frame) ? 2 : 1);
  s.send(' {"type":"heartbeat"}');
  await s.until(() => since().filter((f) => f.type === "heartbeat_ack").length >= acks, "the heartbeat's answer");
  return since().filter((f) => f.type !== "heartbeat_ack");
}

const isHeartbeat = (frame: unknown) => (frame as { type?: string }).type === "heartbeat";

async function ensureRemoved() {
  const group = await api("GET", `/api/v1/conversations/${world.group}`, { token: world.admin.token });
  if (group.body.conversation.members.some((m: { user_id: string }) => m.user_id === world.removed.user.user_id)) {
    expect((await api("DELETE", `/api/v1/conversations/${world.group}/members/${world.removed.user.user_id}`, { token: world.admin.token })).status).toBe(200);
  }
}
