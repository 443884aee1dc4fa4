import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol";
import { api, connect, createGroup, directConversation, quickUsers, text, type Account, type TestSocket } from "../helpers/client";
import { archiveBucket, archiveFaults, archivePrefix } from "../helpers/archiveFaults";
import { conversationStub, runAlarms } from "../helpers/objects";

// vitest.config.ts sets HISTORY_HOT_WINDOW to 100 for the workers project.
const WINDOW = 100;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Sends `count` messages over one socket, 100 frames per socket message, and waits for every ack. */
async function sendMany(socket: TestSocket, conv: string, count: number, prefix: string) {
  const acks = socket.of("message_ack").length;
  for (let i = 0; i < count; i += 100) {
    const frames = range(i, Math.min(i + 100, count) - 1).map((n) => ({ type: "send_message", conversation_id: conv, ...text(`${prefix}${n}`, `${prefix}${n}`) }));
    socket.send(JSON.stringify(frames));
  }
  await socket.next("message_ack", acks + count, 60_000);
}

async function hotRows(conv: string) {
  return runInDurableObject(conversationStub(conv), (_o, state) => ({
    messages: state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ?", conv).one().n,
    segments: state.storage.sql
      .exec<{ first_seq: number; last_seq: number; key: string; bytes: number }>(
        "SELECT first_seq, last_seq, key, bytes FROM archive_segments WHERE conversation_id = ? ORDER BY first_seq",
        conv,
      )
      .toArray(),
  }));
}

/** Every page of REST history, newest first (following `before`) and oldest first (following `after`). */
async function pageAll(conv: string, who: Account, direction: "backward" | "forward"): Promise<Message[]> {
  const out: Message[] = [];
  let cursor: number | null = direction === "forward" ? 0 : null;
  for (let pages = 0; pages < 1_000; pages++) {
    const query = direction === "forward" ? `after=${cursor}` : cursor === null ? "" : `before=${cursor}`;
    const res = await api<{ messages: Message[]; has_more: boolean }>("GET", `/api/v1/conversations/${conv}/messages?limit=100&${query}`, { token: who.token });
    expect(res.status).toBe(200);
    const seqs = res.body.messages.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    if (direction === "forward") out.push(...res.body.messages);
    else out.unshift(...res.body.messages);
    if (!res.body.has_more) return out;
    cursor = direction === "forward" ? seqs[seqs.length - 1]! : seqs[0]!;
  }
  throw new Error("history never ended");
}

