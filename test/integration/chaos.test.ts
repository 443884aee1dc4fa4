import { PhotonImage } from "@cf-wasm/photon/workerd";
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, evictDurableObject, getQueueResult, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bytesKey, readRecord, thumbnailKey, writeRecord } from "../../src/media/records";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { userHome } from "../../src/objects/homes";
import type { UserObject } from "../../src/objects/user/UserObject";
import { consumeMediaJobs } from "../../src/queues/media";
import { consumePushJobs, type PushJob } from "../../src/queues/push";
import type { DeliveryBatch, DeliveryReceipt } from "../../src/objects/delivery";
import type { Message, MessageAck } from "../../src/protocol";
import { api, connect, createGroup, directConversation, quickUsers, type Account, type TestSocket } from "../helpers/client";
import { archiveBucket, archiveFaults, archivePrefix } from "../helpers/archiveFaults";
import { conversationIn, conversationStub, recordTasksDue, runAlarms, taskDueAt } from "../helpers/objects";
import { decryptPush, pushBrowser, recordedPushes, subscriptionOf, type PushBrowser } from "../helpers/webpush";

/**
 * Fault injection: a stream of sends and deliveries over device sockets and REST, into a direct
 * chat and a group, with the conversation and user objects evicted at random points, conversation
 * objects crashed (`ctx.abort()`) in the middle of storing a batch or of a fan-out round, sockets cut
 * before their acks arrive, R2 refusing archive writes, and queue consumers failing. Recovery is
 * never driven by hand: the alarms the code books fire by themselves (a test only books one earlier,
 * as if time had passed). The faults are chosen by a seeded PRNG; what is asserted is only the
 * invariants, which hold for any schedule: every acked message stored exactly once, seq gapless,
 * every device caught up exactly once and in order, pushes neither lost nor doubled beyond coalescing.
 * (A SIGKILL of the whole server during a group burst: test/sdk/restart.test.ts.)
 */

/**
 * Each seed is a different schedule of faults. 22 is here because it found a bug the first one did
 * not (pushes counted twice after a redelivery); to try others, add them for a run.
 */
const SEEDS = [0x5eed_2026, 22];
const ROUNDS = 30;

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, chance: (p: number) => next() < p, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)) };
}

const userStub = (id: string) => userHome(env, id);

type Posting = { host: { post: { deliver(home: string, batch: DeliveryBatch): Promise<DeliveryReceipt> } } };

/**
 * Looks inside an object; if a crash armed by this test lands on the object meanwhile, the call fails
 * with it, and is made again on the object that replaced it.
 */
async function inside<T>(conv: string, fn: (o: ConversationObject, state: DurableObjectState) => T | Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      // A new stub each time: a stub that saw its object crash stays broken.
      return await runInDurableObject(conversationStub(conv), fn);
    } catch (err) {
      if (attempt >= 20 || !String(err).includes("injected")) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Books a conversation's fan-out and archive tasks for `at` (its recorded tasks, and the object's alarm no later). */
async function bookDue(conv: string, at: number): Promise<void> {
  await inside(conv, (_o, state) => recordTasksDue(state, ["fanout", "archive"], conv, at, "earliest"));
}

/**
 * Books a conversation's fan-out and archive tasks for now (as if their time had come: its recorded
 * tasks, and the object's alarm no later) and waits until the runtime has run them by itself: their
 * bookings are gone or moved past now.
 */
async function runBookedAlarm(conv: string): Promise<void> {
  const at = Date.now();
  await bookDue(conv, at);
  for (let i = 0; i < 400; i++) {
    await new Promise((r) => setTimeout(r, 25));
    // Run (the booking goes, or the task booked its next time): any booking at or before `at` is due now.
    const due = await inside(conv, (_o, state) =>
      state.storage.sql.exec("SELECT 1 FROM alarm_tasks WHERE subject = ? AND task IN ('fanout', 'archive') AND due_at <= ?", conv, at).toArray().length,
    );
    if (due === 0) return;
  }
  throw new Error(`the alarm booked for ${conv} never ran`);
}

/**
 * Runs the object's booked alarms now, each as when its time comes (its time counts as now), until
 * `done`; an armed crash that lands meanwhile ends the run, and it goes on on the object that replaced it.
 */
async function runAlarmsThroughCrashes(conv: string, done: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await runAlarms(conversationStub(conv), done);
    } catch (err) {
      if (attempt >= 20 || !String(err).includes("injected")) throw err;
    }
  }
}

