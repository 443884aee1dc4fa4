import { describe, expect, it } from "vitest";
import { HistoryResponse, Limits } from "../../src/protocol";
import { api, connect, directConversation, registerUser, text } from "../helpers/client";

/** What one request may pull: a page's bytes, and one sync at a time per socket. */
describe("history budgets", () => {
  it("cuts a page of big messages at the page's byte budget, and paging still returns every message once, in order", async () => {
    const [ana, bo] = [await registerUser("bud"), await registerUser("bud")];
    const conv = await directConversation(ana, bo);
    const socket = await connect(ana.token, "phone");
    const big = (i: number) => `${i}:`.padEnd(Limits.maxContentBytes - 16, "x");
    const count = 40; // 40 × 64 KiB ≈ 2.5 MiB
    for (let i = 0; i < count; i++) socket.send({ type: "send_message", conversation_id: conv, ...text(big(i), `big-${i}`) });
    await socket.next("message_ack", count);
    const first = HistoryResponse.parse((await api("GET", `/api/v1/conversations/${conv}/messages?after=0&limit=100`, { token: bo.token })).body);
    const bytes = first.messages.reduce((n, m) => n + m.content.length, 0);
    expect(bytes).toBeLessThanOrEqual(Limits.historyPageMaxBytes);
    expect(first.messages.length).toBeLessThan(count);
    expect(first.has_more).toBe(true);
    const seen: number[] = [];
    for (let after = 0, pages = 0; pages < 20; pages++) {
      const page = HistoryResponse.parse((await api("GET", `/api/v1/conversations/${conv}/messages?after=${after}&limit=100`, { token: bo.token })).body);
      seen.push(...page.messages.map((m) => Number(m.content.split(":")[0])));
      if (!page.has_more) break;
      after = page.messages.at(-1)!.seq;
    }
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
    // Backwards too: the newest page is cut, and `before` pages on from its oldest.
    const newest = HistoryResponse.parse((await api("GET", `/api/v1/conversations/${conv}/messages?limit=100`, { token: bo.token })).body);
    expect(newest.has_more).toBe(true);
    expect(newest.messages.at(-1)!.seq).toBe(count);
    socket.close();
  });

  it("runs one sync at a time per socket: a few wait their turn and are answered in order, the rest are refused", async () => {
    const [ana, bo] = [await registerUser("syn"), await registerUser("syn")];
    const conv = await directConversation(ana, bo);
    const sender = await connect(ana.token, "phone");
    for (let i = 1; i <= 3; i++) sender.send({ type: "send_message", conversation_id: conv, ...text(`m${i}`, `m${i}`) });
    await sender.next("message_ack", 3);
    const reader = await connect(bo.token, "reader");
    await reader.next("new_message", 3); // the catch-up on connect
    reader.frames.splice(0);
    // Ten syncs in one socket message, each from a different point: answers show which ran.
    reader.send(Array.from({ length: 10 }, (_, i) => ({ type: "sync", conversation_id: conv, after_seq: i % 3, limit: 1 })));
    await reader.until((s) => s.of("new_message").length + s.of("error").length >= 10, "an answer to each sync");
    const answered = reader.of("new_message").map((m) => m.seq);
    const refused = reader.of("error");
    expect(answered).toEqual([1, 2, 3, 1, 2]); // the first, then the four that waited, in order
    expect(refused).toHaveLength(5);
    expect(refused.every((e) => e.code === "rate_limited")).toBe(true);
    sender.close();
    reader.close();
  });
});
