import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ConversationHost } from "../../src/objects/conversation/conversation";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import type { DeliveryBatch, DeliveryReceipt } from "../../src/objects/delivery";
import { userHome, userHomeName } from "../../src/objects/homes";
import type { Message } from "../../src/protocol";
import { api, connect, createGroup, quickUsersPlaced, type Account, type TestSocket } from "../helpers/client";
import { conversationIn, conversationStub } from "../helpers/objects";
import { pushBrowser, recordedPushes, subscriptionOf } from "../helpers/webpush";

/**
 * Real crashes inside the objects (issue 15), not evictions between requests: a conversation object
 * aborted (`ctx.abort()`, as the runtime resets an object that broke) in the middle of storing a
 * batch and in the middle of a fan-out call, and a member's user object failing for seconds. Nobody
 * drives the recovery: the alarms the code booked fire by themselves. Afterwards every acked message
 * exists once, in order, on every device, and pushes are neither lost nor doubled.
 */

type Host = { host: ConversationHost };
const texts = (s: TestSocket, conv: string) => s.of("new_message").filter((m) => m.conversation_id === conv && m.content_type === "text");

async function history(conv: string, who: Account): Promise<Message[]> {
  return (await api("GET", `/api/v1/conversations/${conv}/messages?after=0&limit=100`, { token: who.token })).body.messages;
}

/** Sends `ids` in one socket message and resends (same ids) whatever is refused, until each is acked. */
async function sendUntilAcked(s: TestSocket, conv: string, ids: string[]) {
  const acked = () => new Set(s.of("message_ack").map((a) => a.client_msg_id));
  const send = (list: string[]) => s.send(JSON.stringify(list.map((id) => ({ type: "send_message", conversation_id: conv, content: id, content_type: "text", client_msg_id: id }))));
  send(ids);
  for (let round = 0; round < 10; round++) {
    const errorsBefore = s.of("error").length;
    await s.until(() => ids.every((id) => acked().has(id)) || s.of("error").length > errorsBefore, "acks or refusals", 20_000);
    const missing = ids.filter((id) => !acked().has(id));
    if (missing.length === 0) return;
    // Refused ("could not store the message; retry"): what a client does, with the same ids.
    await new Promise((r) => setTimeout(r, 200));
    send(missing);
  }
  throw new Error("never acked");
}

function expectExactlyOnceInOrder(messages: { seq: number; content: string }[], ids: string[], what: string) {
  const seqs = messages.map((m) => m.seq);
  expect(seqs, `${what}: in seq order`).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seqs).size, `${what}: each once`).toBe(seqs.length);
  expect(messages.map((m) => m.content).filter((c) => ids.includes(c)), `${what}: every acked message`).toEqual(ids);
}