/**
 * Arms a crash of the conversation's object: at its `nth` next append (in the middle of a send
 * transaction), or right after its next fan-out call was answered (before the answer counts). One-shot:
 * the crash discards the instance, and with it the hook.
 */
async function armCrash(conv: string, where: "batch" | "fanout", nth: number): Promise<void> {
  await inside(conv, (o, state) => {
    if (where === "batch") {
      const store = conversationIn(o, conv).store;
      const append = store.appendOnce.bind(store);
      let calls = 0;
      store.appendOnce = (...args: Parameters<typeof append>) => {
        if (++calls === nth) state.abort("injected: crash in the middle of a batch");
        return append(...args);
      };
    } else {
      const post = (o as unknown as Posting).host.post;
      const deliver = post.deliver.bind(post);
      let calls = 0;
      post.deliver = async (home, batch) => {
        const receipt = await deliver(home, batch);
        if (++calls === nth) state.abort("injected: crash in the middle of a fan-out round");
        return receipt;
      };
    }
  });
}
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** Evicts an object if it is running (evicting an idle one is refused, which is no fault at all). */
async function evict(stub: DurableObjectStub, webSockets: "close" | "hibernate"): Promise<boolean> {
  try {
    await evictDurableObject(stub, { webSockets });
    return true;
  } catch {
    return false;
  }
}

interface Sent {
  conversation: string;
  sender: string;
  /** The socket device that sends it, or null for REST. */
  device: Device | null;
}

/** One device of a user: every socket it has had, so what it holds is the union of their frames. */
class Device {
  readonly sockets: TestSocket[] = [];
  constructor(
    readonly who: Account,
    readonly id: string,
  ) {}

  get socket(): TestSocket {
    return this.sockets.at(-1)!;
  }
  get isOpen(): boolean {
    return this.sockets.length > 0 && this.socket.closed === null;
  }
  async open(): Promise<TestSocket> {
    this.sockets.push(await connect(this.who.token, this.id));
    return this.socket;
  }
  /** Sends on the current socket if it is open; a closed one loses the frame, as a network would. */
  send(frame: unknown): boolean {
    if (!this.isOpen) return false;
    try {
      this.socket.send(frame);
      return true;
    } catch {
      return false; // closed under us by an eviction
    }
  }
  acks(): MessageAck[] {
    return this.sockets.flatMap((s) => s.of("message_ack"));
  }
  received(conversation: string) {
    return this.sockets.flatMap((s) => s.of("new_message")).filter((m) => m.conversation_id === conversation);
  }
}

/** Every page of REST history, oldest first. */
async function history(conv: string, who: Account): Promise<Message[]> {
  const out: Message[] = [];
  let after = 0;
  for (let pages = 0; pages < 100; pages++) {
    const res = await api<{ messages: Message[]; has_more: boolean }>("GET", `/api/v1/conversations/${conv}/messages?limit=100&after=${after}`, { token: who.token });
    expect(res.status).toBe(200);
    out.push(...res.body.messages);
    if (!res.body.has_more) return out;
    after = res.body.messages.at(-1)!.seq;
  }
  throw new Error("history never ended");
}

