import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { chromiumForTests, message, openChatWith, registerInBrowser, shoot, username } from "../helpers/browser";
import { naturalWidth, sunsetPng } from "../helpers/images";

const baseUrl = inject("serverUrl");
const chromium = chromiumForTests();
const context = (viewport?: { width: number; height: number }) => chromium.context({ viewport });

const composer = (page: Page) => page.getByRole("textbox", { name: "Message", exact: true });


/** A DataTransfer holding one file, made in the page, for synthetic drag-and-drop events. */
function fileDrop(page: Page, file: { name: string; type: string; text: string }) {
  return page.evaluateHandle(({ name, type, text }) => {
    // The Node-side compiler has no DOM types; this runs in the page, where DataTransfer exists.
    const { DataTransfer } = globalThis as unknown as { DataTransfer: new () => { items: { add(file: File): void } } };
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], name, { type }));
    return transfer;
  }, file);
}

const pdf = Buffer.from(
  "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n" +
    "trailer << /Root 1 0 R >>\n%%EOF\n" +
    "x".repeat(2400),
);

describe("media in the web client", () => {
  it("photos, documents and dropped files: progress while uploading, thumbnails, a lightbox, downloads, and refusals", async () => {
    const [ctxA, ctxB] = [await context(), await context()];
    const [ana, bo] = [username("ana"), username("bo")];
    const pageA = await registerInBrowser(ctxA, baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(ctxB, baseUrl, bo, "Bo Chen");
    await openChatWith(pageA, bo);
    await composer(pageA).fill("Hi Bo, photos from the trip");
    await composer(pageA).press("Enter");

    // Hold Ana's upload PUT until the progress row has been seen (locally it would take milliseconds).
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const isUploadPut = (url: URL) => /^\/api\/v1\/media\/[^/]+\/upload$/.test(url.pathname);
    await pageA.route(isUploadPut, async (route) => {
      if (route.request().method() === "PUT") await held;
      await route.continue();
    });

    // A photo with the composer's text as its caption.
    const png = sunsetPng(480, 360);
    await composer(pageA).fill("Sunset from the ferry");
    await pageA.getByLabel("Attach a file").setInputFiles({ name: "sunset.png", mimeType: "image/png", buffer: png });
    const progress = pageA.getByRole("progressbar", { name: "Uploading sunset.png" });
    await progress.waitFor();
    expect(Number(await progress.getAttribute("aria-valuenow"))).toBeGreaterThanOrEqual(0);
    await pageA.getByTestId("media-upload").locator("img").waitFor();
    await expect.poll(() => composer(pageA).inputValue()).toBe("");
    release();
    await progress.waitFor({ state: "hidden" });
    await pageA.unroute(isUploadPut);
    const sentPhoto = pageA.locator('[data-testid="message"][data-own="true"]:not([data-state="pending"])', { hasText: "Sunset from the ferry" });
    // Ana's own photo: from the server now (the thumbnail, once the queue job has made it).
    await expect.poll(() => naturalWidth(sentPhoto.getByTestId("media-image")), { timeout: 20_000 }).toBeGreaterThan(0);

    // Bo: the list says what it is, the thumbnail loads (smaller than the photo), the lightbox shows it whole.
    const itemAtBo = pageB.locator('[data-testid="conversation-item"]', { hasText: "Ana Lima" });
    await itemAtBo.getByText("📷 Photo · Sunset from the ferry").waitFor();
    await itemAtBo.click();
    const photo = message(pageB, "Sunset from the ferry").getByTestId("media-image");
    await photo.waitFor();
    expect(await photo.getAttribute("alt")).toBe("Sunset from the ferry");
    await expect.poll(() => naturalWidth(photo), { timeout: 20_000 }).toBeGreaterThan(0);
    const shown = await photo.boundingBox();
    expect(shown!.width).toBeLessThan(480);
    expect(shown!.width / shown!.height).toBeCloseTo(480 / 360, 1);
    await photo.click();
    const lightbox = pageB.getByRole("dialog", { name: "Sunset from the ferry" });
    await lightbox.waitFor();
    const full = lightbox.getByTestId("lightbox-image");
    await expect.poll(() => naturalWidth(full)).toBe(480);
    await pageB.keyboard.press("Escape");
    await lightbox.waitFor({ state: "hidden" });

    // A PDF: Bo gets a card whose download link serves exactly the bytes Ana sent.
    await pageA.getByLabel("Attach a file").setInputFiles({ name: "trip-plan.pdf", mimeType: "application/pdf", buffer: pdf });
    const card = pageB.getByTestId("media-document").filter({ hasText: "trip-plan.pdf" });
    await card.waitFor();
    await card.getByText("2.5 KB · PDF").waitFor();
    const download = card.getByRole("link", { name: "Download trip-plan.pdf" });
    await download.waitFor();
    expect(await download.getAttribute("download")).toBe("trip-plan.pdf");
    const href = await download.getAttribute("href");
    const fetched = await fetch(new URL(href!, baseUrl));
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(pdf)).toBe(true);
    await itemAtBo.getByText("📄 trip-plan.pdf").waitFor();

    // A video: a <video> with controls that loads only its metadata, from a URL that needs no token.
    const webm = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), Buffer.alloc(512, 0x42)]);
    await pageA.getByLabel("Attach a file").setInputFiles({ name: "wake.webm", mimeType: "video/webm", buffer: webm });
    const video = pageB.getByTestId("media-video");
    await video.waitFor();
    expect(await video.getAttribute("preload")).toBe("metadata");
    expect(await video.getAttribute("controls")).not.toBeNull();
    const videoBytes = await fetch(new URL((await video.getAttribute("src"))!, baseUrl), { headers: { Range: "bytes=0-3" } });
    expect(videoBytes.status).toBe(206);
    expect(Buffer.from(await videoBytes.arrayBuffer()).equals(webm.subarray(0, 4))).toBe(true);
    await itemAtBo.getByText("🎥 Video").waitFor();

    // A file dropped on the chat: the overlay shows while dragging, the drop sends it.
    const dropped = await fileDrop(pageA, { name: "packing.txt", type: "text/plain", text: "Packing list: tent, stove, torch\n" });
    const chatLog = pageA.getByTestId("message-list");
    await chatLog.dispatchEvent("dragenter", { dataTransfer: dropped });
    await pageA.getByText("Drop to send").waitFor();
    await chatLog.dispatchEvent("dragover", { dataTransfer: dropped });
    await chatLog.dispatchEvent("drop", { dataTransfer: dropped });
    await pageA.getByText("Drop to send").waitFor({ state: "hidden" });
    await pageB.getByTestId("media-document").filter({ hasText: "packing.txt" }).getByRole("link", { name: "Download packing.txt" }).waitFor();

    // Refusals: bytes that are not the PNG they claim to be (the server's check), and a type not on the allow-list.
    await pageA.getByLabel("Attach a file").setInputFiles({ name: "fake.png", mimeType: "image/png", buffer: Buffer.from("this is not a picture") });
    const alert = pageA.getByRole("alert").filter({ hasText: "fake.png" });
    await alert.getByText("not image/png").waitFor();
    await alert.getByRole("button", { name: "Dismiss" }).click();
    await alert.waitFor({ state: "hidden" });
    await pageA.getByLabel("Attach a file").setInputFiles({ name: "setup.exe", mimeType: "application/x-msdownload", buffer: Buffer.from("MZ\x90\x00") });
    await pageA.getByRole("alert").filter({ hasText: "setup.exe" }).getByText("cannot be sent").waitFor();
    await expect.poll(() => pageA.getByTestId("media-upload").count()).toBe(0);
    expect(await message(pageB, "fake.png").count()).toBe(0);

    // Bo's chat, with the photo and the documents.
    await photo.scrollIntoViewIfNeeded();
    await shoot(pageB, "media");
  });
});
