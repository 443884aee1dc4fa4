import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { describe, expect, it } from "vitest";
import { userHome } from "../../src/objects/homes";
import { connect, createGroup, quickUsersPlaced, sendAndAck, type Account } from "../helpers/client";
import { conversationStub, runAlarms } from "../helpers/objects";

const persistedFanout = (conv: string) =>
  runInDurableObject(conversationStub(conv), (_o, state) =>
    state.storage.sql.exec<{ fanout_seq: number; last_seq: number }>("SELECT fanout_seq, last_seq FROM conversations WHERE conversation_id = ?", conv).one(),
  );

/**
 * Breaks a user object's storage the way a failing disk or a bad migration would: its inbox table is
 * renamed away, so every delivery to it throws. Evicted first, so nothing it cached hides the fault.
 */
async function breakHome(who: Account, broken: boolean) {
  const home = userHome(env, who.user.user_id);
  await runInDurableObject(home, (_o, state) => {
    if (broken) state.storage.sql.exec("ALTER TABLE conversations RENAME TO conversations_unreachable");
    else state.storage.sql.exec("ALTER TABLE conversations_unreachable RENAME TO conversations");
  });
  await evictDurableObject(home, { webSockets: "hibernate" });
}

describe("fan-out with per-target progress", () => {
  it("keeps delivering to everyone else while one member's user object fails, and catches that one up when it recovers", async () => {
    // Each in a user object of their own: Sam sends, Ana's object works, Bo's fails.
    const [sam, ana, bo] = (await quickUsersPlaced(3, "apart", "fl")) as [Account, Account, Account];
    const group = await createGroup(sam, [ana, bo], "ledger");
    const samDevice = await connect(sam.token, "sam");
    const anaDevice = await connect(ana.token, "ana");
    const boDevice = await connect(bo.token, "bo");
    await sendAndAck(samDevice, group, "before", "b0");
    await boDevice.until((s) => s.of("new_message").some((m) => m.content === "before"), "the first message at Bo's");

    await breakHome(bo, true);
    const started = Date.now();
    for (let i = 1; i <= 5; i++) await sendAndAck(samDevice, group, `while broken ${i}`, `w${i}`);
    // Ana has every message at once, not after Bo's retries.
    await anaDevice.until((s) => s.of("new_message").filter((m) => m.content.startsWith("while broken")).length === 5, "Ana's messages", 5_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    // Bo's object refused them: none reached Bo, and the conversation has not counted Bo as having them.
    expect(boDevice.of("new_message").filter((m) => m.content.startsWith("while broken"))).toEqual([]);
    const { fanout_seq, last_seq } = await persistedFanout(group);
    expect(fanout_seq).toBeLessThan(last_seq);
    // A retry while it is still broken fails again, for Bo's object alone (Ana's got them the first time).
    await runAlarms(conversationStub(group), () => true, 1);
    expect(anaDevice.of("new_message").filter((m) => m.content.startsWith("while broken"))).toHaveLength(5);
    // Retried for Bo's object alone: Ana was never handed anything twice.
    await anaDevice.settle();
    const anaSeqs = anaDevice.of("new_message").map((m) => m.seq);
    expect(anaSeqs).toEqual([...new Set(anaSeqs)]);

    await breakHome(bo, false);
    // The next retry (its booked time counts as now) hands Bo everything, in order. (Bo's object was
    // restarted holding "before" unwritten, so that one may come twice: clients drop repeats by seq.)
    await runAlarms(conversationStub(group), () => boDevice.of("new_message").filter((m) => m.content.startsWith("while broken")).length === 5);
    await boDevice.until((s) => s.of("new_message").filter((m) => m.content.startsWith("while broken")).length === 5, "Bo to catch up", 10_000);
    await boDevice.settle();
    const caughtUp = boDevice.of("new_message").filter((m) => m.content.startsWith("while broken"));
    expect(caughtUp.map((m) => m.content)).toEqual([1, 2, 3, 4, 5].map((i) => `while broken ${i}`));
    const held = [...new Set(boDevice.of("new_message").map((m) => m.seq))];
    expect(held).toEqual(Array.from({ length: last_seq }, (_, i) => i + 1));
    await expect.poll(async () => (await persistedFanout(group)).fanout_seq, { timeout: 10_000 }).toBe(last_seq);
    for (const s of [samDevice, anaDevice, boDevice]) s.close();
  });
});