describe("chaos", () => {
  it.each(SEEDS)("loses and doubles nothing while objects are evicted or crash mid-batch and mid-fan-out, sockets cut, R2 archive writes fail (seed %i)", async (SEED) => {
    const started = Date.now();
    const rand = prng(SEED);
    const [ana, bo, cy, dee] = await quickUsers(4, "chaos");
    const direct = await directConversation(ana!, bo!);
    const group = await createGroup(ana!, [bo!, cy!, dee!], "chaos");
    const toDee = await directConversation(ana!, dee!);
    const conversations = [direct, group, toDee];
    const members = new Map([
      [direct, [ana!, bo!]],
      [group, [ana!, bo!, cy!, dee!]],
      [toDee, [ana!, dee!]],
    ]);

    // Dee is offline throughout, with a browser subscribed to pushes.
    const browser: PushBrowser = await pushBrowser();
    expect((await api("POST", "/api/v1/push/subscriptions", { token: dee!.token, body: { device_id: "dee-laptop", ...subscriptionOf(browser) } })).status).toBe(201);

    const a1 = new Device(ana!, "a1");
    const b1 = new Device(bo!, "b1");
    const b2 = new Device(bo!, "b2"); // Bo's second device: gets Bo's own messages as new_message
    const c1 = new Device(cy!, "c1"); // Cy sends over REST and receives here
    const online = [a1, b1, b2, c1];
    for (const d of online) await d.open();

    // R2 refuses some of the group's archive writes outright and loses the answer to others after
    // storing them (torn writes), rolled from the schedule's seed by the tests' ARCHIVE binding
    // (test/helpers/archiveFaults.worker.js): an outage of R2, which evictions and crashes of the
    // object do not end. Its rolls are a sequence of their own: the schedule's seed would roll the
    // schedule's numbers.
    const archived = archivePrefix(group);
    await archiveFaults.fail(archived, { seed: SEED + 1, refuse: 0.35, tear: 0.2 });

    const sent = new Map<string, Sent>();
    /**
     * Sockets whose user object was evicted under them mid-work, the sockets kept (hibernated). What
     * the object had sent on them was in its memory: a round it is handed again may go out again on
     * them (the SDK drops repeats by seq). The runtime itself hibernates an object only when it is
     * idle, its held writes done, so only this test's forced evictions get here.
     */
    const hibernatedThrough = new Set<TestSocket>();
    const restAcks = new Map<string, MessageAck[]>();
    const faults = { conversationEvictions: 0, userEvictions: 0, crashesMidBatch: 0, crashesMidFanout: 0, socketsCut: 0, socketsClosedByEviction: 0, restRetries: 0, archivePasses: 0 };
    let next = 0;

    const unacked = (d: Device) => {
      const acked = new Set(d.acks().map((a) => a.client_msg_id));
      return [...sent].filter(([id, s]) => s.device === d && !acked.has(id));
    };
    const resendUnacked = (d: Device) => {
      const frames = unacked(d).map(([id, s]) => ({ type: "send_message", conversation_id: s.conversation, content: id, content_type: "text", client_msg_id: id }));
      for (let i = 0; i < frames.length; i += 100) d.send(JSON.stringify(frames.slice(i, i + 100)));
    };
    const reopen = async (d: Device) => {
      await d.open();
      resendUnacked(d);
    };

    /** A burst on one socket, in one socket message; sometimes the socket is cut before the acks. */
    const socketBurst = async (d: Device, conv: string, count: number) => {
      const frames = range(1, count).map(() => {
        const id = `${d.id}-${++next}`;
        sent.set(id, { conversation: conv, sender: d.who.user.user_id, device: d });
        return { type: "send_message", conversation_id: conv, content: id, content_type: "text", client_msg_id: id };
      });
      const delivered = d.send(JSON.stringify(frames));
      if (rand.chance(0.15) || !delivered) {
        d.socket.close();
        faults.socketsCut += 1;
        await reopen(d);
      }
    };

    /** A REST send, retried with the same client_msg_id until it is acked; sometimes the first answer is ignored. */
    const restSend = async (who: Account, conv: string) => {
      const id = `rest-${who.user.username}-${++next}`;
      sent.set(id, { conversation: conv, sender: who.user.user_id, device: null });
      const body = { content: id, content_type: "text", client_msg_id: id };
      const acks: MessageAck[] = [];
      restAcks.set(id, acks);
      // A crash of the conversation mid-request fails the request itself: a lost answer, sent again.
      const attempt = () =>
        api<MessageAck>("POST", `/api/v1/conversations/${conv}/messages`, { token: who.token, body }).catch(() => ({ status: 0, body: null as unknown as MessageAck }));
      if (rand.chance(0.2)) {
        // The answer is lost on the way back: the client never reads it and sends again.
        const lost = attempt();
        faults.restRetries += 1;
        const res = await attempt();
        const first = await lost;
        if (first.status === 201) acks.push(first.body);
        if (res.status === 201) acks.push(res.body);
      }
      for (let tries = 0; acks.length === 0; tries++) {
        expect(tries, `REST send ${id} never acked`).toBeLessThan(10);
        const res = await attempt();
        if (res.status === 201) acks.push(res.body);
        else faults.restRetries += 1;
      }
    };

    for (let round = 0; round < ROUNDS; round++) {
      for (const d of online) {
        if (!d.isOpen) {
          faults.socketsClosedByEviction += 1;
          await reopen(d);
        }
      }
      const work: Promise<unknown>[] = [];
      work.push(socketBurst(a1, rand.chance(0.35) ? direct : group, rand.int(1, 6)));
      work.push(socketBurst(b1, rand.chance(0.5) ? direct : group, rand.int(1, 6)));
      for (let i = rand.int(0, 2); i > 0; i--) work.push(restSend(cy!, group));
      if (rand.chance(0.3)) work.push(restSend(ana!, toDee));
      // Devices acknowledge what they hold with no gap below it, now and then.
      for (const d of online) {
        if (!rand.chance(0.3)) continue;
        for (const conv of conversations) {
          if (!members.get(conv)!.includes(d.who)) continue;
          const held = new Map<number, string>();
          for (const m of d.received(conv)) held.set(m.seq, m.server_msg_id);
          for (const a of d.acks()) if (a.conversation_id === conv) held.set(a.seq, a.server_msg_id);
          let top = 0;
          while (held.has(top + 1)) top += 1;
          if (top > 0) d.send({ type: "message_status", conversation_id: conv, server_msg_id: held.get(top)!, status: "delivered" });
        }
      }
      // Faults, while those are in flight.
      const faultCount = rand.int(0, 2);
      for (let i = 0; i < faultCount; i++) {
        const roll = rand.next();
        if (roll < 0.3) {
          const conv = conversations[rand.int(0, conversations.length - 1)]!;
          if (await evict(conversationStub(conv), "hibernate")) faults.conversationEvictions += 1;
        } else if (roll < 0.6) {
          const who = [ana!, bo!, cy!, dee!][rand.int(0, 3)]!;
          const mode = rand.chance(0.5) ? "close" : "hibernate";
          if (await evict(userStub(who.user.user_id), mode)) {
            faults.userEvictions += 1;
            if (mode === "hibernate") for (const d of online) if (d.who === who && d.isOpen) hibernatedThrough.add(d.socket);
          }
        } else if (roll < 0.85) {
          // A crash inside the conversation object, armed for the sends and rounds already in flight.
          const conv = conversations[rand.int(0, conversations.length - 1)]!;
          const where = rand.chance(0.5) ? "batch" : "fanout";
          await armCrash(conv, where, rand.int(1, 3));
          faults[where === "batch" ? "crashesMidBatch" : "crashesMidFanout"] += 1;
        } else {
          // An archive pass (the alarm's work: finish fan-out, then archive) against the flaky R2, run by the runtime.
          await runBookedAlarm(group);
          faults.archivePasses += 1;
        }
      }
      await Promise.all(work);
      // Wait for some acks now and then, so later faults land mid-delivery rather than before it.
      if (rand.chance(0.5) && a1.isOpen) {
        // Sends a crash refused come back as errors, not acks: resent with the same ids, as a client does.
        try {
          await a1.socket.until(() => !a1.isOpen || unacked(a1).length < 3, "a1 acks", 2_000);
        } catch {
          resendUnacked(a1);
        }
      }
    }
    const streamMs = Date.now() - started;

    // Drain: every socket reopened, everything unacked resent with the same ids, until all are acked.
    const drainStarted = Date.now();
    for (let attempt = 0; online.some((d) => unacked(d).length > 0); attempt++) {
      expect(attempt, `unacked after resends: ${online.map((d) => `${d.id}:${unacked(d).length}`).join(" ")}`).toBeLessThan(5);
      for (const d of online) {
        if (unacked(d).length === 0) continue;
        if (!d.isOpen) await reopen(d);
        else resendUnacked(d);
        const s = d.socket;
        await s.until(() => s.closed !== null || unacked(d).length === 0, `${d.id} acks`, 15_000);
      }
    }
    // Whatever fan-out an eviction or a crash cut short is finished by the alarm the conversation
    // booked (5 s): waited for, not run. Then a quiet second, after which an alarm has every member's
    // object write what it holds and records it (only what every member has may be archived).
    const fanoutDone = async () => {
      for (const conv of conversations) {
        for (let i = 0; ; i++) {
          // Handed to every member's object, and written there (an object that lost what it held is handed it again).
          const behind = await inside(conv, (o) => conversationIn(o, conv).fanout.behind || conversationIn(o, conv).fanout.unconfirmed);
          if (!behind) break;
          expect(i, `${conv}: fan-out never finished by its alarm`).toBeLessThan(600);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    await fanoutDone();
    await new Promise((r) => setTimeout(r, 1_100));
    // Archive passes against the flaky R2 now that the group is past its window (a pass archives only
    // beyond window + slack, so the stream itself reaches few of them); then with R2 working again
    // until the history has crossed the boundary. A failed write backs the pass off (5 s, doubling):
    // each pass here comes as if that time had passed, the object's booked alarms run now, each at
    // its own time (the archive's retry among them). The runtime may take a booked alarm first, or a
    // pass find nothing more to archive: a few tries each.
    const passAfterBackoff = async (done: () => Promise<boolean>, tries: number) => {
      for (let i = 0; i < tries && !(await done()); i++) {
        await bookDue(group, Date.now());
        await runAlarmsThroughCrashes(group, done);
      }
    };
    const writes = async () => (await archiveFaults.stats(archived)).writes.length;
    for (let i = 0; i < 4; i++) {
      const before = await writes();
      await passAfterBackoff(async () => (await writes()) > before, 2);
      faults.archivePasses += 1;
    }
    const archiveStats = await archiveFaults.heal(archived);
    // The passes met the flaky R2 (for these seeds, at least one write failed before one was stored).
    expect(archiveStats.refused + archiveStats.torn, "archive writes R2 failed").toBeGreaterThan(0);
    const segmentCount = () =>
      inside(group, (_o, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM archive_segments WHERE conversation_id = ?", group).one().n,
      );
    await passAfterBackoff(async () => (await segmentCount()) > 0, 10);
    await fanoutDone();
    const drainMs = Date.now() - drainStarted;

    // 1. Every acked message exists exactly once, where its ack says; seq is gapless 1..n.
    const heads = new Map<string, number>();
    const histories = new Map<string, Message[]>();
    for (const conv of conversations) {
      const messages = await history(conv, ana!);
      const n = messages.length;
      heads.set(conv, n);
      histories.set(conv, messages);
      expect(messages.map((m) => m.seq), conv).toEqual(range(1, n));
      const texts = messages.filter((m) => m.content_type === "text");
      const byContent = new Map<string, Message[]>();
      for (const m of texts) byContent.set(m.content, [...(byContent.get(m.content) ?? []), m]);
      const expected = [...sent].filter(([, s]) => s.conversation === conv);
      expect(texts.length, `${conv}: stored vs sent`).toBe(expected.length);
      for (const [id, s] of expected) {
        const stored = byContent.get(id) ?? [];
        expect(stored.length, `${id} stored ${stored.length} times`).toBe(1);
        expect(stored[0]!.sender_id).toBe(s.sender);
        const acks = s.device ? s.device.acks().filter((a) => a.client_msg_id === id) : restAcks.get(id)!;
        expect(acks.length).toBeGreaterThan(0);
        for (const ack of acks) expect([ack.seq, ack.server_msg_id, ack.conversation_id]).toEqual([stored[0]!.seq, stored[0]!.server_msg_id, conv]);
      }
    }
    const segments = await inside(group, (_o, state) =>
      state.storage.sql.exec<{ last_seq: number }>("SELECT last_seq FROM archive_segments WHERE conversation_id = ? ORDER BY first_seq", group).toArray(),
    );
    expect(segments.length, "the group's history crossed the archive boundary").toBeGreaterThan(0);
    // Torn writes are retried onto the same key (a segment is named by its first seq): R2 holds
    // exactly the objects the index names.
    const listed = (await archiveBucket.list({ prefix: archived })).objects.map((o) => o.key);
    const indexed = await inside(group, (_o, state) =>
      state.storage.sql.exec<{ key: string }>("SELECT key FROM archive_segments WHERE conversation_id = ? ORDER BY first_seq", group).toArray().map((r) => r.key),
    );
    expect(listed).toEqual(indexed);

    // 2. What each device held while it was online: every socket saw each conversation in order, once.
    for (const d of online) {
      for (const [i, s] of d.sockets.entries()) {
        for (const conv of conversations) {
          const all = s.of("new_message").filter((m) => m.conversation_id === conv).map((m) => m.seq);
          // Repeats of what the socket already had are dropped only where the object lost its memory under it.
          const seen = new Set<number>();
          const seqs = hibernatedThrough.has(s) ? all.filter((q) => !seen.has(q) && seen.add(q)) : all;
          for (let k = 1; k < seqs.length; k++) expect(seqs[k]!, `${d.id} socket ${i} in ${conv}: ${all.join(",")}`).toBeGreaterThan(seqs[k - 1]!);
        }
      }
    }

    // 3. Pushes to Dee (offline all along): per conversation, the first message of a quiet spell at
    //    once, the rest counted and sent as one push when its 30 s window ends (several windows when the
    //    stream outlasts one, within 10 pushes a minute). Every message is accounted for by exactly one
    //    push: nothing lost, nothing twice.
    const fromOthers = (conv: string) => [...sent.values()].filter((s) => s.conversation === conv && s.sender !== dee!.user.user_id).length;
    const pushConvs = [group, toDee].filter((c) => fromOthers(c) > 0);
    const deeStub = userStub(dee!.user.user_id);
    await waitForPushes(browser, pushConvs.length);
    // The window ends and the minute's push budget renews: as if time had passed. The alarm the window
    // booked comes now, and the runtime runs it.
    await runInDurableObject(deeStub, (_o: UserObject, state) => {
      state.storage.sql.exec("UPDATE push_windows SET last_sent_at = last_sent_at - 31000 WHERE user_id = ?", dee!.user.user_id);
      state.storage.sql.exec("UPDATE users SET push_minute_start = 0, push_sent_this_minute = 0 WHERE user_id = ?", dee!.user.user_id);
    });
    await taskDueAt(deeStub, "push", Date.now());
    const pushedFor = async () => {
      const payloads = (await Promise.all((await recordedPushes(browser)).map((p) => decryptPush(browser, p.body)))) as { conversation_id: string; body: string; unread_count: number }[];
      return pushConvs.map((conv) => {
        const mine = payloads.filter((p) => p.conversation_id === conv);
        return { conv, mine, counted: mine.reduce((n, p) => n + (Number(/^(\d+) new messages$/.exec(p.body)?.[1]) || 1), 0) };
      });
    };
    for (let i = 0; i < 100 && (await pushedFor()).some((p) => p.counted < fromOthers(p.conv)); i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300)); // anything doubled arrives too
    for (const { conv, mine, counted } of await pushedFor()) {
      expect(counted, `messages accounted for by pushes in ${conv}: ${JSON.stringify(mine)}`).toBe(fromOthers(conv));
      // The unread count counts everything from others, the group's system messages included.
      expect(mine.at(-1)!.unread_count).toBe(histories.get(conv)!.filter((m) => m.sender_id !== dee!.user.user_id).length);
    }
    expect(await runInDurableObject(deeStub, (o: UserObject) => o.pushStats(dee!.user.user_id))).toEqual({ subscriptions: 1, dead_letters: 0 });

    // 4. Every device, reconnecting now, is sent exactly what lies past its durable cursor, in order, once.
    const catchUpStarted = Date.now();
    const d1 = new Device(dee!, "d1");
    let caughtUp = 0;
    for (const d of [...online, d1]) {
      if (d.isOpen) d.socket.close();
      const cursors = new Map<string, number>();
      const mine = conversations.filter((c) => members.get(c)!.includes(d.who));
      for (const conv of mine) {
        cursors.set(conv, await runInDurableObject(userStub(d.who.user.user_id), (_o: UserObject, state) =>
          state.storage.sql.exec<{ n: number }>("SELECT COALESCE(MAX(delivered_seq), 0) AS n FROM delivery_cursors WHERE user_id = ? AND device_id = ? AND conversation_id = ?", d.who.user.user_id, d.id, conv).one().n,
        ));
      }
      const s = await d.open();
      const want = (conv: string) => range(cursors.get(conv)! + 1, heads.get(conv)!);
      await s.until(
        () => mine.every((conv) => s.of("new_message").filter((m) => m.conversation_id === conv).length >= want(conv).length),
        `${d.id} to catch up`,
        20_000,
      );
      await s.settle();
      for (const conv of mine) {
        const got = s.of("new_message").filter((m) => m.conversation_id === conv).map((m) => m.seq);
        expect(got, `${d.id} catch-up in ${conv}`).toEqual(want(conv));
        caughtUp += got.length;
        // With what it held before, the device has the whole conversation.
        const held = new Set([...d.received(conv).map((m) => m.seq), ...d.acks().filter((a) => a.conversation_id === conv).map((a) => a.seq)]);
        expect(range(1, heads.get(conv)!).filter((q) => !held.has(q)), `${d.id} missing in ${conv}`).toEqual([]);
      }
    }
    const catchUpMs = Date.now() - catchUpStarted;

    console.log(
      JSON.stringify({
        figure: "chaos",
        seed: SEED,
        messages: [...heads.values()].reduce((a, b) => a + b, 0),
        sent: sent.size,
        faults,
        archive: { refused: archiveStats.refused, torn: archiveStats.torn, stored: archiveStats.stored },
        segments: segments.length,
        stream_ms: streamMs,
        drain_ms: drainMs,
        catch_up_ms: catchUpMs,
        caught_up_frames: caughtUp,
        total_ms: Date.now() - started,
      }),
    );
    // Crashes make recovery wait for real alarms (5 s each): a schedule took 14-50 s here.
  }, 150_000);
});

describe("a socket cut before its acks", () => {
  it("gets every ack on the reconnected socket, even while the cut socket's batch is still being stored", async () => {
    const [ana, bo] = await quickUsers(2, "cut");
    const conv = await directConversation(ana!, bo!);
    const frames = range(1, 100).map((i) => ({ type: "send_message", conversation_id: conv, content: `c${i}`, content_type: "text", client_msg_id: `c${i}` }));
    // Hold the conversation object, so the first socket's batch is still in flight when the device is back.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    const blocked = runInDurableObject(conversationStub(conv), (_o, state) =>
      state.blockConcurrencyWhile(() => {
        holding();
        return gate;
      }),
    );
    await held;
    const first = await connect(ana!.token, "a1");
    first.send(JSON.stringify(frames));
    first.close();
    // The client resends everything it holds unacked, with the same ids, on its new socket. A
    // heartbeat the runtime does not auto-answer (extra space) comes back once the object has them.
    const second = await connect(ana!.token, "a1");
    second.send(JSON.stringify(frames));
    second.send('{ "type": "heartbeat" }');
    await second.next("heartbeat_ack");
    release();
    await blocked;
    const acks = await second.next("message_ack", 100);
    expect(new Set(acks.map((a) => a.client_msg_id)).size).toBe(100);
    const history = await api<{ messages: Message[] }>("GET", `/api/v1/conversations/${conv}/messages?limit=100`, { token: bo!.token });
    expect(history.body.messages.map((m) => m.content)).toEqual(range(1, 100).map((i) => `c${i}`));
    second.close();
  });
});

describe("queue consumers that fail", () => {
  it("a thumbnail job whose R2 read fails is retried alone, then done once; a repeat delivery changes nothing", async () => {
    const [ana] = await quickUsers(1, "thumb");
    const ids = [`md_chaos${crypto.randomUUID().replace(/-/g, "")}`, `md_chaos${crypto.randomUUID().replace(/-/g, "")}`];
    const pixels = new Uint8Array(64 * 48 * 4).map((_, i) => (i * 37) % 256);
    const image = new PhotonImage(pixels, 64, 48);
    const png = image.get_bytes();
    image.free();
    // Written straight to R2 (no upload route), so no real queue job races the one driven here.
    for (const id of ids) {
      await env.MEDIA.put(bytesKey(id), png);
      const now = Date.now();
      await writeRecord(env, { media_id: id, uploader: ana!.user.user_id, kind: "image", content_type: "image/png", size: png.length, filename: null, status: "ready", created_at: now, expires_at: now + 3_600_000 });
    }
    let failures = 0;
    const flakyMedia = new Proxy(env.MEDIA, {
      get(target, prop) {
        if (prop === "get") {
          return (key: string, options?: R2GetOptions) => {
            if (key === bytesKey(ids[0]!) && failures === 0) {
              failures += 1;
              return Promise.reject(new Error("R2 read failed (injected)"));
            }
            return target.get(key, options);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const flakyEnv = { ...env, MEDIA: flakyMedia } as typeof env;
    const jobs = (attempts: number, only?: string) =>
      createMessageBatch(
        "parley-media-jobs",
        ids.filter((id) => !only || id === only).map((id, i) => ({ id: `job-${i}-${attempts}`, timestamp: new Date(), attempts, body: { type: "thumbnail", media_id: id } })),
      );

    const first = jobs(1);
    const ctx1 = createExecutionContext();
    await consumeMediaJobs(first, flakyEnv);
    const result1 = await getQueueResult(first, ctx1);
    expect(failures).toBe(1);
    expect(result1.retryMessages.map((m) => m.msgId)).toEqual(["job-0-1"]);
    expect(result1.explicitAcks).toEqual(["job-1-1"]);
    expect(await env.MEDIA.head(thumbnailKey(ids[0]!))).toBeNull();

    const second = jobs(2, ids[0]);
    await consumeMediaJobs(second, flakyEnv);
    const result2 = await getQueueResult(second, createExecutionContext());
    expect(result2.retryMessages).toEqual([]);
    expect(result2.explicitAcks).toEqual(["job-0-2"]);
    const made = await env.MEDIA.head(thumbnailKey(ids[0]!));
    expect(made).not.toBeNull();
    expect(await readRecord(env, ids[0]!)).toMatchObject({ thumbnail: true, width: 64, height: 48 });

    // Queues deliver at least once: the same job again is acknowledged and writes nothing.
    const repeat = jobs(3);
    await consumeMediaJobs(repeat, env);
    expect((await getQueueResult(repeat, createExecutionContext())).explicitAcks.sort()).toEqual(["job-0-3", "job-1-3"]);
    expect((await env.MEDIA.head(thumbnailKey(ids[0]!)))!.etag).toBe(made!.etag);
  });

  it("a push batch with one failing endpoint retries only that one; the others are pushed once", async () => {
    const browsers = [await pushBrowser(201), await pushBrowser(503), await pushBrowser(201)];
    const [dee] = await quickUsers(1, "pushq");
    const payload = { conversation_id: "d_chaos", title: "Ana", body: "hello", unread_count: 1 };
    const job = (b: PushBrowser, i: number): PushJob => ({ user_id: dee!.user.user_id, device_id: `dev${i}`, subscription: subscriptionOf(b), payload, topic: "chaos", urgency: "high" });
    const batchOf = (attempts: number, which: number[]) =>
      createMessageBatch<PushJob>("parley-push", which.map((i) => ({ id: `push-${i}-${attempts}`, timestamp: new Date(), attempts, body: job(browsers[i]!, i) })));

    const first = batchOf(1, [0, 1, 2]);
    await consumePushJobs(first, env);
    const result = await getQueueResult(first, createExecutionContext());
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["push-1-1"]);
    expect(result.explicitAcks.sort()).toEqual(["push-0-1", "push-2-1"]);
    // The retry carries only the failed job: the devices that got theirs are not pushed again.
    const retry = batchOf(2, [1]);
    await consumePushJobs(retry, env);
    expect((await getQueueResult(retry, createExecutionContext())).retryMessages.map((m) => m.msgId)).toEqual(["push-1-2"]);
    const counts = await Promise.all(browsers.map(async (b) => (await recordedPushes(b)).length));
    expect(counts).toEqual([1, 2, 1]);
    expect(await decryptPush(browsers[0]!, (await recordedPushes(browsers[0]!))[0]!.body)).toEqual(payload);
  });

  it("a push the queue holds twice (an outbox row sent again after a crash) reaches each device once", async () => {
    const [browser, other] = [await pushBrowser(201), await pushBrowser(201)];
    const [dee] = await quickUsers(1, "pushtwice");
    const payload = { conversation_id: "d_chaos", title: "Ana", body: "hello", unread_count: 1 };
    const job = (b: PushBrowser, device: string, push_id: string): PushJob => ({ user_id: dee!.user.user_id, device_id: device, subscription: subscriptionOf(b), payload, push_id, topic: "chaos", urgency: "high" });
    const deliver = async (jobs: PushJob[], tag: string) => {
      const batch = createMessageBatch<PushJob>("parley-push", jobs.map((body, i) => ({ id: `${tag}-${i}`, timestamp: new Date(), attempts: 1, body })));
      await consumePushJobs(batch, env);
      return getQueueResult(batch, createExecutionContext());
    };
    await deliver([job(browser, "laptop", "p1"), job(other, "phone", "p1")], "first");
    // The same decided push again (both devices), and a new one: only the new one goes out.
    const again = await deliver([job(browser, "laptop", "p1"), job(other, "phone", "p1"), job(browser, "laptop", "p2")], "again");
    expect(again.explicitAcks.length).toBe(3);
    expect([(await recordedPushes(browser)).length, (await recordedPushes(other)).length]).toEqual([2, 1]);
  });

  it("a batch's pushes go out side by side: a slow push service holds up the batch once, not once per push", async () => {
    // Each push service takes a second to answer. One at a time, six pushes would arrive over ≥ 5 s.
    const answerMs = 1_000;
    const browsers = await Promise.all(Array.from({ length: 6 }, () => pushBrowser(201, answerMs)));
    const [eve] = await quickUsers(1, "pushp");
    const payload = { conversation_id: "d_parallel", title: "Ana", body: "hello", unread_count: 1 };
    const batch = createMessageBatch<PushJob>(
      "parley-push",
      browsers.map((b, i) => ({ id: `par-${i}`, timestamp: new Date(), attempts: 1, body: { user_id: eve!.user.user_id, device_id: `dev${i}`, subscription: subscriptionOf(b), payload, topic: "par", urgency: "high" } })),
    );
    await consumePushJobs(batch, env);
    expect((await getQueueResult(batch, createExecutionContext())).explicitAcks.sort()).toEqual(browsers.map((_, i) => `par-${i}`));
    const arrivals = (await Promise.all(browsers.map(recordedPushes))).map((got) => {
      expect(got).toHaveLength(1);
      return got[0]!.at;
    });
    // Every push reached its service before the first answer could have come back.
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeLessThan(answerMs);
  });
});

async function waitForPushes(b: PushBrowser, count: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await recordedPushes(b);
    if (got.length >= count) return got;
    if (Date.now() > deadline) throw new Error(`expected ${count} pushes, got ${got.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
