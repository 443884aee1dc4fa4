import { describe, expect, it } from "vitest";
import { DEFAULT_HOT_WINDOW, parseHotWindow } from "../../src/objects/conversation/archive";
import { decodeSegment, encodeSegment, SEGMENT_MAX_BYTES, SEGMENT_MAX_MESSAGES, SegmentCache, segmentKey } from "../../src/objects/conversation/segments";
import type { Message } from "../../src/protocol";

const message = (seq: number, content = `m${seq}`): Message => ({
  conversation_id: "d_abcdefghijkl",
  server_msg_id: `m${seq.toString(36)}_x`,
  seq,
  sender_id: "u_abcdefghijkl",
  content,
  content_type: "text",
  timestamp: 1_700_000_000_000 + seq,
});
const run = (from: number, count: number, content?: string) => Array.from({ length: count }, (_, i) => message(from + i, content));

describe("archive segments", () => {
  it("parses the hot window safely", () => {
    expect(parseHotWindow("100")).toBe(100);
    expect(parseHotWindow(" 250 ")).toBe(250);
    for (const bad of [undefined, "", "0", "-5", "1.5", "ten", "1e400"]) expect(parseHotWindow(bad)).toBe(DEFAULT_HOT_WINDOW);
  });

  it("names segments so keys list in seq order", () => {
    expect(segmentKey("d_x", 1)).toBe("conversations/d_x/000000000001.json");
    expect(segmentKey("d_x", 1001) > segmentKey("d_x", 1)).toBe(true);
    expect(segmentKey("d_x", 10_001) > segmentKey("d_x", 9_001)).toBe(true);
  });

  it("cuts at the message and byte limits, round-trips, and refuses a segment that is not what its index says", () => {
    const byCount = encodeSegment("d_x", run(1, SEGMENT_MAX_MESSAGES + 5));
    expect(byCount.messages).toHaveLength(SEGMENT_MAX_MESSAGES);
    expect(decodeSegment(byCount.body, 1, SEGMENT_MAX_MESSAGES)).toEqual(run(1, SEGMENT_MAX_MESSAGES));

    const big = "x".repeat(60 * 1024);
    const byBytes = encodeSegment("d_x", run(1, 40, big));
    expect(byBytes.messages.length).toBeLessThan(40);
    expect(byBytes.body.length).toBeLessThanOrEqual(SEGMENT_MAX_BYTES + 1024);
    expect(encodeSegment("d_x", run(7, 1, "y".repeat(2 * SEGMENT_MAX_BYTES))).messages).toHaveLength(1);

    expect(() => decodeSegment(byCount.body, 2, SEGMENT_MAX_MESSAGES)).toThrow();
    const gap = encodeSegment("d_x", [message(1), message(3)]);
    expect(() => decodeSegment(gap.body, 1, 3)).toThrow();
  });

  it("caches the most recently used segments, shares a load, and forgets a failed one", async () => {
    const cache = new SegmentCache(2);
    let fetched = 0;
    const load = (key: string) => cache.load(key, async () => (fetched++, [message(1)]));
    await Promise.all([load("a"), load("a")]);
    expect(fetched).toBe(1);
    await load("b");
    await load("a");
    await load("c"); // evicts b, the least recently used
    await load("a");
    expect(fetched).toBe(3);
    await load("b");
    expect(fetched).toBe(4);
    await expect(cache.load("d", async () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    await load("d");
    expect(fetched).toBe(5);
  });
});
