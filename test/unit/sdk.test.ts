import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { CatchUp } from "../../src/client/catch-up";
import { backoffDelay, Connection, type SocketLike } from "../../src/client/connection";
import type { ClientContext } from "../../src/client/context";
import { MemoryOutbox, type PendingMessage } from "../../src/client/outbox";
import { ErrorCode, HEARTBEAT_REQUEST, HEARTBEAT_RESPONSE, Limits, type ClientFrame } from "../../src/protocol";
import { ReceiptCursors } from "../../src/client/receipts";
import { RestClient } from "../../src/client/rest";
import { Sender } from "../../src/client/sending";
import { ConversationTimeline } from "../../src/client/timeline";
import type { Message } from "../../src/protocol";

const message = (seq: number): Message => ({
  conversation_id: "d_test",
  server_msg_id: `m${seq}`,
  seq,
  sender_id: "u_other",
  content: `message ${seq}`,
  content_type: "text",
  timestamp: 1_700_000_000_000 + seq,
});

describe("ConversationTimeline", () => {
  it("holds any arrival order with repeats as 1..n once each, and reports a gap exactly when one is open", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }).chain((n) =>
          fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()].map((i) => i + 1), { minLength: n, maxLength: n }), fc.array(fc.integer({ min: 1, max: n }), { maxLength: 20 })),
        ),
        ([n, order, repeats]) => {
          const timeline = new ConversationTimeline();
          timeline.anchor(0);
          const arrivals = [...order];
          for (const r of repeats) arrivals.splice(r % (arrivals.length + 1), 0, r);
          const held = new Set<number>();
          for (const seq of arrivals) {
            const before = held.has(seq);
            const outcome = timeline.add(message(seq));
            held.add(seq);
            if (before) expect(outcome.kind).toBe("duplicate");
            else {
              // A gap is reported exactly when this message lands beyond a hole.
              let expectedTop = 0;
              while (held.has(expectedTop + 1)) expectedTop++;
              expect(outcome.kind).toBe(seq > expectedTop ? "gap" : "added");
              expect(timeline.contiguousSeq).toBe(expectedTop);
            }
          }
          expect(timeline.messages().map((m) => m.seq)).toEqual([...Array(n).keys()].map((i) => i + 1));
          expect(timeline.contiguousSeq).toBe(n);
        },
      ),
    );
  });

  it("asks for the hole right after the cursor", () => {
    const timeline = new ConversationTimeline();
    expect(timeline.add(message(3)).kind).toBe("added"); // the first message anchors
    expect(timeline.add(message(5))).toEqual({ kind: "gap", afterSeq: 3 });
    expect(timeline.add(message(4)).kind).toBe("added");
    expect(timeline.contiguousSeq).toBe(5);
  });

  it("continues the newest history page without a false gap, and older pages do not move the cursor", () => {
    const timeline = new ConversationTimeline();
    expect(timeline.addPage([message(51), message(52), message(53)], true)).toBe(3);
    expect(timeline.contiguousSeq).toBe(53);
    expect(timeline.add(message(54)).kind).toBe("added");
    expect(timeline.addPage([message(49), message(50), message(51)], false)).toBe(2);
    expect(timeline.contiguousSeq).toBe(54);
    expect(timeline.oldestSeq()).toBe(49);
  });
});

describe("reconnect backoff", () => {
  it("waits between half and all of the doubling ceiling, capped", () => {
    const options = { baseMs: 500, maxMs: 30_000 };
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
        const ceiling = Math.min(30_000, 500 * 2 ** Math.min(attempt, 30));
        const delay = backoffDelay(attempt, options, () => r);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(ceiling / 2));
        expect(delay).toBeLessThanOrEqual(ceiling);
      }),
    );
    expect(backoffDelay(0, options, () => 0)).toBe(250);
    expect(backoffDelay(3, options, () => 0.999999)).toBe(4_000);
    expect(backoffDelay(50, options, () => 0)).toBe(15_000);
  });
});

