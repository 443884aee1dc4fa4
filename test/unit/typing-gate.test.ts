import { describe, expect, it } from "vitest";
import { TypingGate } from "../../src/lib/typingGate";

describe("TypingGate", () => {
  it("passes a typing once per interval and a stopped only after a typing that passed", () => {
    const gate = new TypingGate(1_000);
    const passed = (status: "typing" | "stopped", at: number) => gate.pass("u", status, at);
    expect(passed("stopped", 0)).toBe(false); // nothing shown: nothing to stop
    expect(passed("typing", 0)).toBe(true);
    expect(passed("typing", 500)).toBe(false); // a renewal inside the interval
    expect(passed("stopped", 600)).toBe(true);
    expect(passed("stopped", 601)).toBe(false); // once
    expect(passed("typing", 700)).toBe(false); // alternating does not reset the interval
    expect(passed("stopped", 701)).toBe(false);
    expect(passed("typing", 1_000)).toBe(true);
    expect(gate.pass("v", "typing", 1_000)).toBe(true); // keys are independent
  });

  it("alternating 1,000 times within a second passes two frames", () => {
    const gate = new TypingGate(1_000);
    let passed = 0;
    for (let i = 0; i < 1_000; i++) {
      if (gate.pass("u", "typing", i / 2)) passed++;
      if (gate.pass("u", "stopped", i / 2)) passed++;
    }
    expect(passed).toBe(2);
  });

  it("lets go of idle keys past its size, keeping the ones that show typing", () => {
    const gate = new TypingGate(1_000, 3);
    for (const k of ["a", "b", "c"]) gate.pass(k, "typing", 0);
    gate.pass("a", "stopped", 10);
    gate.pass("b", "stopped", 10);
    // A fourth key prunes a and b (idle, past the interval); c still shows typing and keeps its limit.
    expect(gate.pass("d", "typing", 2_000)).toBe(true);
    expect(gate.pass("c", "stopped", 2_000)).toBe(true);
    expect(gate.pass("a", "stopped", 2_000)).toBe(false);
  });
});
