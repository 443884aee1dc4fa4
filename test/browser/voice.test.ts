import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { chromiumForTests, openChatWith, registerInBrowser, shoot, username } from "../helpers/browser";

/**
 * Something like speech for the fake microphone (Chromium loops it): syllables of a voiced tone with
 * harmonics, of varying loudness and length, with pauses between them. Without it the fake device
 * beeps once a second, which records fine but draws a waveform of dots.
 */
function speechLikeWav(seconds = 4, rate = 48_000): Buffer {
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const samples = new Int16Array(seconds * rate);
  let at = 0;
  while (at < samples.length) {
    const length = Math.floor((0.12 + random() * 0.22) * rate);
    const loudness = 0.25 + random() * 0.7;
    const pitch = 110 + random() * 60;
    for (let i = 0; i < length && at + i < samples.length; i++) {
      const t = (at + i) / rate;
      const envelope = Math.sin((Math.PI * i) / length) * loudness;
      const voiced = Math.sin(2 * Math.PI * pitch * t) + 0.5 * Math.sin(4 * Math.PI * pitch * t) + 0.25 * Math.sin(6 * Math.PI * pitch * t);
      samples[at + i] = Math.round(envelope * (voiced / 1.75) * 30_000);
    }
    at += length + Math.floor((0.04 + random() * 0.16) * rate);
  }
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "ascii");
  header.writeUInt32LE(36 + samples.byteLength, 4);
  header.write("WAVEfmt ", 8, "ascii");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "ascii");
  header.writeUInt32LE(samples.byteLength, 40);
  return Buffer.concat([header, Buffer.from(samples.buffer)]);
}

const speech = join(mkdtempSync(join(tmpdir(), "parley-voice-")), "speech.wav");
writeFileSync(speech, speechLikeWav());

const baseUrl = inject("serverUrl");
const chromium = chromiumForTests({ args: [`--use-file-for-fake-audio-capture=${speech}`] });

const composer = (page: Page) => page.getByRole("textbox", { name: "Message", exact: true });


/** Seconds shown as "m:ss". */
const seconds = (text: string | null) => {
  const [m, s] = (text ?? "").split(":").map(Number);
  return (m ?? 0) * 60 + (s ?? 0);
};

