import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { directoryStub } from "../../src/env";
import { randomToken } from "../../src/lib/ids";
import { conversationHome, placementOf, userHome } from "../../src/objects/homes";
import { api, registerUser } from "../helpers/client";

/**
 * Looking up what does not exist stores nothing (issue 15): with one object per id (the Cloudflare
 * default), every unknown username, user id or conversation id asked about would otherwise leave a
 * stored object behind — a cheap way to fill someone's storage bill.
 */
const tablesOf = (stub: DurableObjectStub) =>
  runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().length);

describe("lookups of what does not exist", () => {
  it("leave no stored object behind: unknown usernames, user ids and conversation ids", async () => {
    const asker = await registerUser("asker");
    const ghostUser = `u_${randomToken(16)}`;
    const ghostGroup = `g_${randomToken(16)}`;
    const ghostName = `ghost_${randomToken(6).toLowerCase().replace(/[^a-z0-9]/g, "x")}`;
    expect((await api("GET", `/api/v1/users/${ghostUser}`, { token: asker.token })).status).toBe(404);
    expect((await api("GET", `/api/v1/users?username=${ghostName}`, { token: asker.token })).status).toBe(404);
    expect((await api("GET", `/api/v1/conversations/${ghostGroup}`, { token: asker.token })).status).toBe(404);
    expect((await api("GET", `/api/v1/conversations/${ghostGroup}/messages`, { token: asker.token })).status).toBe(404);
    expect((await api("POST", `/api/v1/conversations/${ghostGroup}/messages`, { token: asker.token, body: { content: "x", content_type: "text", client_msg_id: "x1" } })).status).toBe(404);
    expect((await api("POST", "/api/v1/conversations", { token: asker.token, body: { type: "group", name: "g", member_ids: [ghostUser] } })).status).toBe(404);
    expect((await api("GET", `/api/v1/invite-links/${ghostGroup}.secret`, { token: asker.token })).status).toBe(404);

    expect(await tablesOf(directoryStub(env, ghostName))).toBe(0);
    // Shared shards (USER_SHARDS / CONVERSATION_SHARDS) exist anyway; with one object per id, the ghosts' must not.
    if (placementOf(env, "users").kind === "each") expect(await tablesOf(userHome(env, ghostUser))).toBe(0);
    if (placementOf(env, "conversations").kind === "each") expect(await tablesOf(conversationHome(env, ghostGroup))).toBe(0);
    // And a real one still works after being looked up while it did not exist.
    expect((await api("GET", `/api/v1/users/${asker.user.user_id}`, { token: asker.token })).status).toBe(200);
  });
});
