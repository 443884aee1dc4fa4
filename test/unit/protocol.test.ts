import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newServerMsgId, seqOfServerMsgId } from "../../src/lib/ids";
import { ClientFrame, ErrorFrame, HEARTBEAT_REQUEST, parseClientMessage, Limits } from "../../src/protocol";

describe("parseClientMessage", () => {
  it("accepts each client frame type", () => {
    const frames = [
      { type: "send_message", conversation_id: "d_abc", content: "hi", content_type: "text", client_msg_id: "c1" },
      { type: "message_status", conversation_id: "d_abc", server_msg_id: "m1_abc", status: "read" },
      { type: "sync", conversation_id: "d_abc", after_seq: 0, limit: 10 },
      { type: "heartbeat" },
    ];
    for (const f of frames) {
      expect(parseClientMessage(JSON.stringify(f))).toEqual([{ ok: true, frame: f }]);
    }
    expect(parseClientMessage(HEARTBEAT_REQUEST)).toEqual([{ ok: true, frame: { type: "heartbeat" } }]);
    // A batch: each frame parsed on its own, in order.
    const batch = parseClientMessage(JSON.stringify([...frames, { type: "nope" }]));
    expect(batch.map((p) => p.ok)).toEqual([true, true, true, true, false]);
  });

  it("bounds batches", () => {
    const hb = { type: "heartbeat" };
    expect(parseClientMessage(JSON.stringify(Array(Limits.maxFramesPerMessage).fill(hb)))).toHaveLength(Limits.maxFramesPerMessage);
    for (const raw of ["[]", JSON.stringify(Array(Limits.maxFramesPerMessage + 1).fill(hb))]) {
      const parsed = parseClientMessage(raw);
      expect(parsed).toHaveLength(1);
      expect(parsed[0]).toMatchObject({ ok: false, error: { code: "invalid_frame" } });
    }
    const huge = JSON.stringify([{ type: "heartbeat", pad: "x".repeat(Limits.maxBatchBytes) }]);
    expect(parseClientMessage(huge)[0]).toMatchObject({ ok: false, error: { code: "frame_too_large" } });
  });

  it("never throws, and always yields a valid frame or a valid error frame", () => {
    const arbitraryFrame = fc.oneof(
      fc.string(),
      fc.array(fc.json(), { maxLength: 5 }).map((a) => `[${a.join(",")}]`),
      fc.json(),
      fc.record({
        type: fc.constantFrom("send_message", "message_status", "sync", "heartbeat", "typing", "nope"),
        conversation_id: fc.oneof(fc.string(), fc.integer()),
        content: fc.oneof(fc.string(), fc.constant(null)),
        content_type: fc.constantFrom("text", "image", "system", 3),
        client_msg_id: fc.oneof(fc.string({ maxLength: 200 }), fc.constant(undefined)),
        after_seq: fc.oneof(fc.integer(), fc.double()),
        status: fc.constantFrom("delivered", "read", "seen"),
      }).map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(arbitraryFrame, (raw) => {
        for (const parsed of parseClientMessage(raw)) {
          if (parsed.ok) expect(ClientFrame.safeParse(parsed.frame).success).toBe(true);
          else expect(ErrorFrame.safeParse(parsed.error).success).toBe(true);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe("server_msg_id", () => {
  it("carries its seq and nothing else parses", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (seq) => {
        expect(seqOfServerMsgId(newServerMsgId(seq))).toBe(seq);
      }),
    );
    for (const bad of ["", "m", "m0_abc", "x1_abc", "m1", "m1_", "m!_abc", "mzzzzzzzzzzzz_abc"]) {
      expect(seqOfServerMsgId(bad), bad).toBeNull();
    }
  });

  it("is unique", () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newServerMsgId(1)));
    expect(ids.size).toBe(1000);
  });
});