describe("voice messages in the web client", () => {
  it("records from the microphone, shows the waveform and length, plays, and the sender sees it played", async () => {
    const [ctxA, ctxB] = [await chromium.context(), await chromium.context()];
    const [ana, bo] = [username("ana"), username("bo")];
    const pageA = await registerInBrowser(ctxA, baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(ctxB, baseUrl, bo, "Bo Chen");
    await openChatWith(pageA, bo);
    await composer(pageA).fill("Listen to this");
    await composer(pageA).press("Enter");

    // An empty composer offers the microphone; recording shows the time going up, with Cancel and Send.
    const record = pageA.getByRole("button", { name: "Record a voice message" });
    await record.click();
    const recording = pageA.getByRole("group", { name: "Recording a voice message" });
    await recording.waitFor();
    // The bar takes the keyboard: Send has the focus, Escape would cancel.
    await expect.poll(() => recording.getByRole("button", { name: "Send voice message" }).evaluate((el) => el === (el.ownerDocument as { activeElement: unknown }).activeElement)).toBe(true);
    await expect.poll(async () => seconds(await pageA.getByTestId("recording-time").textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    await recording.getByRole("button", { name: "Send voice message" }).click();
    await recording.waitFor({ state: "hidden" });

    // Ana's bubble once stored: a player with the waveform and the length it recorded.
    const sent = pageA.locator('[data-testid="message"][data-own="true"][data-state]:not([data-state="pending"])').filter({ has: pageA.getByTestId("voice-player") });
    await sent.waitFor();
    await expect.poll(() => sent.getByTestId("voice-played").getAttribute("aria-label")).toBe("Not played yet");

    // Bo: the list says what it is; the bubble has the bars (of the syllables the fake microphone
    // played, so not all the same height) and the duration.
    const itemAtBo = pageB.locator('[data-testid="conversation-item"]', { hasText: "Ana Lima" });
    await itemAtBo.getByText(/🎤 Voice message \(0:0[3-6]\)/).waitFor();
    await itemAtBo.click();
    const player = pageB.getByTestId("voice-player");
    await player.waitFor();
    const heights = await player.getByTestId("voice-bar").evaluateAll((bars) => bars.map((b) => (b as unknown as { style: { height: string } }).style.height));
    expect(heights.length).toBeGreaterThan(8);
    expect(heights.length).toBeLessThanOrEqual(64);
    expect(new Set(heights).size).toBeGreaterThan(1);
    const length = seconds(await player.getByTestId("voice-duration").textContent());
    expect(length).toBeGreaterThanOrEqual(3);
    expect(length).toBeLessThanOrEqual(6);
    expect(await player.getAttribute("data-played")).toBe("false");
    const slider = player.getByRole("slider", { name: "Voice message position" });
    expect(await slider.getAttribute("aria-valuemax")).toBe(String(length));

    // Bo plays it from the keyboard: the played part is highlighted as it plays, and it is marked played.
    const play = player.getByRole("button", { name: /^Play voice message, \d+ seconds?$/ });
    await play.focus();
    await pageB.keyboard.press("Enter");
    await player.getByRole("button", { name: "Pause voice message" }).waitFor();
    await expect.poll(() => player.locator(".bar.heard").count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => player.getAttribute("data-played")).toBe("true");

    // Ana sees it played (the blue microphone), live.
    await expect.poll(() => sent.getByTestId("voice-played").getAttribute("aria-label")).toBe("Played");
    expect(await sent.getByTestId("voice-player").getAttribute("data-played")).toBe("true");
    // …and still after a reload (from the server, not this page's memory).
    await pageA.reload();
    const again = pageA.locator('[data-testid="conversation-item"]', { hasText: "Bo Chen" });
    await again.click();
    await expect.poll(() => pageA.getByTestId("voice-player").getAttribute("data-played")).toBe("true");
    // Message info says who played it.
    await sent.getByTestId("tick").click();
    const info = pageA.getByRole("dialog", { name: "Message info" });
    await expect.poll(() => info.getByTestId("receipt-played").textContent()).toBe("Yes");
    await pageA.keyboard.press("Escape");
    await info.waitFor({ state: "hidden" });

    // Bo answers with a voice message; Ana plays part of it (the bars heard so far highlighted) and pauses.
    await pageB.getByRole("button", { name: "Record a voice message" }).click();
    await expect.poll(async () => seconds(await pageB.getByTestId("recording-time").textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    await shoot(pageB, "voice-recording");
    await pageB.getByRole("button", { name: "Send voice message" }).click();
    const reply = pageA.locator('[data-testid="message"][data-own="false"]').getByTestId("voice-player");
    await reply.waitFor();
    expect(await reply.getAttribute("data-played")).toBe("false");
    expect(await reply.getByTestId("voice-played").getAttribute("aria-label")).toBe("Not played yet");
    await reply.getByRole("button", { name: /^Play voice message/ }).click();
    await expect.poll(() => reply.locator(".bar.heard").count(), { timeout: 10_000 }).toBeGreaterThan(8);
    await reply.getByRole("button", { name: "Pause voice message" }).click();
    await reply.getByRole("button", { name: /^Play voice message/ }).waitFor();
    const heard = await reply.locator(".bar.heard").count();
    expect(heard).toBeGreaterThan(8);
    expect(heard).toBeLessThan(await reply.getByTestId("voice-bar").count());
    await expect.poll(() => reply.getAttribute("data-played")).toBe("true");
    // No hover or focus toolbar in the picture.
    await pageA.mouse.move(0, 0);
    await reply.getByRole("button", { name: /^Play voice message/ }).evaluate((el) => (el as unknown as { blur(): void }).blur());
    const tools = pageA.locator('[data-testid="message"][data-own="false"] .message-tools');
    await expect.poll(() => tools.evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { opacity: string } }).getComputedStyle(el).opacity)).toBe("0");
    await shoot(pageA, "voice-message");
  });

  it("says plainly when the microphone is blocked, and a cancelled recording sends nothing", async () => {
    const ctx = await chromium.context();
    const [ana, bo] = [username("ana"), username("bo")];
    const pageB = await registerInBrowser(await chromium.context(), baseUrl, bo, "Bo Chen");
    const pageA = await registerInBrowser(ctx, baseUrl, ana, "Ana Lima");
    await openChatWith(pageA, bo);

    // Cancelled with Escape: the bar goes, the microphone button is back, nothing is sent.
    await pageA.getByRole("button", { name: "Record a voice message" }).click();
    await pageA.getByRole("group", { name: "Recording a voice message" }).waitFor();
    await pageA.keyboard.press("Escape");
    await pageA.getByRole("group", { name: "Recording a voice message" }).waitFor({ state: "hidden" });
    await pageA.getByRole("button", { name: "Record a voice message" }).waitFor();
    expect(await pageA.getByTestId("voice-player").count()).toBe(0);

    // The browser refuses the microphone (as when the user blocked it for the site).
    await pageA.evaluate(() => {
      const devices = (navigator as unknown as { mediaDevices: { getUserMedia: () => Promise<never> } }).mediaDevices;
      devices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    });
    await pageA.getByRole("button", { name: "Record a voice message" }).click();
    await pageA.getByRole("alert").getByText(/Microphone access is blocked/).waitFor();
    expect(await pageA.getByRole("group", { name: "Recording a voice message" }).count()).toBe(0);
    expect(await pageB.getByTestId("voice-player").count()).toBe(0);
  });
});
