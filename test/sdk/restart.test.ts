import { afterAll, describe, expect, it } from "vitest";
import { ParleyClient, RestClient, type MessageAckFrame } from "../../src/client";
import { homeNameIn, parsePlacement } from "../../src/objects/homes";
import { DevServer } from "../helpers/devServer";
import { account, client, until, type Account } from "../helpers/sdk";

/**
 * A crash of the whole server mid-stream: SDK clients stream messages between two users and in a
 * group, the server process group is SIGKILLed, then started again on the same port and the same
 * state directory. The clients reconnect and resend their outboxes by themselves. Alice and Bob live
 * in one user object and Carol in another, and the group has members in every user object who are
 * not connected, so the kill lands in fan-out rounds to the same and to different objects.
 */

const PER_SENDER = 40; // messages per sender per conversation
const PASSIVE = 12; // group members with no device connected: their inboxes must count every message once
const USER_SHARDS = "4";
const server = new DevServer(undefined, { USER_SHARDS }); // our own, not the shared one: this test kills it
afterAll(() => server.stop("SIGKILL"));
const homeOf = (a: Account) => homeNameIn(parsePlacement("users", USER_SHARDS), a.user.user_id);

/** Registers accounts until two share a user object and a third is in another. */
async function placed(base: string): Promise<[Account, Account, Account]> {
  const made: Account[] = [];
  for (let i = 0; i < 40; i++) {
    made.push(await account(base, "rs"));
    for (const a of made) {
      const mate = made.find((b) => b !== a && homeOf(b) === homeOf(a));
      const other = made.find((c) => homeOf(c) !== homeOf(a));
      if (mate && other) return [a, mate, other];
    }
  }
  throw new Error("could not place users in user objects");
}

async function allHistory(c: ParleyClient, conversationId: string) {
  const out: { seq: number; content: string; sender_id: string; content_type: string }[] = [];
  let after = 0;
  for (let pages = 0; pages < 100; pages++) {
    const page = await c.rest.call("history", { conversation_id: conversationId, query: { after, limit: 100 } });
    out.push(...page.messages);
    if (!page.has_more) return out;
    after = page.messages.at(-1)!.seq;
  }
  throw new Error("history never ended");
}