describe("history archive", () => {
  it("keeps the window hot, archives 2,500 messages to R2, and reads every one exactly once across the boundary", async () => {
    const [a, b] = await quickUsers(2, "arc");
    const conv = await directConversation(a!, b!);
    const a1 = await connect(a!.token, "a1");
    const started = Date.now();
    await sendMany(a1, conv, 2_500, "m");
    const sentMs = Date.now() - started;

    const stub = conversationStub(conv);
    const archiveStarted = Date.now();
    // The object's alarms, each run as when its time comes: fan-out's record first, then the pass.
    await runAlarms(stub, async () => (await hotRows(conv)).messages <= WINDOW);
    const archiveMs = Date.now() - archiveStarted;
    const after = await hotRows(conv);
    expect(after.messages).toBeLessThanOrEqual(WINDOW);
    expect(after.segments.map((s) => [s.first_seq, s.last_seq])).toEqual([
      [1, 1000],
      [1001, 2000],
      [2001, 2400],
    ]);
    const listed = await archiveBucket.list({ prefix: archivePrefix(conv) });
    expect(listed.objects.map((o) => o.key)).toEqual(after.segments.map((s) => s.key));
    console.log(
      JSON.stringify({ figure: "archive", sent_2500_ms: sentMs, alarm_archive_ms: archiveMs, segment_bytes: after.segments.map((s) => s.bytes), hot_rows: after.messages }),
    );

    // REST paging, both ways, from a cold object (segments read from R2 again).
    await evictDurableObject(stub);
    for (const direction of ["backward", "forward"] as const) {
      const all = await pageAll(conv, b!, direction);
      expect(all.map((m) => m.seq)).toEqual(range(1, 2_500));
      expect(all[0]!.content).toBe("m0");
      expect(all[2_499]!.content).toBe("m2499");
    }

    // A device that was never online catches up on all of it, once, in order (cold object again).
    await evictDurableObject(stub);
    const catchUpStarted = Date.now();
    const b1 = await connect(b!.token, "b1");
    await b1.next("new_message", 2_500, 60_000);
    const catchUpMs = Date.now() - catchUpStarted;
    await b1.settle();
    expect(b1.of("new_message").map((m) => m.seq)).toEqual(range(1, 2_500));
    console.log(JSON.stringify({ figure: "catch-up", messages: 2_500, ms: catchUpMs, per_second: Math.round(2_500 / (catchUpMs / 1000)) }));

    // sync across the boundary (2400 | 2401), on the device socket and on the live socket.
    b1.send({ type: "sync", conversation_id: conv, after_seq: 2_350, limit: 100 });
    await b1.next("new_message", 2_600);
    expect(b1.of("new_message").slice(2_500).map((m) => m.seq)).toEqual(range(2_351, 2_450));
    const live = await connect(b!.token, "live", { path: `/api/v1/conversations/${conv}/ws` });
    live.send({ type: "sync", conversation_id: conv, after_seq: 990, limit: 20 });
    await live.next("new_message", 20);
    expect(live.of("new_message").map((m) => m.seq)).toEqual(range(991, 1_010));

    // A late retry of an archived message gets its original ack and stores nothing.
    const original = (await pageAll(conv, a!, "forward"))[4]!;
    a1.send({ type: "send_message", conversation_id: conv, ...text("m4", "m4") });
    const retried = (await a1.next("message_ack", 2_501)).at(-1)!;
    expect([retried.seq, retried.server_msg_id, retried.timestamp]).toEqual([5, original.server_msg_id, original.timestamp]);

    // Receipts and cursors still find archived messages; unread counts include archived ones.
    const receipts = await api("GET", `/api/v1/conversations/${conv}/messages/${original.server_msg_id}/receipts`, { token: a!.token });
    expect(receipts.status).toBe(200);
    const mid = (await pageAll(conv, b!, "forward"))[1_499]!;
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: mid.server_msg_id, status: "read" });
    const status = await a1.next("message_status", 1);
    expect(status[0]).toMatchObject({ seq: 1_500, user_id: b!.user.user_id, status: "read" });
    await b1.settle();
    const list = await api<{ conversations: { conversation_id: string; unread_count: number }[] }>("GET", "/api/v1/conversations", { token: b!.token });
    expect(list.body.conversations.find((c) => c.conversation_id === conv)!.unread_count).toBe(1_000);
    // An id naming an archived seq past the cursor, with the wrong random tail, is refused.
    const forged = `m${(2_000).toString(36)}_forged`;
    b1.send({ type: "message_status", conversation_id: conv, server_msg_id: forged, status: "read" });
    await b1.until((s) => s.of("error").some((e) => e.code === "message_not_found"), "message_not_found");

    for (const s of [a1, b1, live]) s.close();
  });

  it("prunes the cursor log below the archived segments; receipts of older messages answer with the next advance kept", async () => {
    const [a, b, c] = await quickUsers(3, "cpr");
    const conv = await createGroup(a!, [b!, c!]);
    const a1 = await connect(a!.token, "a1");
    const b1 = await connect(b!.token, "b1");
    // Bob acknowledges each hundred as delivered, and reads up to 500 and to 1,250: a cursor log
    // with rows all along the history.
    for (let chunk = 0; chunk < 13; chunk++) {
      await sendMany(a1, conv, 100, `c${chunk}_`);
      const acks = a1.of("message_ack");
      const last = acks.at(-1)!;
      b1.send({ type: "message_status", conversation_id: conv, server_msg_id: last.server_msg_id, status: "delivered" });
      for (const readTo of [500, 1_250]) {
        const ack = acks.find((m) => m.seq === readTo);
        if (ack) b1.send({ type: "message_status", conversation_id: conv, server_msg_id: ack.server_msg_id, status: "read" });
      }
      await b1.settle();
    }
    const stub = conversationStub(conv);
    const first = a1.of("message_ack").find((m) => m.seq === 2)!; // seq 1 is the group's creation
    const bobsReceipt = async (serverMsgId: string) => {
      const res = await api<{ receipts: { user_id: string; delivered_at: number | null; read_at: number | null }[] }>(
        "GET",
        `/api/v1/conversations/${conv}/messages/${serverMsgId}/receipts`,
        { token: a!.token },
      );
      expect(res.status).toBe(200);
      return res.body.receipts.find((r) => r.user_id === b!.user.user_id)!;
    };
    // Bob's last acknowledgements reach the conversation through his user object: wait for them.
    // (Reading receipts also writes out the cursor log held in memory.)
    const acks = a1.of("message_ack");
    await expect.poll(async () => (await bobsReceipt(acks.at(-1)!.server_msg_id)).delivered_at).not.toBeNull();
    await expect.poll(async () => (await bobsReceipt(acks.find((m) => m.seq === 1_250)!.server_msg_id)).read_at).not.toBeNull();
    const exactBefore = await bobsReceipt(first.server_msg_id);
    type Row = { user_id: string; kind: string; seq: number; at: number };
    const log = () =>
      runInDurableObject(stub, (_o, state) => state.storage.sql.exec<Row>("SELECT user_id, kind, seq, at FROM cursor_advances WHERE conversation_id = ? ORDER BY user_id, kind, seq", conv).toArray());
    const before = await log();
    expect(before.some((r) => r.seq < 1_000)).toBe(true);

    await runAlarms(stub, async () => (await hotRows(conv)).messages <= WINDOW);
    const { segments } = await hotRows(conv);
    expect(segments.map((s) => [s.first_seq, s.last_seq])).toEqual([
      [1, 1_000],
      [1_001, 1_201],
    ]);
    // Rows below the newest segment's first seq are gone; every row from there on is kept as it was.
    const after = await log();
    expect(after).toEqual(before.filter((r) => r.seq >= 1_001));
    expect(after.filter((r) => r.user_id === b!.user.user_id).map((r) => `${r.kind}@${r.seq}`)).toEqual(
      before.filter((r) => r.user_id === b!.user.user_id && r.seq >= 1_001).map((r) => `${r.kind}@${r.seq}`),
    );

    // The oldest message still shows Bob's receipts: no longer the exact time, but the time of the
    // first advance kept past it, which is no earlier.
    const kept = (kind: string) => after.find((r) => r.user_id === b!.user.user_id && r.kind === kind)!;
    const pruned = await bobsReceipt(first.server_msg_id);
    expect(pruned.delivered_at).toBe(kept("delivered").at);
    expect(pruned.read_at).toBe(kept("read").at);
    expect(pruned.delivered_at!).toBeGreaterThanOrEqual(exactBefore.delivered_at!);
    expect(pruned.read_at!).toBeGreaterThanOrEqual(exactBefore.read_at!);
    for (const s of [a1, b1]) s.close();
  });

  it("keeps a late member's floor: they see nothing archived from before they joined", async () => {
    const [owner, early, late] = await quickUsers(3, "flr");
    const conv = await createGroup(owner!, [early!]);
    const o1 = await connect(owner!.token, "o1");
    await sendMany(o1, conv, 49, "pre");
    const added = await api("POST", `/api/v1/conversations/${conv}/members`, { token: owner!.token, body: { user_ids: [late!.user.user_id] } });
    expect(added.status).toBe(200);
    await sendMany(o1, conv, 249, "post");
    await runAlarms(conversationStub(conv), async () => (await hotRows(conv)).messages <= WINDOW);
    const { messages, segments } = await hotRows(conv);
    expect(messages).toBeLessThanOrEqual(WINDOW);
    expect(segments.at(-1)!.last_seq).toBe(300 - WINDOW);

    const seen = await pageAll(conv, late!, "backward");
    expect(seen.map((m) => m.seq)).toEqual(range(51, 300));
    expect(JSON.parse(seen[0]!.content)).toMatchObject({ event: "members_added" });
    expect((await pageAll(conv, early!, "forward")).map((m) => m.seq)).toEqual(range(1, 300));
    const l1 = await connect(late!.token, "l1");
    l1.send({ type: "sync", conversation_id: conv, after_seq: 0, limit: 500 });
    await l1.until((s) => s.of("new_message").length >= 250 * 2, "catch-up and sync");
    await l1.settle();
    const synced = l1.of("new_message").map((m) => m.seq);
    expect(Math.min(...synced)).toBe(51);
    o1.close();
    l1.close();
  });

  it("loses nothing when R2 refuses a write, and archives on a later alarm", async () => {
    const [a, b] = await quickUsers(2, "r2f");
    const conv = await directConversation(a!, b!);
    const stub = conversationStub(conv);

    // R2 (the tests' ARCHIVE, vitest.config.ts) first refuses this conversation's writes outright, then
    // stores them and fails (a lost response). Planned before any message, so even an alarm that
    // fires by itself meets a failing R2.
    const prefix = archivePrefix(conv);
    const writes = async () => (await archiveFaults.stats(prefix)).writes;
    await archiveFaults.fail(prefix, { refuse: 1 });
    const a1 = await connect(a!.token, "a1");
    await sendMany(a1, conv, 300, "f");
    for (const plan of [{ refuse: 1 }, { tear: 1 }]) {
      await archiveFaults.fail(prefix, plan);
      // Run the booked alarms (each counts its booked time as now) until the pass tries R2 again:
      // the first may be an earlier one, and the archive's backoff re-books its retry.
      const before = (await writes()).length;
      await runAlarms(stub, async () => (await writes()).length > before);
      expect((await writes()).length).toBe(before + 1);
      const kept = await hotRows(conv);
      expect(kept.messages).toBe(300);
      expect(kept.segments).toEqual([]);
      // A retry is booked (with backoff) and the history is whole.
      expect(await runInDurableObject(stub, (_o, state) => state.storage.getAlarm())).not.toBeNull();
      expect((await pageAll(conv, b!, "forward")).map((m) => m.seq)).toEqual(range(1, 300));
    }
    const failed = await archiveFaults.heal(prefix);
    expect(failed).toMatchObject({ refused: failed.writes.length - 1, torn: 1, stored: 0 });
    expect(failed.writes.length).toBeGreaterThanOrEqual(2);
    expect(new Set(failed.writes)).toEqual(new Set([segmentKeyFor(conv, 1)]));
    // The torn write is in R2, though the index does not list it yet.
    expect(await archiveBucket.head(segmentKeyFor(conv, 1))).not.toBeNull();

    // More messages arrive before the next pass, so its segment reaches further than the torn one
    // (1-200) did: it lands on the same key, and R2 holds nothing the index does not list.
    await sendMany(a1, conv, 50, "g");
    // The sends booked fan-out alarms ahead of the archive's retry: run booked alarms until it has run.
    await runAlarms(stub, async () => (await hotRows(conv)).segments.length > 0);
    const done = await hotRows(conv);
    expect(done.messages).toBe(WINDOW);
    expect(done.segments.map((s) => [s.first_seq, s.last_seq])).toEqual([[1, 250]]);
    const listed = await archiveBucket.list({ prefix });
    expect(listed.objects.map((o) => o.key)).toEqual([segmentKeyFor(conv, 1)]);
    for (const direction of ["forward", "backward"] as const) {
      expect((await pageAll(conv, b!, direction)).map((m) => m.seq)).toEqual(range(1, 350));
    }
    const b1 = await connect(b!.token, "b1");
    await b1.next("new_message", 350);
    await b1.settle();
    expect(b1.of("new_message").map((m) => m.seq)).toEqual(range(1, 350));
    a1.close();
    b1.close();
  });
});

function segmentKeyFor(conv: string, first: number) {
  return `conversations/${conv}/${String(first).padStart(12, "0")}.json`;
}