describe("crashes inside the objects", () => {
  it("a conversation aborted in the middle of storing a batch keeps none of it; the resend is stored once, in order", async () => {
    const [ana, bo] = await quickUsersPlaced(2, "apart", "midbatch");
    const group = await createGroup(ana!, [bo!], "mid-batch");
    const [anaPhone, boPhone] = await Promise.all([connect(ana!.token, "phone"), connect(bo!.token, "phone")]);
    await runInDurableObject(conversationStub(group), (o: ConversationObject, state) => {
      const store = conversationIn(o, group).store;
      const append = store.appendOnce.bind(store);
      let calls = 0;
      // The third message of the batch: two are appended inside the transaction when the object dies.
      store.appendOnce = (...args: Parameters<typeof append>) => {
        if (++calls === 3) state.abort("injected: crash in the middle of a batch");
        return append(...args);
      };
    });
    const ids = ["b1", "b2", "b3", "b4", "b5"];
    await sendUntilAcked(anaPhone, group, ids);
    expect(anaPhone.of("error").length, "the crash refused the batch once").toBeGreaterThan(0);

    const stored = (await history(group, ana!)).filter((m) => m.content_type === "text");
    expectExactlyOnceInOrder(stored, ids, "history");
    // Each ack names where its message is.
    for (const a of anaPhone.of("message_ack")) expect(stored.find((m) => m.content === a.client_msg_id)?.seq).toBe(a.seq);
    await boPhone.until((s) => texts(s, group).length >= ids.length, "Bo to get the batch");
    expectExactlyOnceInOrder(texts(boPhone, group), ids, "Bo's device");
    anaPhone.close();
    boPhone.close();
  });

  it("a conversation aborted mid-fan-out, after a user object took a round and before its answer counted, finishes by its own alarm: every device once, in order, one push", async () => {
    const [ana, bo, cy, dee] = await quickUsersPlaced(4, "apart", "midfan");
    const group = await createGroup(ana!, [bo!, cy!, dee!], "mid-fan-out");
    // Dee is offline, with a browser subscribed to pushes.
    const browser = await pushBrowser();
    expect((await api("POST", "/api/v1/push/subscriptions", { token: dee!.token, body: { device_id: "dee-laptop", ...subscriptionOf(browser) } })).status).toBe(201);
    const sockets = await Promise.all([ana, bo, cy].map((u) => connect(u!.token, "phone")));
    const [anaPhone, boPhone, cyPhone] = sockets as [TestSocket, TestSocket, TestSocket];
    const boHome = userHomeName(env, bo!.user.user_id);
    await runInDurableObject(conversationStub(group), (o: ConversationObject, state) => {
      const post = (o as unknown as Host).host.post;
      const deliver = post.deliver.bind(post);
      let crashed = false;
      post.deliver = async (home: string, batch: DeliveryBatch): Promise<DeliveryReceipt> => {
        const isText = batch.messages.some((m) => m.frame.includes('"content_type":"text"'));
        if (crashed || !isText) return deliver(home, batch);
        if (home !== boHome) return new Promise<never>(() => {}); // held: this instance never reaches the others
        // Bo's object has the round (and shows it); the conversation dies before it counts the answer.
        const receipt = await deliver(home, batch);
        crashed = true;
        state.abort("injected: crash in the middle of a fan-out round");
        return receipt;
      };
    });
    const ids = ["f1", "f2", "f3", "f4"];
    await sendUntilAcked(anaPhone, group, ids);
    // Nothing the test does touches the conversation from here: the alarm it booked before the crash
    // (or the next request another object makes of it) finishes the round.
    for (const [s, who] of [
      [boPhone, "Bo"],
      [cyPhone, "Cy"],
    ] as const) {
      await s.until((x) => texts(x, group).length >= ids.length, `${who} to get every message`, 20_000);
      expectExactlyOnceInOrder(texts(s, group), ids, `${who}'s device`);
    }
    // Bo's object was handed the round twice (before the crash, and again): his device saw it once.
    const pushes = await (async () => {
      for (let i = 0; i < 100; i++) {
        const got = await recordedPushes(browser);
        if (got.length > 0) return got;
        await new Promise((r) => setTimeout(r, 100));
      }
      return [];
    })();
    // The first message of a quiet spell is pushed at once, the rest wait for the 30 s window: one push, not two.
    await new Promise((r) => setTimeout(r, 500));
    expect((await recordedPushes(browser)).length).toBe(1);
    expect(pushes.length).toBe(1);
    // Dee's inbox counts each message once (the group's system message, then four).
    const [summary] = (await api("GET", "/api/v1/conversations", { token: dee!.token })).body.conversations;
    expect(summary.unread_count).toBe(1 + ids.length);
    for (const s of sockets) s.close();
  });

  it("one member's user object failing for seconds: the others get every message meanwhile, and that member gets them after, by the retries the conversation booked", async () => {
    const [ana, bo, cy] = await quickUsersPlaced(3, "apart", "failing");
    const group = await createGroup(ana!, [bo!, cy!], "one failing");
    const [anaPhone, boPhone, cyPhone] = await Promise.all([ana, bo, cy].map((u) => connect(u!.token, "phone")));
    const cyHome = userHomeName(env, cy!.user.user_id);
    const failUntil = Date.now() + 3_000;
    await runInDurableObject(conversationStub(group), (o: ConversationObject) => {
      const post = (o as unknown as Host).host.post;
      const deliver = post.deliver.bind(post);
      post.deliver = (home: string, batch: DeliveryBatch) => {
        if (home === cyHome && Date.now() < failUntil) return Promise.reject(new Error("injected: Cy's user object is down"));
        return deliver(home, batch);
      };
    });
    const ids = Array.from({ length: 10 }, (_, i) => `x${i + 1}`);
    await sendUntilAcked(anaPhone!, group, ids);
    await boPhone!.until((s) => texts(s, group).length >= ids.length, "Bo to get every message");
    // Bo had them all while Cy's object was still failing.
    expect(Date.now()).toBeLessThan(failUntil);
    expect(texts(cyPhone!, group)).toEqual([]);
    await cyPhone!.until((s) => texts(s, group).length >= ids.length, "Cy to get every message once her object is back", 30_000);
    expectExactlyOnceInOrder(texts(cyPhone!, group), ids, "Cy's device");
    expectExactlyOnceInOrder(texts(boPhone!, group), ids, "Bo's device");
    expect(await runInDurableObject(userHome(env, cy!.user.user_id), (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT unread_count AS n FROM inbox WHERE user_id = ? AND conversation_id = ?", cy!.user.user_id, group).one().n,
    )).toBe(1 + ids.length);
    for (const s of [anaPhone, boPhone, cyPhone]) s!.close();
  });
});
