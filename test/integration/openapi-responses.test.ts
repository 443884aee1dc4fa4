import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { apiDocument } from "../../src/openapi/document";
import { TEST_ADMIN_SECRET, uniqueName } from "../helpers/client";
import { png } from "../helpers/media";
import { DocumentedApi } from "../helpers/openapi";
import { pushBrowser, subscriptionOf } from "../helpers/webpush";

/**
 * A real session through every operation of the OpenAPI document: each answer, success or refusal,
 * is checked against what the document says that operation answers with that status
 * (test/helpers/openapi.ts). The last test fails if any operation never answered a success.
 */
describe("every documented operation, driven for real", () => {
  const api = new DocumentedApi(apiDocument());
  const password = "correct horse battery";
  type Account = { user: { user_id: string; username: string }; token: string };
  const register = async (prefix: string): Promise<Account> => {
    const res = await api.fetch("POST", "/api/v1/auth/register", { body: { username: uniqueName(prefix), password } });
    expect(res.status).toBe(201);
    return res.body;
  };
  let ana: Account, bo: Account, cy: Account, dan: Account;
  let direct: string, group: string, messageId: string;

  it("service routes: health, the document and the reference page", async () => {
    expect((await api.fetch("GET", "/healthz")).status).toBe(200);
    expect((await api.fetch("GET", "/api/v1/openapi.json")).status).toBe(200);
    expect((await api.fetch("GET", "/api/v1/frames.schema.json")).status).toBe(200);
    const page = await api.fetch("GET", "/api/docs");
    expect(page.status).toBe(200);
    // The page's scripts: Swagger UI's from our origin and the inline start-up, both by the policy's nonce.
    const policy = page.headers.get("Content-Security-Policy")!;
    const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
    expect(nonce).toBeTruthy();
    expect(policy).toContain("default-src 'none'");
    expect(policy).toMatch(/script-src 'self' 'nonce-[^']+';/);
    expect(policy).toContain("connect-src 'self'");
    expect(page.body).toContain(`<script src="/swagger-ui/swagger-ui-bundle.js" nonce="${nonce}"></script>`);
    expect(page.body).toContain("/api/v1/openapi.json");
    expect(page.body).not.toMatch(/https?:\/\//);
    expect((await api.fetch("GET", "/api/docs")).headers.get("Content-Security-Policy")).not.toContain(nonce);
  });

  it("accounts: register, log in, refresh", async () => {
    [ana, bo, cy, dan] = await Promise.all([register("ana"), register("bo"), register("cy"), register("dan")]);
    expect((await api.fetch("POST", "/api/v1/auth/register", { body: { username: ana.user.username, password } })).body.error.code).toBe("username_taken");
    expect((await api.fetch("POST", "/api/v1/auth/register", { body: { username: "x", password } })).body.error.code).toBe("bad_request");
    expect((await api.fetch("POST", "/api/v1/auth/register", { rawBody: "{", headers: { "Content-Type": "application/json" } })).body.error.code).toBe(
      "invalid_json",
    );
    const login = await api.fetch("POST", "/api/v1/auth/login", { body: { username: ana.user.username, password } });
    expect(login.status).toBe(200);
    expect((await api.fetch("POST", "/api/v1/auth/login", { body: { username: ana.user.username, password: "wrong password" } })).status).toBe(401);
    const refreshed = await api.fetch("POST", "/api/v1/auth/refresh", { token: login.body.token });
    expect(refreshed.status).toBe(200);
    ana = refreshed.body;
  });

  it("users: profile, settings, lookup, presence", async () => {
    expect((await api.fetch("GET", "/api/v1/users/me")).status).toBe(401);
    expect((await api.fetch("GET", `/api/v1/users/me?token=${ana.token}`, { token: ana.token })).body.error.code).toBe("bad_request");
    expect((await api.fetch("GET", "/api/v1/users/me", { token: ana.token })).status).toBe(200);
    // Bo lets nobody add him to groups: adds become invitations.
    expect((await api.fetch("PATCH", "/api/v1/users/me", { token: bo.token, body: { groups_add: "nobody" } })).body.settings.groups_add).toBe("nobody");
    expect((await api.fetch("PATCH", "/api/v1/users/me", { token: bo.token, body: {} })).status).toBe(400);
    expect((await api.fetch("GET", `/api/v1/users?username=${bo.user.username}`, { token: ana.token })).body.user.user_id).toBe(bo.user.user_id);
    expect((await api.fetch("GET", "/api/v1/users?username=nobody_here", { token: ana.token })).body.error.code).toBe("user_not_found");
    expect((await api.fetch("GET", `/api/v1/users/${bo.user.user_id}`, { token: ana.token })).status).toBe(200);
    expect((await api.fetch("GET", `/api/v1/users/${bo.user.user_id}/presence`, { token: ana.token })).body.error.code).toBe("forbidden");
  });

  it("conversations: direct and group, members, messages, receipts", async () => {
    const created = await api.fetch("POST", "/api/v1/conversations", { token: ana.token, body: { type: "direct", member_ids: [bo.user.user_id] } });
    expect(created.status).toBe(201);
    direct = created.body.conversation.conversation_id;
    expect((await api.fetch("POST", "/api/v1/conversations", { token: ana.token, body: { type: "direct", member_ids: [bo.user.user_id] } })).status).toBe(200);
    expect((await api.fetch("GET", `/api/v1/users/${bo.user.user_id}/presence`, { token: ana.token })).status).toBe(200);

    const made = await api.fetch("POST", "/api/v1/conversations", {
      token: ana.token,
      body: { type: "group", name: "team", member_ids: [cy.user.user_id, bo.user.user_id] },
    });
    expect(made.status).toBe(201);
    expect(made.body.invited).toEqual([bo.user.user_id]);
    group = made.body.conversation.conversation_id;
    const missing = await api.fetch("POST", "/api/v1/conversations", { token: ana.token, body: { type: "group", name: "x", member_ids: ["u_nobody"] } });
    expect(missing.body.error.code).toBe("user_not_found");

    const path = `/api/v1/conversations/${group}`;
    expect((await api.fetch("GET", path, { token: cy.token })).status).toBe(200);
    expect((await api.fetch("GET", "/api/v1/conversations/g_nothing_here", { token: cy.token })).body.error.code).toBe("conversation_not_found");
    expect((await api.fetch("GET", path, { token: dan.token })).body.error.code).toBe("not_a_member");
    expect((await api.fetch("PATCH", path, { token: ana.token, body: { name: "the team" } })).body.conversation.name).toBe("the team");
    expect((await api.fetch("PATCH", path, { token: cy.token, body: { name: "mine" } })).body.error.code).toBe("forbidden");
    expect((await api.fetch("PATCH", `/api/v1/conversations/${direct}`, { token: ana.token, body: { name: "us" } })).body.error.code).toBe("not_a_group");
    expect((await api.fetch("POST", `${path}/members`, { token: ana.token, body: { user_ids: [dan.user.user_id] } })).status).toBe(200);
    expect((await api.fetch("PATCH", `${path}/members/${dan.user.user_id}`, { token: ana.token, body: { role: "admin" } })).status).toBe(200);
    expect((await api.fetch("DELETE", `${path}/members/${dan.user.user_id}`, { token: ana.token })).status).toBe(200);
    const changes = await api.fetch("GET", `${path}/members/history?limit=2`, { token: ana.token });
    expect(changes.body.changes.map((c: { change: string; user_id: string }) => [c.change, c.user_id])).toEqual([
      ["removed", dan.user.user_id],
      ["joined", dan.user.user_id],
    ]);
    expect((await api.fetch("GET", `${path}/members/history?before=${changes.body.next}`, { token: ana.token })).body.next).toBeNull();
    expect((await api.fetch("GET", `${path}/members/history`, { token: cy.token })).body.error.code).toBe("forbidden");
    expect((await api.fetch("GET", `${path}/members/history?before=nonsense`, { token: ana.token })).body.error.code).toBe("bad_request");
    expect((await api.fetch("GET", `/api/v1/conversations/${direct}/members/history`, { token: ana.token })).body.error.code).toBe("not_a_group");

    const sent = await api.fetch("POST", `${path}/messages`, { token: ana.token, body: { content: "hello", content_type: "text", client_msg_id: "m-1" } });
    expect(sent.status).toBe(201);
    messageId = sent.body.server_msg_id;
    const tooLarge = { content: "x".repeat(400 * 1024), content_type: "text", client_msg_id: "m-2" };
    expect((await api.fetch("POST", `${path}/messages`, { token: ana.token, body: tooLarge })).body.error.code).toBe("content_too_large");
    expect((await api.fetch("GET", `${path}/messages?limit=10`, { token: cy.token })).body.messages.at(-1).content).toBe("hello");
    expect((await api.fetch("GET", `${path}/messages?before=1&after=1`, { token: cy.token })).body.error.code).toBe("bad_request");
    expect((await api.fetch("GET", `${path}/messages`, { token: dan.token })).body.error.code).toBe("not_a_member");
    expect((await api.fetch("GET", `${path}/messages/${messageId}/receipts`, { token: ana.token })).status).toBe(200);
    expect((await api.fetch("GET", `${path}/messages/${messageId}/receipts`, { token: cy.token })).body.error.code).toBe("forbidden");

    // A report (stored for the operators), and a stranger's refused.
    expect((await api.fetch("POST", `${path}/report`, { token: cy.token, body: { reason: "spam" } })).status).toBe(201);
    expect((await api.fetch("POST", `${path}/report`, { token: dan.token, body: {} })).body.error.code).toBe("not_a_member");

    // Message actions and forwards: answers and refusals as the document says.
    const actions = `${path}/messages/${messageId}/actions`;
    expect((await api.fetch("POST", actions, { token: cy.token, body: { action: "reaction", content: "👍", client_msg_id: "x-1" } })).status).toBe(201);
    expect((await api.fetch("POST", actions, { token: cy.token, body: { action: "reaction", content: "yes", client_msg_id: "x-2" } })).body.error.code).toBe("invalid_reaction");
    expect((await api.fetch("POST", actions, { token: cy.token, body: { action: "edit", content: "mine", client_msg_id: "x-3" } })).body.error.code).toBe("not_editable");
    expect((await api.fetch("POST", actions, { token: ana.token, body: { action: "edit", content: "hello!", client_msg_id: "x-4" } })).status).toBe(201);
    const missingMessage = `${path}/messages/m_zzzz_nothing/actions`;
    expect((await api.fetch("POST", missingMessage, { token: ana.token, body: { action: "delete", client_msg_id: "x-5" } })).body.error.code).toBe("message_not_found");
    const forward = await api.fetch("POST", `${path}/messages/${messageId}/forward`, {
      token: ana.token,
      body: { conversation_ids: [direct, "g_nothing_here"], client_msg_id: "fw-1" },
    });
    expect(forward.status).toBe(200);
    expect(forward.body.results.map((r: { ack?: unknown; error?: { code: string } }) => r.error?.code ?? "ok")).toEqual(["ok", "conversation_not_found"]);
    expect((await api.fetch("POST", `${path}/messages/${messageId}/forward`, { token: dan.token, body: { conversation_ids: [direct], client_msg_id: "fw-2" } })).body.error.code).toBe(
      "not_a_member",
    );
    expect((await api.fetch("POST", actions, { token: ana.token, body: { action: "delete", client_msg_id: "x-6" } })).status).toBe(201);
    expect((await api.fetch("POST", actions, { token: cy.token, body: { action: "reaction", content: "👍", client_msg_id: "x-7" } })).body.error.code).toBe("message_deleted");
  });

  it("message marks: star, unstar, hide, the starred list and the changes since a version", async () => {
    const path = `/api/v1/conversations/${group}/messages/${messageId}`;
    expect((await api.fetch("POST", `${path}/star`, { token: cy.token })).status).toBe(204);
    expect((await api.fetch("POST", `${path}/star`, { token: dan.token })).body.error.code).toBe("not_a_member");
    expect((await api.fetch("POST", `/api/v1/conversations/${group}/messages/m1_forged/star`, { token: cy.token })).body.error.code).toBe("message_not_found");
    expect((await api.fetch("POST", `/api/v1/conversations/g_nothing_here/messages/${messageId}/hide`, { token: cy.token })).body.error.code).toBe(
      "conversation_not_found",
    );
    const list = await api.fetch("GET", "/api/v1/users/me/starred?limit=10", { token: cy.token });
    expect(list.body.starred.map((s: { message: { server_msg_id: string } }) => s.message.server_msg_id)).toEqual([messageId]);
    expect((await api.fetch("GET", "/api/v1/users/me/starred?limit=0", { token: cy.token })).status).toBe(400);
    expect((await api.fetch("DELETE", `${path}/star`, { token: cy.token })).status).toBe(204);
    expect((await api.fetch("DELETE", "/api/v1/conversations/not-an-id/messages/x/star", { token: cy.token })).body.error.code).toBe("conversation_not_found");
    expect((await api.fetch("POST", `${path}/hide`, { token: cy.token })).status).toBe(204);
    expect((await api.fetch("GET", "/api/v1/users/me/marks?after=0", { token: cy.token })).body.marks.map((m: { version: number }) => m.version)).toEqual([2, 3]);
    expect((await api.fetch("GET", "/api/v1/users/me/marks?after=-1", { token: cy.token })).status).toBe(400);
  });

  it("search: one conversation's messages, and all of the caller's conversations", async () => {
    const sent = await api.fetch("POST", `/api/v1/conversations/${group}/messages`, { token: ana.token, body: { content: "quokka sighting", content_type: "text", client_msg_id: "s-1" } });
    expect(sent.status).toBe(201);
    const inGroup = await api.fetch("GET", `/api/v1/conversations/${group}/search?q=quok`, { token: ana.token });
    expect(inGroup.status).toBe(200);
    expect(inGroup.body.messages.map((m: { server_msg_id: string }) => m.server_msg_id)).toEqual([sent.body.server_msg_id]);
    expect((await api.fetch("GET", `/api/v1/conversations/${group}/search?q=quokka`, { token: dan.token })).body.error.code).toBe("not_a_member");
    expect((await api.fetch("GET", `/api/v1/conversations/${group}/search?q=`, { token: ana.token })).status).toBe(400);
    const everywhere = await api.fetch("GET", "/api/v1/search?q=quokka", { token: ana.token });
    expect(everywhere.status).toBe(200);
    expect(everywhere.body.messages.map((m: { server_msg_id: string }) => m.server_msg_id)).toEqual([sent.body.server_msg_id]);
    expect(everywhere.body.conversations).toEqual([]);
    expect((await api.fetch("GET", "/api/v1/search?q=quokka", { token: dan.token })).body.messages).toEqual([]);
  });

  it("invitations and invite links", async () => {
    const invitations = await api.fetch("GET", "/api/v1/invitations", { token: bo.token });
    expect(invitations.body.invitations.map((i: { conversation_id: string }) => i.conversation_id)).toEqual([group]);
    expect((await api.fetch("POST", `/api/v1/invitations/${group}/accept`, { token: bo.token })).status).toBe(200);
    expect((await api.fetch("POST", `/api/v1/invitations/${group}/accept`, { token: bo.token })).body.error.code).toBe("invitation_not_found");
    const other = await api.fetch("POST", "/api/v1/conversations", { token: ana.token, body: { type: "group", name: "other", member_ids: [bo.user.user_id] } });
    const otherId = other.body.conversation.conversation_id;
    expect((await api.fetch("DELETE", `/api/v1/invitations/${otherId}`, { token: bo.token })).status).toBe(204);
    expect((await api.fetch("DELETE", `/api/v1/invitations/${otherId}`, { token: bo.token })).status).toBe(404);

    const link = await api.fetch("POST", `/api/v1/conversations/${group}/invite-link`, { token: ana.token });
    expect(link.status).toBe(200);
    const token = link.body.token as string;
    expect((await api.fetch("GET", `/api/v1/invite-links/${token}`, { token: dan.token })).body.conversation_id).toBe(group);
    expect((await api.fetch("POST", `/api/v1/invite-links/${token}/join`, { token: dan.token })).status).toBe(200);
    expect((await api.fetch("DELETE", `/api/v1/conversations/${group}/invite-link`, { token: ana.token })).status).toBe(204);
    expect((await api.fetch("GET", `/api/v1/invite-links/${token}`, { token: dan.token })).body.error.code).toBe("invite_link_invalid");
  });

  it("blocks, the conversation list, archiving and leaving", async () => {
    expect((await api.fetch("POST", `/api/v1/users/${cy.user.user_id}/block`, { token: ana.token })).status).toBe(204);
    expect((await api.fetch("GET", "/api/v1/users/me/blocked", { token: ana.token })).body.user_ids).toEqual([cy.user.user_id]);
    expect((await api.fetch("DELETE", `/api/v1/users/${cy.user.user_id}/block`, { token: ana.token })).status).toBe(204);
    expect((await api.fetch("POST", "/api/v1/users/u_nobody_here/block", { token: ana.token })).body.error.code).toBe("user_not_found");
    expect((await api.fetch("GET", "/api/v1/conversations?limit=10", { token: ana.token })).body.conversations.length).toBeGreaterThanOrEqual(2);
    expect((await api.fetch("GET", "/api/v1/conversations?limit=0", { token: ana.token })).status).toBe(400);
    expect((await api.fetch("POST", "/api/v1/conversations/archive", { token: ana.token, body: { conversation_ids: [direct], archived: true } })).body.done).toEqual([
      direct,
    ]);
    const settings = `/api/v1/conversations/${group}/settings`;
    expect((await api.fetch("PATCH", settings, { token: ana.token, body: { muted_until: "always", pinned: true } })).body.settings).toMatchObject({ pinned_at: expect.any(Number) });
    expect((await api.fetch("PATCH", settings, { token: ana.token, body: {} })).status).toBe(400);
    const left = await api.fetch("POST", "/api/v1/conversations/leave", { token: cy.token, body: { conversation_ids: [group, direct] } });
    expect(left.body.done).toEqual([group]);
    expect(left.body.failed.map((f: { conversation_id: string }) => f.conversation_id)).toEqual([direct]);
  });

  it("media: ask, upload, complete, URLs, bytes, thumbnail", async () => {
    const bytes = png(64, 48);
    const asked = await api.fetch("POST", "/api/v1/media/upload", { token: ana.token, body: { content_type: "image/png", size: bytes.length, filename: "a.png" } });
    expect(asked.status).toBe(201);
    const mediaId = asked.body.media_id as string;
    expect((await api.fetch("POST", "/api/v1/media/upload", { token: ana.token, body: { content_type: "application/x-evil", size: 10 } })).status).toBe(415);
    const tampered = asked.body.upload_url.replace(/sig=[^&]+/, "sig=forged");
    expect((await api.fetch("PUT", tampered, { rawBody: bytes, headers: asked.body.headers })).body.error.code).toBe("upload_url_invalid");
    expect((await api.fetch("PUT", asked.body.upload_url, { rawBody: bytes, headers: asked.body.headers })).status).toBe(201);
    expect((await api.fetch("POST", `/api/v1/media/${mediaId}/complete`, { token: ana.token })).body.media.media_id).toBe(mediaId);
    expect((await api.fetch("POST", "/api/v1/media/md_nothing/complete", { token: ana.token })).status).toBe(404);

    const urls = await api.fetch("GET", `/api/v1/media/${mediaId}/url`, { token: ana.token });
    expect(urls.status).toBe(200);
    expect((await api.fetch("GET", urls.body.url)).headers.get("Content-Type")).toBe("image/png");
    expect((await api.fetch("GET", urls.body.url.replace(/sig=[^&]+/, "sig=forged"))).status).toBe(403);
    const download = await api.fetch("GET", `/api/v1/media/${mediaId}`, { token: ana.token });
    expect(download.status).toBe(200);
    expect((await api.fetch("GET", `/api/v1/media/${mediaId}`, { token: bo.token })).body.error.code).toBe("media_not_found");
    // The thumbnail is made off the request path: 404 until it is.
    const deadline = Date.now() + 20_000;
    let thumbnail = await api.fetch("GET", `/api/v1/media/${mediaId}/thumbnail`, { token: ana.token });
    while (thumbnail.status !== 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      thumbnail = await api.fetch("GET", `/api/v1/media/${mediaId}/thumbnail`, { token: ana.token });
    }
    expect(thumbnail.status, "the thumbnail job did not run").toBe(200);
  });

  it("push subscriptions", async () => {
    expect((await api.fetch("GET", "/api/v1/push/vapid-public-key", { token: ana.token })).status).toBe(200);
    const browser = await pushBrowser();
    const body = { device_id: "phone", ...subscriptionOf(browser) };
    expect((await api.fetch("POST", "/api/v1/push/subscriptions", { token: ana.token, body })).status).toBe(201);
    expect((await api.fetch("POST", "/api/v1/push/subscriptions", { token: ana.token, body: { ...body, keys: { p256dh: "x", auth: "y" } } })).status).toBe(400);
    expect((await api.fetch("DELETE", "/api/v1/push/subscriptions/phone", { token: ana.token })).status).toBe(204);
    expect((await api.fetch("DELETE", "/api/v1/push/subscriptions/phone", { token: ana.token })).body.error.code).toBe("not_found");
  });

  it("sockets: the device socket and a conversation's live socket", async () => {
    const upgrade = { Upgrade: "websocket" };
    const device = await api.fetch("GET", `/api/v1/ws?device_id=laptop&token=${ana.token}`, { headers: upgrade });
    expect(device.status).toBe(101);
    device.webSocket!.close(1000, "done");
    expect((await api.fetch("GET", "/api/v1/ws?device_id=laptop", { token: ana.token })).body.error.code).toBe("bad_request");
    expect((await api.fetch("GET", "/api/v1/ws?device_id=laptop", { headers: upgrade })).status).toBe(401);
    const live = await api.fetch("GET", `/api/v1/conversations/${group}/ws`, { token: ana.token, headers: upgrade });
    expect(live.status).toBe(101);
    live.webSocket!.close(1000, "done");
    expect((await api.fetch("GET", `/api/v1/conversations/${group}/ws`, { token: cy.token, headers: upgrade })).body.error.code).toBe("not_a_member");
  });

  it("operators: rehome", async () => {
    const objectId = env.USERS.idFromName(`openapi-${crypto.randomUUID()}`).toString();
    const body = { kind: "users", object_ids: [objectId] };
    const moved = await api.fetch("POST", "/api/v1/admin/rehome", { headers: { Authorization: `Bearer ${TEST_ADMIN_SECRET}` }, body });
    expect(moved.body).toEqual({ moved: [{ object_id: objectId, moved: 0 }] });
    expect((await api.fetch("POST", "/api/v1/admin/rehome", { token: ana.token, body })).status).toBe(401);
  });

  it("logout ends the session", async () => {
    expect((await api.fetch("POST", "/api/v1/auth/logout", { token: ana.token })).status).toBe(204);
    expect((await api.fetch("GET", "/api/v1/users/me", { token: ana.token })).body.error.code).toBe("unauthorized");
  });

  it("exercised every operation with a success", () => {
    const unanswered = api.operationIds.filter((id) => ![...(api.seen.get(id) ?? [])].some((s) => s < 400));
    expect(unanswered).toEqual([]);
  });
});
