import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { conversationHome, userHome } from "../../src/objects/homes";
import { app } from "../../src/worker";
import { api, quickUsers, TEST_ADMIN_SECRET } from "../helpers/client";

/**
 * The operator's side of a change of USER_SHARDS or CONVERSATION_SHARDS on Cloudflare
 * (docs/deploy.md): objects of the old layout hand their users and conversations to the homes the
 * current layout names. Here the "old layout" is one object per key, the name Parley uses when the
 * shard counts are unset, filled directly; this project runs with both counts at 4.
 */
const admin = (body: unknown, secret = TEST_ADMIN_SECRET) =>
  exports.default.fetch("http://parley.test/api/v1/admin/rehome", {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("POST /api/v1/admin/rehome", () => {
  it("moves a user from an object of the old layout to their home, and a second run moves nothing", async () => {
    const user = { user_id: `u_stray_${crypto.randomUUID().slice(0, 8)}`, username: "stray", display_name: "Stray" };
    const oldId = env.USERS.idFromName(user.user_id);
    const old = env.USERS.get(oldId);
    await old.createProfile(user);
    expect(await userHome(env, user.user_id).profile(user.user_id)).toBeNull();

    const res = await admin({ kind: "users", object_ids: [oldId.toString()] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ moved: [{ object_id: oldId.toString(), moved: 1 }] });
    expect(await userHome(env, user.user_id).profile(user.user_id)).toMatchObject(user);
    expect(await old.profile(user.user_id)).toBeNull();

    const again = await admin({ kind: "users", object_ids: [oldId.toString()] });
    expect(await again.json()).toEqual({ moved: [{ object_id: oldId.toString(), moved: 0 }] });
  });

  it("moves a user's message marks with them: the changes since a version, the version itself and the starred list", async () => {
    const user = { user_id: `u_marks_${crypto.randomUUID().slice(0, 8)}`, username: "marker", display_name: "Marker" };
    const oldId = env.USERS.idFromName(user.user_id);
    const old = env.USERS.get(oldId);
    await old.createProfile(user);
    const conversation_id = `g_marks_${crypto.randomUUID().slice(0, 8)}`;
    const now = Date.now();
    await old.joinConversation({ conversation_id, type: "group", name: "marks", members: [{ user_id: user.user_id, role: "member" }], created_at: now, updated_at: now }, [
      { user_id: user.user_id, joined_seq: 0 },
    ]);
    const message = (seq: number) => ({ conversation_id, server_msg_id: `m${seq.toString(36)}_abcdefgh`, seq });
    expect((await old.starMessage(user.user_id, message(2))).ok).toBe(true);
    expect((await old.starMessage(user.user_id, message(3))).ok).toBe(true);
    await old.unstarMessage(user.user_id, conversation_id, message(3).server_msg_id);
    expect((await old.hideMessage(user.user_id, message(4))).ok).toBe(true);
    const changes = await old.markChanges(user.user_id, 0, 100);
    const starred = await old.starredMarks(user.user_id, undefined, 100);
    expect(changes.marks.map((m) => m.version)).toEqual([1, 3, 4]);
    expect(starred.starred.map((m) => m.seq)).toEqual([2]);

    expect(await (await admin({ kind: "users", object_ids: [oldId.toString()] })).json()).toEqual({ moved: [{ object_id: oldId.toString(), moved: 1 }] });
    const home = userHome(env, user.user_id);
    expect(await home.markChanges(user.user_id, 0, 100)).toEqual(changes);
    expect(await home.starredMarks(user.user_id, undefined, 100)).toEqual(starred);
    expect(await old.markChanges(user.user_id, 0, 100)).toEqual({ marks: [], has_more: false });
    // The version carries on where it was: a device that has 4 learns of the next change.
    expect((await home.starMessage(user.user_id, message(5))).ok).toBe(true);
    expect((await home.markChanges(user.user_id, 4, 100)).marks.map((m) => [m.seq, m.version])).toEqual([[5, 5]]);
  });

  it("moves a conversation with its messages and members: history, sends and idempotency carry on at its home", async () => {
    const [ana, bo] = await quickUsers(2, "adm");
    const conversationId = `g_stray_${crypto.randomUUID().slice(0, 8)}`;
    const oldId = env.CONVERSATIONS.idFromName(conversationId);
    const old = env.CONVERSATIONS.get(oldId);
    expect((await old.createGroup(conversationId, ana!.user.user_id, "strays", [bo!.user.user_id])).ok).toBe(true);
    const sent = await old.sendMessages(conversationId, ana!.user.user_id, [{ content: "before the move", content_type: "text", client_msg_id: "m1" }]);
    expect(sent.ok).toBe(true);

    const res = await admin({ kind: "conversations", object_ids: [oldId.toString()] });
    expect(await res.json()).toEqual({ moved: [{ object_id: oldId.toString(), moved: 1 }] });
    expect((await old.describe(conversationId, ana!.user.user_id)).ok).toBe(false);

    // Through the API, which finds the conversation at its home.
    const history = await api("GET", `/api/v1/conversations/${conversationId}/messages`, { token: bo!.token });
    expect(history.status).toBe(200);
    expect(history.body.messages.map((m: { seq: number; content: string }) => [m.seq, m.content])).toEqual([
      [1, expect.stringContaining("group_created")],
      [2, "before the move"],
    ]);
    // Its search index came along: the moved text is found at its home.
    const found = await api("GET", `/api/v1/conversations/${conversationId}/search?q=move`, { token: bo!.token });
    expect(found.body.messages.map((m: { seq: number }) => m.seq)).toEqual([2]);
    const repeat = await api("POST", `/api/v1/conversations/${conversationId}/messages`, {
      token: ana!.token,
      body: { content: "before the move", content_type: "text", client_msg_id: "m1" },
    });
    expect(repeat.body.seq).toBe(2);
    const next = await api("POST", `/api/v1/conversations/${conversationId}/messages`, {
      token: ana!.token,
      body: { content: "after", content_type: "text", client_msg_id: "m2" },
    });
    expect(next.body.seq).toBe(3);
    expect((await conversationHome(env, conversationId).describe(conversationId, bo!.user.user_id)).ok).toBe(true);
  });

  it("refuses without the secret, with a wrong one, a bad body or an id of the other namespace", async () => {
    const userObject = env.USERS.idFromName("someone").toString();
    expect((await admin({ kind: "users", object_ids: [userObject] }, "wrong")).status).toBe(401);
    const bad = await admin({ kind: "users", object_ids: ["not-an-id"] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("bad_request");
    const crossed = await admin({ kind: "conversations", object_ids: [userObject] });
    expect(crossed.status).toBe(400);
    expect(((await crossed.json()) as { error: { message: string } }).error.message).toMatch(/not an object of the conversations namespace/);
    // A deployment without ADMIN_SECRET has no admin routes at all.
    const without = await app.fetch(
      new Request("http://parley.test/api/v1/admin/rehome", { method: "POST", headers: { authorization: "Bearer " }, body: "{}" }),
      { ...env, ADMIN_SECRET: undefined },
      createExecutionContext(),
    );
    expect(without.status).toBe(404);
  });
});

describe("MAINTENANCE=1", () => {
  it("answers every API route 503 maintenance, and leaves the admin routes open", async () => {
    const down = { ...env, MAINTENANCE: "1" };
    const me = await app.fetch(new Request("http://parley.test/api/v1/users/me"), down, createExecutionContext());
    expect(me.status).toBe(503);
    expect(await me.json()).toEqual({ error: { code: "maintenance", message: expect.any(String) } });
    const login = await app.fetch(
      new Request("http://parley.test/api/v1/auth/login", { method: "POST", body: JSON.stringify({ username: "a", password: "b" }) }),
      down,
      createExecutionContext(),
    );
    expect(login.status).toBe(503);
    const rehome = await app.fetch(
      new Request("http://parley.test/api/v1/admin/rehome", {
        method: "POST",
        headers: { authorization: `Bearer ${TEST_ADMIN_SECRET}`, "content-type": "application/json" },
        body: JSON.stringify({ kind: "users", object_ids: [env.USERS.idFromName("nobody").toString()] }),
      }),
      down,
      createExecutionContext(),
    );
    expect(rehome.status).toBe(200);
  });
});
