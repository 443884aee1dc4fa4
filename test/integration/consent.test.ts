import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userHome } from "../../src/objects/homes";
import { Limits, SystemEvent } from "../../src/protocol";
import { api, connect, createGroup, directConversation, quickUsers, type Account } from "../helpers/client";

/**
 * Consent (issue 15): nobody can lock another user out by putting them in conversations, and
 * nobody is put in a group against their settings.
 */

type Res = { status: number; body: any };
const code = (res: Res) => [res.status, res.body.error?.code];
const ids = (members: { user_id: string }[]) => members.map((m) => m.user_id).sort();

/** Fills a user's inbox with placeholder conversations: `byOthers` of others' doing, `own` of their own. */
async function fill(user: Account, counts: { byOthers?: number; own?: number }) {
  const id = user.user.user_id;
  await runInDurableObject(userHome(env, id), (_o, state) => {
    const sql = state.storage.sql;
    for (const [n, flag, tag] of [[counts.byOthers ?? 0, 1, "o"], [counts.own ?? 0, 0, "s"]] as const) {
      for (let i = 0; i < n; i++) sql.exec("INSERT INTO inbox (user_id, conversation_id, added_by_other) VALUES (?, ?, ?)", id, `g_fill${tag}${i}`, flag);
    }
  });
}

async function setGroupsAdd(user: Account, groups_add: "everyone" | "contacts" | "nobody") {
  const res = await api("PATCH", "/api/v1/users/me", { token: user.token, body: { groups_add } });
  expect([res.status, res.body.settings?.groups_add]).toEqual([200, groups_add]);
}

function group(owner: Account, members: Account[], name = "team"): Promise<Res> {
  return api("POST", "/api/v1/conversations", { token: owner.token, body: { type: "group", name, member_ids: members.map((m) => m.user.user_id) } });
}

async function systemEvents(conversationId: string, who: Account): Promise<SystemEvent[]> {
  const res = await api("GET", `/api/v1/conversations/${conversationId}/messages?after=0`, { token: who.token });
  return (res.body.messages as { content_type: string; content: string }[])
    .filter((m) => m.content_type === "system")
    .map((m) => SystemEvent.parse(JSON.parse(m.content)));
}

