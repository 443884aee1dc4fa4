import { describe, expect, it } from "vitest";
import { matchesDeclaredType, sniffableTypes } from "../../src/media/sniff";
import { MediaTypes } from "../../src/protocol";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe("type sniffing", () => {
  it("knows a signature for every allow-listed type, so nothing accepted is always refused", () => {
    const allowed = [...MediaTypes.image, ...MediaTypes.video, ...MediaTypes.document].sort();
    expect(sniffableTypes().sort()).toEqual(allowed);
  });

  it("tells real file starts from mislabelled ones", () => {
    expect(matchesDeclaredType("image/png", bytes([0x89], "PNG", [0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(matchesDeclaredType("image/png", bytes("GIF89a"))).toBe(false);
    expect(matchesDeclaredType("image/webp", bytes("RIFF", [0, 0, 0, 0], "WEBP"))).toBe(true);
    expect(matchesDeclaredType("video/mp4", bytes([0, 0, 0, 24], "ftypisom"))).toBe(true);
    expect(matchesDeclaredType("application/pdf", bytes("MZ", [0x90, 0]))).toBe(false);
    expect(matchesDeclaredType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", bytes("PK", [3, 4]))).toBe(true);
    expect(matchesDeclaredType("text/plain", bytes("plain words"))).toBe(true);
    expect(matchesDeclaredType("text/plain", bytes("nul", [0], "byte"))).toBe(false);
    expect(matchesDeclaredType("text/plain", bytes([0xc3, 0x28]))).toBe(false); // not UTF-8
    expect(matchesDeclaredType("application/x-msdownload", bytes("MZ"))).toBe(false);
  });
});
