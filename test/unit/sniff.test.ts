import { describe, expect, it } from "vitest";
import { matchesDeclaredType, sniffableTypes } from "../../src/media/sniff";
import { MediaTypes } from "../../src/protocol";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe("type sniffing", () => {
  it("knows a signature for every allow-listed type, so nothing accepted is always refused", () => {
    const allowed = [...MediaTypes.image, ...MediaTypes.video, ...MediaTypes.document, ...MediaTypes.audio].sort();
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

  it("accepts what browsers record and audio files people attach, and nothing else as audio", () => {
    const ebml = [0x1a, 0x45, 0xdf, 0xa3];
    // Chromium's MediaRecorder (audio/webm;codecs=opus) starts like any WebM: the declared type decides.
    expect(matchesDeclaredType("audio/webm", bytes(ebml, [0x9f, 0x42, 0x86, 0x81, 0x01]))).toBe(true);
    expect(matchesDeclaredType("video/webm", bytes(ebml))).toBe(true);
    expect(matchesDeclaredType("audio/ogg", bytes("OggS", [0, 2]))).toBe(true);
    expect(matchesDeclaredType("audio/mp4", bytes([0, 0, 0, 28], "ftypM4A "))).toBe(true);
    expect(matchesDeclaredType("audio/aac", bytes([0xff, 0xf1, 0x50, 0x80]))).toBe(true);
    expect(matchesDeclaredType("audio/mpeg", bytes("ID3", [4, 0]))).toBe(true);
    expect(matchesDeclaredType("audio/mpeg", bytes([0xff, 0xfb, 0x90, 0x64]))).toBe(true);
    expect(matchesDeclaredType("audio/webm", bytes("OggS"))).toBe(false);
    expect(matchesDeclaredType("audio/ogg", bytes(ebml))).toBe(false);
    expect(matchesDeclaredType("audio/mpeg", bytes("MZ", [0x90, 0]))).toBe(false);
    expect(matchesDeclaredType("audio/aac", bytes([0xff, 0xd8, 0xff]))).toBe(false); // a JPEG
  });
});