describe("receipt cursors", () => {
  it("shows a group message read only when every recipient has read it; read implies delivered", () => {
    const cursors = new ReceiptCursors();
    expect(cursors.stateOf(5, ["a", "b"])).toBe("sent");
    cursors.note("a", "read", 7);
    expect(cursors.stateOf(5, ["a", "b"])).toBe("sent");
    cursors.note("b", "delivered", 5);
    expect(cursors.stateOf(5, ["a", "b"])).toBe("delivered");
    expect(cursors.stateOf(6, ["a", "b"])).toBe("sent");
    cursors.note("b", "read", 5);
    expect(cursors.stateOf(5, ["a", "b"])).toBe("read");
    expect(cursors.note("b", "delivered", 4)).toBe(false); // cursors never move back
  });
});

/** A socket that opens at once, records what it is sent, and answers heartbeats while `answering`. */
class FakeSocket implements SocketLike {
  readyState = 0;
  sent: string[] = [];
  closed: { code?: number; reason?: string } | null = null;
  answering = true;
  private readonly listeners = new Map<string, ((event: any) => void)[]>();
  constructor() {
    queueMicrotask(() => {
      this.readyState = 1;
      this.emit("open", {});
    });
  }
  addEventListener(type: string, listener: (event: any) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  emit(type: string, event: unknown) {
    for (const l of this.listeners.get(type) ?? []) l(event);
  }
  send(data: string) {
    this.sent.push(data);
    if (data === HEARTBEAT_REQUEST && this.answering) queueMicrotask(() => this.emit("message", { data: HEARTBEAT_RESPONSE }));
  }
  close(code?: number, reason?: string) {
    this.closed = { code, reason };
    this.readyState = 3;
  }
}

describe("Connection heartbeats", () => {
  function connection() {
    const sockets: FakeSocket[] = [];
    const c = new Connection({
      url: "ws://parley.test/api/v1/ws",
      token: () => "t",
      createSocket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      backoff: { baseMs: 100, maxMs: 100 },
      heartbeatMs: Limits.heartbeatIntervalMs,
      onOpen() {},
      onFrame() {},
      onState() {},
      onProtocolError() {},
    });
    return { c, sockets };
  }

  it("keeps a socket that answers, heartbeating once a period", async () => {
    vi.useFakeTimers();
    try {
      const { c, sockets } = connection();
      c.start();
      await vi.advanceTimersByTimeAsync(10 * Limits.heartbeatIntervalMs + 1);
      expect(sockets).toHaveLength(1);
      expect(sockets[0]!.sent.filter((f) => f === HEARTBEAT_REQUEST)).toHaveLength(10);
      expect(c.state).toBe("open");
      c.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it("drops a socket whose heartbeat goes unanswered within the answer window, and opens another", async () => {
    vi.useFakeTimers();
    try {
      const { c, sockets } = connection();
      c.start();
      await vi.advanceTimersByTimeAsync(1);
      sockets[0]!.answering = false;
      await vi.advanceTimersByTimeAsync(Limits.heartbeatIntervalMs + Limits.heartbeatAnswerMs - 10);
      expect(sockets[0]!.closed).toBeNull();
      await vi.advanceTimersByTimeAsync(20);
      expect(sockets[0]!.closed).toEqual({ code: 4000, reason: "heartbeat timeout" });
      await vi.advanceTimersByTimeAsync(200);
      expect(sockets).toHaveLength(2);
      expect(c.state).toBe("open");
      c.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

/** The parts of a client a module is given, with the device socket recording what it is sent. */
function context(connected = () => true) {
  const sent: ClientFrame[][] = [];
  const events: { event: string; payload: unknown }[] = [];
  const ctx: ClientContext = {
    user: { user_id: "u_me", username: "me", display_name: "Me" },
    rest: new RestClient("http://parley.test", () => "t", () => Promise.reject(new Error("no server here"))),
    socket: {
      send(frames) {
        if (!connected()) return false;
        sent.push(frames);
        return true;
      },
    },
    emit: (event, payload) => events.push({ event, payload }),
  };
  return { ctx, sent, events };
}

describe("CatchUp", () => {
  it("asks for a hole once, again once the ask is stale, and at once after the hole closed", () => {
    vi.useFakeTimers();
    try {
      const { ctx, sent } = context();
      const catchUp = new CatchUp(ctx.socket);
      catchUp.gap("d_test", 4);
      catchUp.gap("d_test", 4);
      expect(sent).toEqual([[{ type: "sync", conversation_id: "d_test", after_seq: 4, limit: Limits.syncMaxPage }]]);
      vi.advanceTimersByTime(5_000);
      catchUp.gap("d_test", 4);
      expect(sent).toHaveLength(2);
      catchUp.advanced("d_test", 9);
      catchUp.gap("d_test", 4);
      expect(sent).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it("asks again on the next hole when the socket could not take the ask", () => {
    let connected = false;
    const { ctx, sent } = context(() => connected);
    const catchUp = new CatchUp(ctx.socket);
    catchUp.gap("d_test", 4);
    connected = true;
    catchUp.gap("d_test", 4);
    expect(sent).toHaveLength(1);
  });
});

describe("Sender", () => {
  const pending = (n: number): PendingMessage => ({ conversation_id: "d_test", client_msg_id: `c${n}`, content: `m${n}`, content_type: "text", created_at: n });
  const ids = (frames: ClientFrame[]) => frames.map((f) => (f.type === "send_message" ? f.client_msg_id : f.type));

  it("holds sends back after a rate refusal and sends them again together, in the order they were made", async () => {
    vi.useFakeTimers();
    try {
      const { ctx, sent } = context();
      const sender = new Sender(ctx, new MemoryOutbox());
      for (const n of [1, 2, 3]) await sender.enqueue(pending(n));
      await vi.advanceTimersByTimeAsync(0);
      expect(sent.map(ids)).toEqual([["c1"], ["c2"], ["c3"]]);
      expect(sender.refused({ type: "error", code: ErrorCode.rateLimited, message: "slow down", client_msg_id: "c2" })).toBe(true);
      await sender.enqueue(pending(4));
      await vi.advanceTimersByTimeAsync(999);
      expect(sent).toHaveLength(3);
      await vi.advanceTimersByTimeAsync(1_001);
      expect(sent.map(ids).slice(3)).toEqual([["c2", "c4"]]);
      expect(sender.pending().map((p) => p.client_msg_id)).toEqual(["c1", "c2", "c3", "c4"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("keeps a message refused for good as failed and out of the outbox, and an internal error's for the next connect", async () => {
    const outbox = new MemoryOutbox();
    const { ctx, sent, events } = context();
    const sender = new Sender(ctx, outbox);
    await sender.enqueue(pending(1));
    await sender.enqueue(pending(2));
    expect(sender.refused({ type: "error", code: ErrorCode.contentTooLarge, message: "too big", client_msg_id: "c1" })).toBe(true);
    expect(sender.refused({ type: "error", code: ErrorCode.internal, message: "try again", client_msg_id: "c2" })).toBe(true);
    expect(sender.refused({ type: "error", code: ErrorCode.invalidFrame, message: "not ours" })).toBe(false);
    expect((await outbox.list()).map((p) => p.client_msg_id)).toEqual(["c2"]);
    expect(sender.failedIn("d_test")).toEqual([{ pending: pending(1), error: { code: ErrorCode.contentTooLarge, message: "too big" } }]);
    expect(events.map((e) => e.event)).toEqual(["failed", "conversation"]);
    sent.length = 0;
    sender.resend();
    expect(sent.map(ids)).toEqual([["c2"]]);
    expect(sender.discardFailed("c1")).toBe("d_test");
    expect(sender.failedIn("d_test")).toEqual([]);
  });
});
