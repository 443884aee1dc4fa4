import { describe, expect, it } from "vitest";
import { applyAction, foldActions } from "../../src/client/fold";
import { foldState } from "../../src/objects/conversation/state";
import { VoiceInfo, type Message } from "../../src/protocol";
import { downsample, durationText, durationWords, levelsOf, normalise } from "../../web/src/waveform";

const note: Message = {
  conversation_id: "d_test",
  server_msg_id: "m1_x",
  seq: 1,
  sender_id: "u_ana",
  content: "",
  content_type: "audio",
  timestamp: 1_000,
  media: { media_id: "md_1", content_type: "audio/webm", size: 10, voice: true, duration_ms: 2_000, waveform: [1, 2] },
};
const played = (seq: number, by: string): Message => ({
  ...note,
  server_msg_id: `m${seq}_x`,
  seq,
  sender_id: by,
  content_type: "played",
  media: undefined,
  target: { server_msg_id: note.server_msg_id, seq: 1, sender_id: "u_ana" },
});

describe("played marks, as the SDK and the server fold them", () => {
  it("adds each listener once, in order, never the sender, and a delete takes them away", () => {
    const once = applyAction(note, played(2, "u_bo"));
    expect(once.played_by).toEqual(["u_bo"]);
    expect(applyAction(once, played(3, "u_bo"))).toBe(once); // unchanged, same object
    expect(applyAction(once, played(4, "u_ana"))).toBe(once);
    expect(foldActions(note, [played(5, "u_cy"), played(2, "u_bo"), played(3, "u_bo")]).played_by).toEqual(["u_bo", "u_cy"]);
    const deleted = applyAction(once, { content_type: "delete", content: "", sender_id: "u_ana", timestamp: 9 });
    expect(deleted.played_by).toBeUndefined();
  });

  it("the server's state adds to what an archived copy already holds, and folding twice changes nothing", () => {
    const archived: Message = { ...note, played_by: ["u_bo"] };
    const state = { state: { played_by: ["u_bo", "u_cy"] }, state_seq: 7 };
    const folded = foldState(archived, state);
    expect(folded.played_by).toEqual(["u_bo", "u_cy"]);
    expect(foldState(folded, state)).toEqual(folded);
    expect(foldState(archived, { state: { deleted: true }, state_seq: 8 }).played_by).toBeUndefined();
  });

  it("voice metadata is checked: a length and 1–64 levels of 0–100", () => {
    expect(VoiceInfo.safeParse({ duration_ms: 1, waveform: [0, 100] }).success).toBe(true);
    for (const bad of [{ duration_ms: 0, waveform: [1] }, { duration_ms: 5, waveform: [] }, { duration_ms: 5, waveform: [101] }, { duration_ms: 5, waveform: Array(65).fill(1) }]) {
      expect(VoiceInfo.safeParse(bad).success).toBe(false);
    }
  });
});

describe("the web client's waveform", () => {
  it("measures loudness per slice: the loudest slice 100, silence 0, at most the bars asked for", () => {
    const samples = new Float32Array(4_000);
    for (let i = 1_000; i < 2_000; i++) samples[i] = Math.sin(i / 5) * 0.8; // loud
    for (let i = 3_000; i < 4_000; i++) samples[i] = Math.sin(i / 5) * 0.1; // quiet
    const bars = levelsOf(samples, 4);
    expect(bars).toHaveLength(4);
    expect(bars[0]).toBe(0);
    expect(bars[1]).toBe(100);
    expect(bars[2]).toBe(0);
    expect(bars[3]).toBeGreaterThan(10); // quiet, but it shows
    expect(bars[3]).toBeLessThan(bars[1]!);
    expect(VoiceInfo.safeParse({ duration_ms: 1_000, waveform: levelsOf(new Float32Array(100_000)) }).success).toBe(true);
    expect(levelsOf(new Float32Array(10), 40)).toHaveLength(10);
    expect(normalise([0, 0.5, 1]).every((l) => Number.isInteger(l) && l >= 0 && l <= 100)).toBe(true);
    expect(downsample(Array.from({ length: 400 }, (_, i) => i), 40)).toHaveLength(40);
  });

  it("writes lengths for eyes and ears", () => {
    expect(durationText(7_400)).toBe("0:07");
    expect(durationText(65_000)).toBe("1:05");
    expect(durationWords(1_000)).toBe("1 second");
    expect(durationWords(65_000)).toBe("1 minute 5 seconds");
    expect(durationWords(120_000)).toBe("2 minutes");
  });
});