describe("a server killed mid-stream", () => {
  it("loses nothing: acked messages once, outboxes delivered once after the restart, devices complete and ordered", async () => {
    await server.start();
    const base = server.url;
    const [alice, bob, carol] = await placed(base);
    expect(homeOf(alice)).toBe(homeOf(bob));
    expect(homeOf(carol)).not.toBe(homeOf(alice));
    const passive = await Promise.all(Array.from({ length: PASSIVE }, () => account(base, "quiet")));
    expect(new Set(passive.map(homeOf)).size).toBeGreaterThan(1);
    const setup = client(base, alice, "setup").rest;
    const direct = (await setup.call("createConversation", { body: { type: "direct", member_ids: [bob.user.user_id] } })).conversation.conversation_id;
    const members = [bob, carol, ...passive].map((m) => m.user.user_id);
    const group = (await setup.call("createConversation", { body: { type: "group", name: "crash", member_ids: members } })).conversation.conversation_id;

    const a = client(base, alice, "alice-phone");
    const b = client(base, bob, "bob-phone");
    const c = client(base, carol, "carol-phone");
    const clients = [a, b, c];
    const acked = new Map<string, MessageAckFrame>(); // content → the ack its sender saw
    const conflictingAcks: string[] = [];
    for (const x of clients) {
      x.on("sent", ({ pending, ack }) => {
        const before = acked.get(pending.content);
        if (before && before.seq !== ack.seq) conflictingAcks.push(pending.content);
        acked.set(pending.content, ack);
      });
      void x.start();
    }
    await until(clients, () => clients.every((x) => x.connectionState === "open"), "all connected", 30_000);

    const plan: [ParleyClient, string, string][] = [
      [a, direct, "a-d"],
      [b, direct, "b-d"],
      [a, group, "a-g"],
      [b, group, "b-g"],
      [c, group, "c-g"],
    ];
    const total = plan.length * PER_SENDER;
    const sent: { conv: string; content: string }[] = [];
    /** Each sender queues its messages in small bursts, as a person typing fast would. */
    const stream = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        for (const [x, conv, prefix] of plan) {
          const content = `${prefix}-${i}`;
          sent.push({ conv, content });
          await x.send(conv, content);
        }
        // Let the socket carry the burst before queueing more.
        await new Promise((r) => setImmediate(r));
      }
    };

    // First half of the stream, then the crash while the next part is still in flight.
    await stream(0, PER_SENDER / 2);
    await until(clients, () => acked.size >= total / 4, "a quarter acked", 30_000);
    const streaming = stream(PER_SENDER / 2, (PER_SENDER * 3) / 4);
    await until(clients, () => acked.size >= total / 3, "a third acked", 30_000);
    const killedAt = Date.now();
    await server.stop("SIGKILL");
    const inFlightAtKill = sent.length - acked.size;
    const ackedAtKill = acked.size;
    await streaming;
    // Written while the server is down: these wait in the outboxes.
    await stream((PER_SENDER * 3) / 4, PER_SENDER);
    const pendingWhileDown = clients.reduce((n, x) => n + x.pending().length, 0);
    expect(pendingWhileDown).toBeGreaterThan(0);

    const restartAt = Date.now();
    await server.start(server.port);
    const upAt = Date.now();
    await until(clients, () => clients.every((x) => x.pending().length === 0), "every outbox to drain", 60_000).catch((err: Error) => {
      const states = clients.map((x) => `${x.connectionState}:${x.pending().length} pending`).join(", ");
      throw new Error(`${err.message} (${states})\n${server.output()}`);
    });
    const drainedAt = Date.now();

    // Every message each member should hold, in each conversation: the REST history, once checked.
    const heads = new Map<string, number>();
    for (const conv of [direct, group]) {
      const history = await allHistory(a, conv);
      const n = history.length;
      heads.set(conv, n);
      expect(history.map((m) => m.seq), `${conv} gapless`).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      const texts = history.filter((m) => m.content_type === "text").map((m) => m.content);
      const expected = sent.filter((s) => s.conv === conv).map((s) => s.content);
      expect([...texts].sort(), `${conv}: every message sent, stored once`).toEqual([...expected].sort());
      for (const content of expected) {
        const ack = acked.get(content);
        expect(ack, `${content} acked`).toBeDefined();
        expect(history.find((m) => m.content === content)!.seq).toBe(ack!.seq);
      }
      // One sender's messages keep their send order.
      for (const [, , prefix] of plan.filter(([, inConv]) => inConv === conv)) {
        const mine = texts.filter((t) => t.startsWith(`${prefix}-`));
        expect(mine, `${prefix} in send order`).toEqual(Array.from({ length: PER_SENDER }, (_, i) => `${prefix}-${i}`));
      }
    }
    const devices = new Map([
      [direct, [a, b]],
      [group, [a, b, c]],
    ]);
    await until(
      clients,
      () => [...devices].every(([conv, xs]) => xs.every((x) => x.contiguousSeq(conv) === heads.get(conv))),
      "every device to hold every message",
      60_000,
    );
    const caughtUpAt = Date.now();
    expect(conflictingAcks).toEqual([]);
    for (const [conv, xs] of devices) {
      const history = await allHistory(a, conv);
      for (const x of xs) {
        expect(x.messages(conv).map((m) => [m.seq, m.content])).toEqual(history.map((m) => [m.seq, m.content]));
      }
    }
    // The members with no device: each inbox has the group's newest message and counts every other
    // member's message once (a round repeated after the restart must not count anything twice).
    const groupHistory = await allHistory(a, group);
    for (const p of passive) {
      const inbox = new RestClient(base, () => p.token);
      const expected = groupHistory.filter((m) => m.sender_id !== p.user.user_id).length;
      await expect
        .poll(async () => (await inbox.call("listConversations", {})).conversations.find((x) => x.conversation_id === group), { timeout: 20_000 })
        .toMatchObject({ last_message: { seq: heads.get(group) }, unread_count: expected });
    }
    console.log(
      JSON.stringify({
        figure: "restart",
        messages: total,
        acked_at_kill: ackedAtKill,
        in_flight_at_kill: inFlightAtKill,
        pending_while_down: pendingWhileDown,
        down_ms: restartAt - killedAt,
        server_start_ms: upAt - restartAt,
        outboxes_drained_after_up_ms: drainedAt - upAt,
        devices_complete_after_up_ms: caughtUpAt - upAt,
      }),
    );
    for (const x of clients) x.stop();
  });
});
