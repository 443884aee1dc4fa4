import { describe, expect, inject, it } from "vitest";
import { MemoryStorage, ParleyClient } from "../../src/client";
import { client, directPair, startedClients, until } from "../helpers/sdk";

const baseUrl = inject("serverUrl");
const started = startedClients();

async function world() {
  const { alice, bob, conversationId } = await directPair(baseUrl);
  return { alice, bob, chat: conversationId };
}

async function firstMessages(a: ParleyClient, b: ParleyClient, chat: string) {
  await a.send(chat, "first");
  await a.send(chat, "forward me");
  await until([a, b], () => b.messages(chat).length === 2 && a.messages(chat).length === 2, "the first messages");
  return { target: a.messages(chat)[0]!.server_msg_id };
}

/** Stars and delete-for-me: REST marks, kept by the SDK in a retried queue and caught up by version. */
describe("marks through the SDK against a real server", () => {
  it("stars and deletes-for-me reach the user's other device live and after it was away, and wait while offline", async () => {
    const { alice, bob, ...ids } = await world();
    let offline = false;
    const gated: typeof fetch = (input, init) => (offline ? Promise.reject(new Error("offline")) : fetch(input, init));
    const storage = new MemoryStorage();
    const a = started(client(baseUrl, alice, "alice-phone", { fetch: gated, storage }));
    const a2 = started(client(baseUrl, alice, "alice-laptop", { storage: new MemoryStorage() }));
    const b = started(client(baseUrl, bob, "bob-phone"));
    const { target } = await firstMessages(a, b, ids.chat);
    await until([a2], () => a2.messages(ids.chat).length === 2, "the laptop to hold them");

    a.star(ids.chat, target, true);
    expect(a.isStarred(ids.chat, target)).toBe(true);
    await until([a2], () => a2.isStarred(ids.chat, target), "the star on the laptop, live");
    expect((await a2.loadStarred()).map((s) => s.message.server_msg_id)).toEqual([target]);

    // The laptop is away while the phone unstars and hides.
    a2.stop();
    a.star(ids.chat, target, false);
    a.deleteForMe(ids.chat, target);
    expect(a.entries(ids.chat).map((e) => e.content)).toEqual(["forward me"]);
    await until([a], () => a.marksWaiting() === 0, "the server to take the phone's changes");
    expect((await a.rest.call("starred", { query: {} })).starred).toEqual([]);
    void a2.start();
    await until([a2], () => a2.entries(ids.chat).length === 1 && !a2.isStarred(ids.chat, target), "the laptop to catch up");
    expect(a2.starredMessages()).toEqual([]);
    // Bob keeps the message: the marks are Alice's.
    expect(b.entries(ids.chat)).toHaveLength(2);

    // Offline: a star waits in storage and goes when the phone is back, across a restart of the SDK.
    await a.send(ids.chat, "second");
    await until([a], () => a.messages(ids.chat).length === 3, "the second message");
    const second = a.messages(ids.chat)[2]!.server_msg_id;
    a.stop();
    offline = true;
    a.star(ids.chat, second, true);
    expect(a.isStarred(ids.chat, second)).toBe(true);
    expect(a.marksWaiting()).toBe(1);
    offline = false;
    const again = started(client(baseUrl, alice, "alice-phone", { storage }));
    expect(again.isStarred(ids.chat, second)).toBe(true);
    await until([a2], () => a2.isStarred(ids.chat, second), "the star made offline to reach the laptop");
    expect((await again.loadStarred()).map((s) => s.message.server_msg_id)).toEqual([second]);
  });
});
