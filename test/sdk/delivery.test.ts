import { describe, expect, inject, it } from "vitest";
import { MemoryOutbox, ParleyClient } from "../../src/client";
import { account, client, directPair, FlakyNetwork, startedClients, until } from "../helpers/sdk";

const baseUrl = inject("serverUrl");
const started = startedClients();

const pair = () => directPair(baseUrl);

const contents = (c: ParleyClient, id: string) => c.messages(id).map((m) => m.content);

describe("the SDK against a real server", () => {
  it("resends a message whose ack was lost after reconnecting, and it is stored exactly once", async () => {
    const { alice, bob, conversationId } = await pair();
    const network = new FlakyNetwork();
    const a = started(client(baseUrl, alice, "alice-phone", { createSocket: network.createSocket }));
    const b = started(client(baseUrl, bob, "bob-phone"));
    const bobGot: string[] = [];
    b.on("message", (m) => bobGot.push(m.content));
    await until([a, b], () => a.connectionState === "open" && b.connectionState === "open", "both connected");

    network.incoming = (f) => (f.type === "message_ack" ? "drop" : "pass");
    await a.send(conversationId, "exactly once");
    await until([b], () => bobGot.includes("exactly once"), "bob to receive it");
    expect(a.pending(conversationId)).toHaveLength(1); // stored, but alice never heard so

    network.incoming = () => "pass";
    network.cut();
    await until([a], () => a.pending(conversationId).length === 0, "the resend to be acknowledged");

    const resends = network.sent.filter((f) => f.type === "send_message" && f.content === "exactly once");
    expect(resends.length).toBe(2);
    expect(new Set(resends.map((f) => f.type === "send_message" && f.client_msg_id)).size).toBe(1);
    const { messages } = await b.rest.call("history", { conversation_id: conversationId, query: {} });
    expect(messages.filter((m) => m.content === "exactly once")).toHaveLength(1);
    expect(bobGot.filter((c) => c === "exactly once")).toHaveLength(1);
    const stored = messages.find((m) => m.content === "exactly once")!;
    expect(a.messages(conversationId).map((m) => [m.seq, m.content])).toEqual([[stored.seq, "exactly once"]]);
  });

  it("notices a gap, fills it with sync, and drops duplicates", async () => {
    const { alice, bob, conversationId } = await pair();
    const network = new FlakyNetwork();
    let lostOnce = false;
    network.incoming = (f) => {
      if (f.type !== "new_message") return "pass";
      if (f.content === "two" && !lostOnce) {
        lostOnce = true;
        return "drop";
      }
      return f.content === "one" || f.content === "three" ? "twice" : "pass";
    };
    const a = started(client(baseUrl, alice, "alice-phone"));
    const b = started(client(baseUrl, bob, "bob-phone", { createSocket: network.createSocket }));
    const events: string[] = [];
    b.on("message", (m) => events.push(m.content));
    await until([a, b], () => a.connectionState === "open" && b.connectionState === "open", "both connected");

    for (const text of ["one", "two", "three"]) await a.send(conversationId, text);
    await until([b], () => b.messages(conversationId).length === 3, "bob to hold all three");

    expect(lostOnce).toBe(true);
    const seqs = b.messages(conversationId).map((m) => m.seq);
    expect(contents(b, conversationId)).toEqual(["one", "two", "three"]);
    expect(seqs).toEqual([seqs[0], seqs[0]! + 1, seqs[0]! + 2]);
    expect(b.contiguousSeq(conversationId)).toBe(seqs[2]);
    const syncs = network.sent.filter((f) => f.type === "sync");
    expect(syncs).toEqual([{ type: "sync", conversation_id: conversationId, after_seq: seqs[0], limit: 500 }]);
    expect(events.sort()).toEqual(["one", "three", "two"]); // each once, though two arrived twice
  });

  it("keeps unsent messages in the outbox across a restart of the SDK and sends each once", async () => {
    const { alice, bob, conversationId } = await pair();
    const outbox = new MemoryOutbox();
    // First run: the server cannot be reached (nothing listens on port 9), so everything waits.
    const offline = started(client("http://127.0.0.1:9", alice, "alice-laptop", { outbox }));
    for (const text of ["written", "while", "offline"]) await offline.send(conversationId, text);
    expect(offline.connectionState).not.toBe("open");
    offline.stop();
    expect((await outbox.list()).map((p) => p.content)).toEqual(["written", "while", "offline"]);

    const b = started(client(baseUrl, bob, "bob-phone"));
    const a = started(client(baseUrl, alice, "alice-laptop", { outbox }));
    await until([a, b], () => a.pending().length === 0 && b.messages(conversationId).length === 3, "the outbox to drain");
    expect(contents(b, conversationId)).toEqual(["written", "while", "offline"]);
    expect(await outbox.list()).toEqual([]);
  });

  it("acknowledges delivered on receipt and read when told, and the sender's ticks follow", async () => {
    const { alice, bob, conversationId } = await pair();
    const a = started(client(baseUrl, alice, "alice-phone"));
    await a.refreshConversations();
    const sent = await a.send(conversationId, "did you get this?");
    const state = () => a.entries(conversationId).find((e) => e.key === sent.client_msg_id || e.content === sent.content)?.state;
    await until([a], () => state() === "sent", "the ack");

    const b = started(client(baseUrl, bob, "bob-phone"));
    await until([a, b], () => state() === "delivered", "a delivered receipt");
    b.markRead(conversationId);
    await until([a], () => state() === "read", "a read receipt");
  });

  it("applies a group's renames and membership changes to the conversation list without fetching it again", async () => {
    const [ana, bo, cy] = await Promise.all([account(baseUrl, "ana"), account(baseUrl, "bo"), account(baseUrl, "cy")]);
    const anaRest = client(baseUrl, ana, "setup").rest;
    const { conversation } = await anaRest.call("createConversation", { body: { type: "group", name: "trip", member_ids: [bo.user.user_id] } });
    const id = conversation.conversation_id;
    const b = started(client(baseUrl, bo, "bo-phone"));
    await b.refreshConversations();
    await until([b], () => b.conversations().find((c) => c.conversation_id === id)?.last_message?.content_type === "system", "the group");

    // Count the list fetches Bo's app makes from here on.
    const realFetch = globalThis.fetch;
    let listFetches = 0;
    globalThis.fetch = (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      if ((init?.method ?? "GET") === "GET" && new URL(url).pathname === "/api/v1/conversations") listFetches++;
      return realFetch(input, init);
    };
    try {
      await anaRest.call("addMembers", { conversation_id: id, body: { user_ids: [cy.user.user_id] } });
      await anaRest.call("updateGroup", { conversation_id: id, body: { name: "road trip" } });
      await anaRest.call("setRole", { conversation_id: id, user_id: cy.user.user_id, body: { role: "admin" } });
      const summary = () => b.conversations().find((c) => c.conversation_id === id)!;
      await until([b], () => summary().name === "road trip" && summary().members.some((m) => m.user_id === cy.user.user_id && m.role === "admin"), "the changes");
      expect(summary().member_count).toBe(3);
      // The same as the server's list, which was not asked for.
      expect(listFetches).toBe(0);
      const served = (await client(baseUrl, bo, "check").rest.call("listConversations")).conversations.find((c) => c.conversation_id === id)!;
      expect({ name: summary().name, members: summary().members, member_count: summary().member_count }).toEqual({
        name: served.name,
        members: served.members,
        member_count: served.member_count,
      });
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  it("sends a photo: upload with progress, the message carries the media, the other side opens it by URL", async () => {
    const { alice, bob, conversationId } = await pair();
    const a = started(client(baseUrl, alice, "alice-phone"));
    const b = started(client(baseUrl, bob, "bob-phone"));
    await until([a, b], () => a.connectionState === "open" && b.connectionState === "open", "both connected");
    // A real 1×1 PNG.
    const png = Uint8Array.from(atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="), (ch) => ch.charCodeAt(0));
    const progress: number[] = [];
    a.on("upload", (u) => progress.push(u.loaded));
    const sent = await a.sendMedia(conversationId, new Blob([png], { type: "image/png" }), { filename: "dot.png", caption: "a dot" });
    expect(progress.at(-1)).toBe(png.length);
    await until([b], () => b.messages(conversationId).length === 1, "bob to get the photo");
    const [photo] = b.messages(conversationId);
    expect(photo).toMatchObject({ content: "a dot", content_type: "image", media: { media_id: sent.media_id, content_type: "image/png", size: png.length, filename: "dot.png" } });
    const urls = await b.mediaUrls(sent.media_id!);
    expect(urls.url).not.toContain(bob.token);
    expect(new Uint8Array(await (await fetch(urls.url)).arrayBuffer())).toEqual(png);
    await expect(a.sendMedia(conversationId, new Blob(["MZ"], { type: "application/x-msdownload" }))).rejects.toMatchObject({ code: "unsupported_media_type" });
    await expect(a.sendMedia(conversationId, new Blob(["not a png"], { type: "image/png" }))).rejects.toMatchObject({ code: "media_mismatch" });
  });
});