describe("conversation caps", () => {
  it("refuses the adder, never the user, once others have put the user in as many conversations as they may", async () => {
    const [adder, victim, other] = await quickUsers(3, "cap");
    const existing = await createGroup(adder!, [victim!]);
    await fill(victim!, { byOthers: Limits.conversationsAddedByOthers - 1 }); // plus `existing`: full
    const refused = (res: Res) => expect(code(res)).toEqual([422, "recipient_limit"]);
    refused(await group(adder!, [victim!], "another"));
    refused(await api("POST", "/api/v1/conversations", { token: adder!.token, body: { type: "direct", member_ids: [victim!.user.user_id] } }));
    const second = await createGroup(adder!, [other!]);
    refused(await api("POST", `/api/v1/conversations/${second}/members`, { token: adder!.token, body: { user_ids: [victim!.user.user_id] } }));
    // Adding someone already in it is no new conversation for them.
    const again = await api("POST", `/api/v1/conversations/${existing}/members`, { token: adder!.token, body: { user_ids: [victim!.user.user_id, other!.user.user_id] } });
    expect(again.status).toBe(200);
    expect(ids(again.body.conversation.members)).toEqual(ids([adder!, victim!, other!].map((a) => a.user)));

    // The victim's own actions are untouched: they start a group and a chat, with the adder too.
    expect((await group(victim!, [other!], "mine")).status).toBe(201);
    const direct = await api("POST", "/api/v1/conversations", { token: victim!.token, body: { type: "direct", member_ids: [adder!.user.user_id] } });
    expect(direct.status).toBe(201);
  });

  it("counts the user's own conversations apart: only their own cap stops them", async () => {
    const [me, friend] = await quickUsers(2, "own");
    await fill(me!, { own: Limits.conversationsPerUser });
    expect(code(await group(me!, [friend!]))).toEqual([422, "too_many_conversations"]);
    // Others may still put them in conversations: that cap is apart.
    expect((await group(friend!, [me!])).status).toBe(201);
  });

  it("holds the cap under concurrent adds: of ten adders racing for the last place, exactly one gets it", async () => {
    const users = await quickUsers(11, "race");
    const [victim, ...adders] = users;
    await fill(victim!, { byOthers: Limits.conversationsAddedByOthers - 1 });
    const results = await Promise.all(adders.map((a, i) => group(a, [victim!], `race ${i}`)));
    expect(results.map((r) => r.status).sort()).toEqual([201, ...Array(9).fill(422)]);
    expect(results.filter((r) => r.status === 422).every((r) => r.body.error.code === "recipient_limit")).toBe(true);
    const count = await runInDurableObject(userHome(env, victim!.user.user_id), (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM inbox WHERE user_id = ?", victim!.user.user_id).one().n,
    );
    expect(count).toBe(Limits.conversationsAddedByOthers);
  });
});

describe("who can add me to groups", () => {
  it("'nobody': an add becomes an invitation, shown at once, that the user accepts", async () => {
    const [admin, ana, bo] = await quickUsers(3, "inv");
    await setGroupsAdd(ana!, "nobody");
    const anaSocket = await connect(ana!.token, "phone");
    const created = await group(admin!, [ana!, bo!], "book club");
    expect(created.status).toBe(201);
    const conversationId = created.body.conversation.conversation_id;
    expect(ids(created.body.conversation.members)).toEqual(ids([admin!.user, bo!.user]));
    expect(created.body.invited).toEqual([ana!.user.user_id]);

    const [frame] = await anaSocket.next("invitation");
    expect(frame!.invitation).toMatchObject({ conversation_id: conversationId, name: "book club", inviter_id: admin!.user.user_id });
    const listed = await api("GET", "/api/v1/invitations", { token: ana!.token });
    expect(listed.body.invitations.map((i: { conversation_id: string }) => i.conversation_id)).toEqual([conversationId]);
    // Not in the conversation until she says so.
    expect(code(await api("GET", `/api/v1/conversations/${conversationId}`, { token: ana!.token }))).toEqual([403, "not_a_member"]);

    const accepted = await api("POST", `/api/v1/invitations/${conversationId}/accept`, { token: ana!.token });
    expect(accepted.status).toBe(200);
    expect(ids(accepted.body.conversation.members)).toEqual(ids([admin!.user, ana!.user, bo!.user]));
    expect((await systemEvents(conversationId, admin!)).at(-1)).toEqual({
      event: "member_joined",
      actor: admin!.user.user_id,
      user_id: ana!.user.user_id,
      via: "invitation",
    });
    expect((await api("GET", "/api/v1/invitations", { token: ana!.token })).body.invitations).toEqual([]);
    // Used up: a second accept finds none.
    expect(code(await api("POST", `/api/v1/invitations/${conversationId}/accept`, { token: ana!.token }))).toEqual([404, "invitation_not_found"]);
    anaSocket.close();
  });

  it("a declined invitation is gone, and adding members later invites too", async () => {
    const [admin, ana, bo] = await quickUsers(3, "dec");
    await setGroupsAdd(ana!, "nobody");
    const conversationId = await createGroup(admin!, [bo!]);
    const add = await api("POST", `/api/v1/conversations/${conversationId}/members`, { token: admin!.token, body: { user_ids: [ana!.user.user_id] } });
    expect([add.status, add.body.invited]).toEqual([200, [ana!.user.user_id]]);
    expect(ids(add.body.conversation.members)).toEqual(ids([admin!.user, bo!.user]));
    expect((await api("DELETE", `/api/v1/invitations/${conversationId}`, { token: ana!.token })).status).toBe(204);
    expect(code(await api("POST", `/api/v1/invitations/${conversationId}/accept`, { token: ana!.token }))).toEqual([404, "invitation_not_found"]);
    // A non-admin cannot invite either: the conversation checks the adder before any invitation goes.
    const byMember = await api("POST", `/api/v1/conversations/${conversationId}/members`, { token: bo!.token, body: { user_ids: [ana!.user.user_id] } });
    expect(code(byMember)).toEqual([403, "forbidden"]);
    expect((await api("GET", "/api/v1/invitations", { token: ana!.token })).body.invitations).toEqual([]);
  });

  it("'contacts': people the user started a chat with, or wrote to, add directly; others invite", async () => {
    const [ana, friend, writer, stranger] = await quickUsers(4, "con");
    await setGroupsAdd(ana!, "contacts");
    // Ana started a chat with `friend`; `writer` started one with Ana and she wrote back.
    await directConversation(ana!, friend!);
    const withWriter = await directConversation(writer!, ana!);
    const reply = await api("POST", `/api/v1/conversations/${withWriter}/messages`, {
      token: ana!.token,
      body: { content: "hi", content_type: "text", client_msg_id: "reply-1" },
    });
    expect(reply.status).toBe(201);

    for (const adder of [friend!, writer!]) {
      const res = await group(adder, [ana!]);
      expect([res.status, res.body.invited]).toEqual([201, undefined]);
      expect(ids(res.body.conversation.members)).toEqual(ids([adder.user, ana!.user]));
    }
    const res = await group(stranger!, [ana!]);
    expect([res.status, res.body.invited]).toEqual([201, [ana!.user.user_id]]);
    expect(ids(res.body.conversation.members)).toEqual([stranger!.user.user_id]);
  });
});

describe("invite links", () => {
  it("an admin's link lets anyone holding it join, until it is revoked", async () => {
    const [admin, member, joiner, late] = await quickUsers(4, "link");
    const conversationId = await createGroup(admin!, [member!], "open group");
    const link = await api("POST", `/api/v1/conversations/${conversationId}/invite-link`, { token: admin!.token });
    expect(link.status).toBe(200);
    const token: string = link.body.token;
    // Asking again gives the same link.
    expect((await api("POST", `/api/v1/conversations/${conversationId}/invite-link`, { token: admin!.token })).body.token).toBe(token);

    const preview = await api("GET", `/api/v1/invite-links/${token}`, { token: joiner!.token });
    expect(preview.body).toEqual({ conversation_id: conversationId, name: "open group", member_count: 2 });
    const joined = await api("POST", `/api/v1/invite-links/${token}/join`, { token: joiner!.token });
    expect(joined.status).toBe(200);
    expect(ids(joined.body.conversation.members)).toEqual(ids([admin!.user, member!.user, joiner!.user]));
    expect((await systemEvents(conversationId, admin!)).at(-1)).toEqual({ event: "member_joined", actor: joiner!.user.user_id, user_id: joiner!.user.user_id, via: "link" });

    // A guessed secret is refused.
    expect(code(await api("POST", `/api/v1/invite-links/${conversationId}.guess/join`, { token: late!.token }))).toEqual([404, "invite_link_invalid"]);
    expect((await api("DELETE", `/api/v1/conversations/${conversationId}/invite-link`, { token: admin!.token })).status).toBe(204);
    expect(code(await api("GET", `/api/v1/invite-links/${token}`, { token: late!.token }))).toEqual([404, "invite_link_invalid"]);
    expect(code(await api("POST", `/api/v1/invite-links/${token}/join`, { token: late!.token }))).toEqual([404, "invite_link_invalid"]);
    const fresh = await api("POST", `/api/v1/conversations/${conversationId}/invite-link`, { token: admin!.token });
    expect(fresh.body.token).not.toBe(token);
  });
});

describe("the conversation list", () => {
  it("comes a page at a time, newest first, every conversation once", async () => {
    const [me, ...others] = await quickUsers(8, "page");
    for (const o of others) await directConversation(me!, o);
    const seen: { conversation_id: string; updated_at: number }[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const res: Res = await api("GET", `/api/v1/conversations?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: me!.token });
      expect(res.status).toBe(200);
      sizes.push(res.body.conversations.length);
      seen.push(...res.body.conversations);
      cursor = res.body.next;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(new Set(seen.map((c) => c.conversation_id)).size).toBe(7);
    const times = seen.map((c) => c.updated_at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(code(await api("GET", "/api/v1/conversations?cursor=nonsense", { token: me!.token }))).toEqual([400, "bad_request"]);
    expect(code(await api("GET", `/api/v1/conversations?limit=${Limits.conversationListMaxPage + 1}`, { token: me!.token }))).toEqual([400, "bad_request"]);
  });

  it("leaves many groups in one request, and archives many", async () => {
    const [me, a, b] = await quickUsers(3, "bulk");
    const groups = [await createGroup(a!, [me!, b!], "g1"), await createGroup(a!, [me!], "g2"), await createGroup(b!, [me!], "g3")];
    const direct = await directConversation(me!, a!);
    const left = await api("POST", "/api/v1/conversations/leave", { token: me!.token, body: { conversation_ids: [...groups, direct, "g_not_a_real_one"] } });
    expect(left.status).toBe(200);
    expect(left.body.done.sort()).toEqual([...groups].sort());
    expect(left.body.failed.map((f: { conversation_id: string; error: { code: string } }) => [f.conversation_id, f.error.code])).toEqual([
      [direct, "not_a_group"],
      ["g_not_a_real_one", "conversation_not_found"],
    ]);
    const list = async (archived: boolean) =>
      (await api("GET", `/api/v1/conversations?archived=${archived}`, { token: me!.token })).body.conversations.map((c: { conversation_id: string }) => c.conversation_id);
    expect(await list(false)).toEqual([direct]);
    // The others stay in the groups they were left in.
    expect(ids((await api("GET", `/api/v1/conversations/${groups[0]}`, { token: a!.token })).body.conversation.members)).toEqual(ids([a!.user, b!.user]));

    const more = [await createGroup(a!, [me!], "g4"), await createGroup(a!, [me!], "g5")];
    const archived = await api("POST", "/api/v1/conversations/archive", { token: me!.token, body: { conversation_ids: [...more, groups[0]], archived: true } });
    expect([archived.body.done.sort(), archived.body.failed.map((f: { conversation_id: string }) => f.conversation_id)]).toEqual([[...more].sort(), [groups[0]]]);
    expect(await list(false)).toEqual([direct]);
    expect((await list(true)).sort()).toEqual([...more].sort());
    await api("POST", "/api/v1/conversations/archive", { token: me!.token, body: { conversation_ids: [more[0]], archived: false } });
    expect((await list(false)).sort()).toEqual([direct, more[0]].sort());
    expect(code(await api("POST", "/api/v1/conversations/leave", { token: me!.token, body: { conversation_ids: [] } }))).toEqual([400, "bad_request"]);
  });
});
