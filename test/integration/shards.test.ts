import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { userHomeName, userHome } from "../../src/objects/homes";
import { api, connect, directConversation, quickUsers, quickUsersPlaced, sendAndAck, type Account } from "../helpers/client";
import { decryptPush, pushBrowser, recordedPushes, subscriptionOf } from "../helpers/webpush";

/**
 * Users who share a user object (USER_SHARDS): nothing of one may reach, move or hide the other's.
 * Ana and Bo live in the same object and share no conversation; each talks with Cy. They even use
 * the same device id, so only the user tag keeps their sockets and cursors apart.
 */
async function neighbours() {
  const [ana, bo] = (await quickUsersPlaced(2, "together", "nb")) as [Account, Account];
  const [cy] = (await quickUsers(1, "cy")) as [Account];
  expect(userHomeName(env, ana.user.user_id)).toBe(userHomeName(env, bo.user.user_id));
  const withAna = await directConversation(cy, ana);
  const withBo = await directConversation(cy, bo);
  return { ana, bo, cy, withAna, withBo };
}

const list = async (who: Account) => (await api("GET", "/api/v1/conversations", { token: who.token })).body.conversations as { conversation_id: string; unread_count: number }[];

describe("users in one user object", () => {
  it("keep their sockets apart: the same device id, replaced and logged out, reaches only its own user", async () => {
    const { ana, bo, cy, withAna } = await neighbours();
    const anaPhone = await connect(ana.token, "phone");
    const boPhone = await connect(bo.token, "phone");
    const cyDevice = await connect(cy.token, "cy");
    await sendAndAck(cyDevice, withAna, "for Ana only", "s1");
    expect((await anaPhone.next("new_message"))[0]!.content).toBe("for Ana only");
    // Bo's "phone" connecting again replaces Bo's socket, not Ana's.
    const boPhone2 = await connect(bo.token, "phone");
    await boPhone.until((s) => s.closed !== null, "Bo's old socket to be replaced");
    await anaPhone.settle();
    expect(anaPhone.closed).toBeNull();
    // Ana logging out everywhere closes Ana's sockets only.
    expect((await api("POST", "/api/v1/auth/logout", { token: ana.token, body: { all: true } })).status).toBe(204);
    await anaPhone.until((s) => s.closed !== null, "Ana's socket to close");
    await boPhone2.settle();
    expect(boPhone2.closed).toBeNull();
    expect(boPhone.of("new_message")).toEqual([]);
    expect(boPhone2.of("new_message")).toEqual([]);
    for (const s of [boPhone2, cyDevice]) s.close();
  });

  it("keep their cursors apart: one's delivered and read acknowledgements move nothing of the other's", async () => {
    const { ana, bo, cy, withAna, withBo } = await neighbours();
    const cyDevice = await connect(cy.token, "cy");
    const toAna = [await sendAndAck(cyDevice, withAna, "a1", "a1"), await sendAndAck(cyDevice, withAna, "a2", "a2")];
    await sendAndAck(cyDevice, withBo, "b1", "b1");
    await sendAndAck(cyDevice, withBo, "b2", "b2");
    const anaPhone = await connect(ana.token, "phone");
    await anaPhone.next("new_message", 2);
    anaPhone.send({ type: "message_status", conversation_id: withAna, server_msg_id: toAna[1]!.server_msg_id, status: "read" });
    await cyDevice.until((s) => s.of("message_status").some((f) => f.user_id === ana.user.user_id && f.status === "read"), "Ana's read receipt");
    await expect.poll(async () => (await list(ana))[0]?.unread_count).toBe(0);
    expect((await list(bo))[0]).toMatchObject({ conversation_id: withBo, unread_count: 2 });
    // Bo's phone (the same device id as Ana's) is caught up on everything of Bo's, from Bo's own cursor.
    const boPhone = await connect(bo.token, "phone");
    const caught = await boPhone.next("new_message", 2);
    expect(caught.map((m) => m.content)).toEqual(["b1", "b2"]);
    await boPhone.settle();
    expect(boPhone.of("new_message").every((m) => m.conversation_id === withBo)).toBe(true);
    expect(cyDevice.of("message_status").filter((f) => f.user_id === bo.user.user_id)).toEqual([]);
    for (const s of [anaPhone, boPhone, cyDevice]) s.close();
  });

  it("keep their presence apart: one coming online or going away says nothing of the other", async () => {
    const { ana, bo, cy } = await neighbours();
    const watcher = await connect(cy.token, "cy");
    watcher.send({ type: "presence_subscribe", user_ids: [ana.user.user_id, bo.user.user_id] });
    await watcher.next("presence", 2);
    const anaPhone = await connect(ana.token, "phone");
    await watcher.until((s) => s.of("presence").some((p) => p.user_id === ana.user.user_id && p.status === "online"), "Ana online");
    anaPhone.close();
    await watcher.until((s) => s.of("presence").some((p) => p.user_id === ana.user.user_id && p.last_seen !== null), "Ana offline");
    await watcher.settle();
    expect(watcher.of("presence").filter((p) => p.user_id === bo.user.user_id)).toEqual([{ type: "presence", user_id: bo.user.user_id, status: "offline", last_seen: null }]);
    const seen = async (target: Account) => (await api("GET", `/api/v1/users/${target.user.user_id}/presence`, { token: cy.token })).body;
    expect(await seen(ana)).toMatchObject({ status: "offline", last_seen: expect.any(Number) });
    expect(await seen(bo)).toEqual({ user_id: bo.user.user_id, status: "offline", last_seen: null });
    watcher.close();
  });

  it("keep their catch-up apart: each reconnecting device gets its own user's messages past its own cursor", async () => {
    const { ana, bo, cy, withAna, withBo } = await neighbours();
    const cyDevice = await connect(cy.token, "cy");
    for (let i = 1; i <= 3; i++) await sendAndAck(cyDevice, withAna, `to ana ${i}`, `ta${i}`);
    for (let i = 1; i <= 5; i++) await sendAndAck(cyDevice, withBo, `to bo ${i}`, `tb${i}`);
    const anaPhone = await connect(ana.token, "phone");
    const anaCaught = await anaPhone.next("new_message", 3);
    anaPhone.send({ type: "message_status", conversation_id: withAna, server_msg_id: anaCaught[2]!.server_msg_id, status: "delivered" });
    await cyDevice.until((s) => s.of("message_status").some((f) => f.user_id === ana.user.user_id), "Ana's delivered receipt");
    anaPhone.close();
    // Ana acknowledged everything: her phone is sent nothing again; Bo's phone gets all five of his.
    const anaAgain = await connect(ana.token, "phone");
    const boPhone = await connect(bo.token, "phone");
    expect((await boPhone.next("new_message", 5)).map((m) => m.content)).toEqual([1, 2, 3, 4, 5].map((i) => `to bo ${i}`));
    await anaAgain.settle();
    await boPhone.settle();
    expect(anaAgain.of("new_message")).toEqual([]);
    expect(boPhone.of("new_message")).toHaveLength(5);
    for (const s of [anaAgain, boPhone, cyDevice]) s.close();
  });

  it("keep their pushes apart: a message for one is pushed to that one's subscription only, with that one's unread count", async () => {
    const { ana, bo, cy, withAna } = await neighbours();
    const [anaBrowser, boBrowser] = await Promise.all([pushBrowser(), pushBrowser()]);
    for (const [who, b] of [[ana, anaBrowser], [bo, boBrowser]] as const) {
      const res = await api("POST", "/api/v1/push/subscriptions", { token: who.token, body: { device_id: "phone", ...subscriptionOf(b) } });
      expect(res.status).toBe(201);
    }
    const cyDevice = await connect(cy.token, "cy");
    await sendAndAck(cyDevice, withAna, "ping Ana", "p1");
    await expect.poll(() => recordedPushes(anaBrowser), { timeout: 15_000 }).toHaveLength(1);
    const [push] = await recordedPushes(anaBrowser);
    expect(await decryptPush(anaBrowser, push!.body)).toMatchObject({ conversation_id: withAna, body: "ping Ana", unread_count: 1 });
    expect(await recordedPushes(boBrowser)).toEqual([]);
    // The next message waits for Ana's coalescing window. Bo's device connecting clears what waits
    // for Bo, never what waits for Ana.
    await sendAndAck(cyDevice, withAna, "again", "p2");
    const anaHome = userHome(env, ana.user.user_id);
    const waiting = () =>
      runInDurableObject(anaHome, (_o, state) =>
        state.storage.sql.exec<{ pending: number }>("SELECT pending FROM push_windows WHERE user_id = ? AND conversation_id = ?", ana.user.user_id, withAna).one().pending,
      );
    await expect.poll(waiting, { timeout: 5_000 }).toBe(1);
    const boPhone = await connect(bo.token, "phone");
    await boPhone.settle();
    expect(await waiting()).toBe(1);
    boPhone.close();
    // The window ends (the alarm runs as if its booked time had come; the outbox's safety net may be
    // booked first): Ana's second push; Bo still none.
    await expect
      .poll(async () => (await runDurableObjectAlarm(anaHome), (await recordedPushes(anaBrowser)).length), { timeout: 15_000, interval: 500 })
      .toBe(2);
    const second = (await recordedPushes(anaBrowser))[1]!;
    expect(await decryptPush(anaBrowser, second.body)).toMatchObject({ conversation_id: withAna, body: "again", unread_count: 2 });
    expect(await recordedPushes(boBrowser)).toEqual([]);
    cyDevice.close();
  });
});
