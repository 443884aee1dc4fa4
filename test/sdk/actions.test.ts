import { describe, expect, inject, it } from "vitest";
import { isAction, MemoryOutbox, ParleyClient, type Message } from "../../src/client";
import { client, directPair, FlakyNetwork, startedClients, until } from "../helpers/sdk";

const baseUrl = inject("serverUrl");
const started = startedClients();

/** Alice and Bob with a direct chat and a group (somewhere to forward to). */
async function world() {
  const { alice, bob, rest, conversationId } = await directPair(baseUrl);
  const { conversation: group } = await rest.call("createConversation", { body: { type: "group", name: "elsewhere", member_ids: [bob.user.user_id] } });
  return { alice, bob, chat: conversationId, group: group.conversation_id };
}

/** The client's messages projected to what actions change, for comparing with the server's history. */
const shown = (messages: Message[]) =>
  messages.map((m) => ({
    seq: m.seq,
    content: m.content,
    deleted: m.deleted ?? false,
    edited: m.edited_at !== undefined,
    reactions: m.reactions ?? [],
    reply_to: m.reply_to ?? null,
    forwarded: m.forwarded ?? null,
    state_seq: m.state_seq ?? null,
  }));

async function history(c: ParleyClient, conversationId: string) {
  const { messages } = await c.rest.call("history", { conversation_id: conversationId, query: { limit: 100 } });
  return messages;
}

/** Records every action row a client is told about, to check each arrives once and in order. */
function actionLog(c: ParleyClient) {
  const log: Message[] = [];
  c.on("action", (a) => log.push(a));
  return log;
}

interface Ids {
  chat: string;
  group: string;
}
/** The two messages acted on: `target` is replied to, reacted to, edited and deleted; `other` forwarded. */
interface Targets {
  target: string;
  other: string;
}

/**
 * Reply, react, edit, forward, delete: each waits for the other side to show it (live) or not
 * (`wait` false). The forward is of another message than the one deleted: the protocol orders
 * rows within a conversation, not across two.
 */
async function act(a: ParleyClient, b: ParleyClient, ids: Ids, { target, other }: Targets, wait: boolean) {
  const see = (what: string, done: () => boolean) => (wait ? until([a, b], done, what) : Promise.resolve());
  const bobsView = () => b.messages(ids.chat).find((m) => m.server_msg_id === target);
  await a.send(ids.chat, "quoting you", { replyTo: target });
  await see("the reply", () => b.messages(ids.chat).some((m) => m.reply_to?.server_msg_id === target));
  await a.react(ids.chat, target, "🎉");
  await see("the reaction", () => bobsView()?.reactions?.some((r) => r.emoji === "🎉") === true);
  await a.edit(ids.chat, target, "first, edited");
  await see("the edit", () => bobsView()?.content === "first, edited");
  await a.forward(ids.chat, other, [ids.group]);
  await see("the forward", () => b.messages(ids.group).some((m) => m.forwarded === 1));
  await a.deleteForEveryone(ids.chat, target);
  await see("the delete", () => bobsView()?.deleted === true);
}

/** What Bob must end with: the target deleted, the reply's quote showing it, the forward in the group. */
async function expectOutcome(b: ParleyClient, ids: Ids, { target }: Targets, log: Message[]) {
  const chat = b.messages(ids.chat);
  expect(chat.find((m) => m.server_msg_id === target)).toMatchObject({ content: "", deleted: true });
  expect(chat.find((m) => m.server_msg_id === target)!.reactions).toBeUndefined();
  expect(chat.find((m) => m.content === "quoting you")!.reply_to).toMatchObject({ server_msg_id: target, deleted: true, snippet: "" });
  expect(b.entries(ids.chat).map((e) => [e.content, e.deleted ?? false])).toEqual([
    ["", true],
    ["forward me", false],
    ["quoting you", false],
  ]);
  expect(b.messages(ids.group).filter((m) => m.forwarded === 1).map((m) => m.content)).toEqual(["forward me"]);
  // Each action row once, in sequence order.
  const chatActions = log.filter((r) => r.conversation_id === ids.chat);
  expect(chatActions.map((r) => r.content_type)).toEqual(["reaction", "edit", "delete"]);
  const seqs = chatActions.map((r) => r.seq);
  expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
  expect(new Set(seqs).size).toBe(seqs.length);
  // The same as the server's history, which folds the actions itself.
  expect(shown(b.messages(ids.chat))).toEqual(shown((await history(b, ids.chat)).filter((m) => !isAction(m))));
  expect(shown(b.messages(ids.group))).toEqual(shown((await history(b, ids.group)).filter((m) => !isAction(m))));
}

