import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newServerMsgId, seqOfServerMsgId } from "../../src/lib/ids";
import { ClientFrame, ErrorFrame, GroupName, HEARTBEAT_REQUEST, Limits, normaliseName, parseClientMessage, RegisterBody } from "../../src/protocol";

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

describe("parseClientMessage, properties of batches and limits", () => {
  const validFrame = fc.oneof(
    fc.record({
      type: fc.constant("send_message"),
      conversation_id: fc.constantFrom("d_abc", "g_xyz"),
      content: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0),
      content_type: fc.constant("text"),
      client_msg_id: fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
    }),
    fc.record({ type: fc.constant("message_status"), conversation_id: fc.constant("d_abc"), server_msg_id: fc.constant("m1_abc"), status: fc.constantFrom("delivered", "read") }),
    fc.record({ type: fc.constant("sync"), conversation_id: fc.constant("d_abc"), after_seq: fc.nat(1_000_000), limit: fc.integer({ min: 1, max: Limits.syncMaxPage }) }),
    fc.constant({ type: "heartbeat" }),
  );
  /** Invalid in some way: unknown type, a field of the wrong type, an over-long id, a system message. */
  const invalidFrame = fc.oneof(
    fc.record({ type: fc.constant("nope"), client_msg_id: fc.stringMatching(/^[a-z0-9]{1,20}$/) }),
    fc.record({ type: fc.constant("send_message"), conversation_id: fc.constant("d_abc"), content: fc.constant("hi"), content_type: fc.constant("system"), client_msg_id: fc.stringMatching(/^[a-z0-9]{1,20}$/) }),
    fc.record({ type: fc.constant("sync"), conversation_id: fc.constant("d_abc"), after_seq: fc.constant(-1) }),
    fc.record({ type: fc.constant("send_message"), conversation_id: fc.constant("d_abc"), content: fc.constant("   "), content_type: fc.constant("text"), client_msg_id: fc.stringMatching(/^[a-z0-9]{1,20}$/) }),
    fc.oneof(fc.integer(), fc.constant(null), fc.string({ maxLength: 10 })),
  );
  const element = fc.oneof(validFrame.map((f) => ({ valid: true, f })), invalidFrame.map((f) => ({ valid: false, f: f as unknown })));

  it("a batch of 1..100 frames yields one result per frame, in order: valid ones unchanged, invalid ones typed errors with their client_msg_id", () => {
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: Limits.maxFramesPerMessage }), (items) => {
        const parsed = parseClientMessage(JSON.stringify(items.map((i) => i.f)));
        expect(parsed).toHaveLength(items.length);
        parsed.forEach((p, k) => {
          const item = items[k]!;
          expect(p.ok).toBe(item.valid);
          if (p.ok) expect(p.frame).toEqual(item.f);
          else {
            expect(ErrorFrame.safeParse(p.error).success).toBe(true);
            const id = (item.f as { client_msg_id?: unknown } | null)?.client_msg_id;
            if (typeof id === "string") expect(p.error.client_msg_id).toBe(id);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it("any bytes, as a binary message, yield frames or typed errors and never throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const parsed = parseClientMessage(bytes.buffer as ArrayBuffer);
        expect(parsed.length).toBeGreaterThan(0);
        for (const p of parsed) {
          if (p.ok) expect(ClientFrame.safeParse(p.frame).success).toBe(true);
          else expect(ErrorFrame.safeParse(p.error).success).toBe(true);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it("the same frame as text or as UTF-8 bytes parses the same", () => {
    fc.assert(
      fc.property(fc.array(validFrame, { minLength: 1, maxLength: 10 }), fc.boolean(), (frames, asBatch) => {
        const raw = JSON.stringify(asBatch ? frames : frames[0]);
        expect(parseClientMessage(new TextEncoder().encode(raw).buffer as ArrayBuffer)).toEqual(parseClientMessage(raw));
      }),
      { numRuns: 300 },
    );
  });

  it("over the size limits there is exactly one frame_too_large error, whatever the content", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Limits.maxFrameBytes + 1, max: Limits.maxBatchBytes + 4_096 }),
        fc.constantFrom("frame", "batch", "garbage"),
        (size, shape) => {
          let raw: string;
          if (shape === "garbage") raw = "x".repeat(size);
          else {
            const frame = JSON.stringify({ type: "heartbeat", pad: "" });
            const padded = (n: number) => JSON.stringify({ type: "heartbeat", pad: "p".repeat(Math.max(0, n - frame.length)) });
            raw = shape === "frame" ? padded(size) : `[${padded(size - 2)}]`;
          }
          const parsed = parseClientMessage(raw);
          // A lone frame is limited to maxFrameBytes; a batch (or anything not JSON) to maxBatchBytes.
          const tooBig = shape === "frame" || raw.length > Limits.maxBatchBytes;
          if (shape === "garbage" && !tooBig) expect(parsed).toEqual([{ ok: false, error: expect.objectContaining({ code: "invalid_json" }) }]);
          else if (tooBig) expect(parsed).toEqual([{ ok: false, error: expect.objectContaining({ type: "error", code: "frame_too_large" }) }]);
          else expect(parsed.every((p) => p.ok || p.error.code !== "frame_too_large")).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("names people see", () => {
  it("are NFKC-normalised and lose control, format and bidi characters; emoji sequences survive", () => {
    expect(normaliseName("\u202eevil\u202c Bob")).toBe("evil Bob"); // right-to-left override
    expect(normaliseName("\u2066Ana\u2069\u200b\u200b")).toBe("Ana"); // isolates, zero-width spaces
    expect(normaliseName("\ufeffＡｎａ　Ｌｉｍａ")).toBe("Ana Lima"); // BOM; fullwidth letters and space
    expect(normaliseName("ﬁle\u0000\u0007 \t\n team")).toBe("file team"); // ligature, controls, whitespace run
    expect(normaliseName("👩‍👩‍👧‍👦 family")).toBe("👩‍👩‍👧‍👦 family"); // the joiner stays
    expect(normaliseName("e\u0301")).toBe("é");
  });

  it("are refused when nothing visible is left, over REST schemas", () => {
    expect(GroupName.safeParse("\u202e\u200b \u2066").success).toBe(false);
    expect(GroupName.parse(" \u202eteam\u202c ")).toBe("team");
    expect(RegisterBody.parse({ username: "ana_1", password: "long enough", display_name: "\u202eAna" }).display_name).toBe("Ana");
    expect(RegisterBody.safeParse({ username: "ana_1", password: "long enough", display_name: "\u200b" }).success).toBe(false);
  });
});