async function firstMessages(a: ParleyClient, b: ParleyClient, chat: string): Promise<Targets> {
  await a.send(chat, "first");
  await a.send(chat, "forward me");
  await until([a, b], () => b.messages(chat).length === 2 && a.messages(chat).length === 2, "the first messages");
  const [target, other] = a.messages(chat).map((m) => m.server_msg_id);
  return { target: target!, other: other! };
}

describe("message actions through the SDK against a real server", () => {
  it("reply, reaction, edit, forward and delete reach the other client live, each once and in order", async () => {
    const { alice, bob, ...ids } = await world();
    const a = started(client(baseUrl, alice, "alice-phone"));
    const b = started(client(baseUrl, bob, "bob-phone"));
    const log = actionLog(b);
    const targets = await firstMessages(a, b, ids.chat);
    await act(a, b, ids, targets, true);
    await expectOutcome(b, ids, targets, log);
    // Alice's own view came from her outbox and acks, and is the server's too.
    expect(shown(a.messages(ids.chat))).toEqual(shown((await history(a, ids.chat)).filter((m) => !isAction(m))));
  });

  it("a client that was offline catches up on every action when it comes back", async () => {
    const { alice, bob, ...ids } = await world();
    const a = started(client(baseUrl, alice, "alice-phone"));
    const b = started(client(baseUrl, bob, "bob-phone"));
    const log = actionLog(b);
    const targets = await firstMessages(a, b, ids.chat);
    const { target } = targets;
    b.stop();
    await act(a, b, ids, targets, false);
    await until([a], () => a.pending().length === 0 && a.entries(ids.chat).every((e) => e.state !== "pending"), "alice's outbox to drain");
    expect(b.messages(ids.chat)).toHaveLength(2); // nothing reached Bob while away
    void b.start();
    await until([b], () => b.messages(ids.chat).find((m) => m.server_msg_id === target)?.deleted === true && b.messages(ids.chat).length === 3, "bob to catch up");
    await until([b], () => b.messages(ids.group).some((m) => m.forwarded === 1), "bob to catch up on the group");
    await expectOutcome(b, ids, targets, log);

    // A new device of Bob's reads it all from history, as it is now.
    const fresh = started(client(baseUrl, bob, "bob-laptop"));
    await fresh.loadOlder(ids.chat);
    expect(shown(fresh.messages(ids.chat))).toEqual(shown(b.messages(ids.chat)));
  });

  it("actions made while the acting client is offline wait in its outbox and are sent once when it is back", async () => {
    const { alice, bob, ...ids } = await world();
    const network = new FlakyNetwork();
    const outbox = new MemoryOutbox();
    const a = started(client(baseUrl, alice, "alice-phone", { outbox, createSocket: network.createSocket }));
    const b = started(client(baseUrl, bob, "bob-phone"));
    const log = actionLog(b);
    const targets = await firstMessages(a, b, ids.chat);
    const { target } = targets;
    a.stop(); // offline: the app keeps its timeline and outbox
    await act(a, b, ids, targets, false);
    // Shown on Alice's side at once, nothing sent.
    expect(a.entries(ids.chat).map((e) => [e.content, e.deleted ?? false, e.state === "pending"])).toEqual([
      ["", true, false],
      ["forward me", false, false],
      ["quoting you", false, true],
    ]);
    expect(a.entries(ids.group).filter((e) => e.forwarded === 1).map((e) => [e.content, e.state])).toEqual([["forward me", "pending"]]);
    expect((await outbox.list()).length).toBe(5);
    expect(b.messages(ids.chat)).toHaveLength(2);

    void a.start();
    await until([a, b], () => (b.messages(ids.chat).find((m) => m.server_msg_id === target)?.deleted ?? false) && b.messages(ids.group).some((m) => m.forwarded === 1) && a.pending().length === 0, "the outbox to drain");
    await until([a], () => a.entries(ids.chat).every((e) => e.state !== "pending"), "alice's acks");
    expect(await outbox.list()).toEqual([]);
    await expectOutcome(b, ids, targets, log);
    // Each went once: one frame per client_msg_id, one row each in the sequence.
    const ids_ = network.sent.flatMap((f) => (f.type === "message_action" || f.type === "forward_message" || f.type === "send_message" ? [f.client_msg_id] : []));
    expect(new Set(ids_).size).toBe(ids_.length);
    const rows = await history(b, ids.chat);
    expect(rows.filter(isAction).map((r) => r.content_type)).toEqual(["reaction", "edit", "delete"]);
    expect(shown(a.messages(ids.chat))).toEqual(shown(rows.filter((m) => !isAction(m))));
  });
});
