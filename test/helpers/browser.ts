/**
 * Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core (never a
 * downloaded browser). `.ci/run` installs it with apt.
 */
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** `args`: more Chromium switches for one test file (a recording for the fake microphone to play, say). */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (see .ci/run)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      // Voice messages: a fake microphone (a beeping tone) that is granted without a prompt.
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      ...args,
    ],
  });
}

/**
 * Where screenshots go: docs/screenshots when PARLEY_SCREENSHOTS=1 (`npm run screenshots`, to
 * refresh the README's pictures), otherwise a scratch directory so `npm test` leaves the tree clean.
 */
export function screenshotDir(): string {
  const dir = process.env.PARLEY_SCREENSHOTS === "1" ? resolve(import.meta.dirname, "../../docs/screenshots") : join(tmpdir(), "parley-screenshots");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshotDir(), `${name}.png`) });
}

let counter = 0;
export function username(prefix: string): string {
  counter += 1;
  return `${prefix}_${counter}${Math.random().toString(36).slice(2, 6)}`.slice(0, 32);
}

/** Registers through the web client's own form and waits for the conversation list. */
export async function registerInBrowser(context: BrowserContext, baseUrl: string, name: string, displayName: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(baseUrl);
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Display name").fill(displayName);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account", exact: true }).click();
  await page.getByRole("navigation", { name: "Conversations" }).waitFor();
  return page;
}

export const message = (page: Page, text: string) => page.locator('[data-testid="message"]', { hasText: text });

/**
 * One Chromium for a test file, launched before its tests and closed after them, handing out
 * desktop-sized (or given-size) contexts. Every context reports what the Content-Security-Policy
 * (web/public/_headers) blocked, and the file fails if anything was: the app must need nothing it forbids.
 */
export function chromiumForTests(options: { args?: string[] } = {}) {
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const cspViolations: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium(options.args);
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    expect(cspViolations).toEqual([]);
  });
  return {
    async context(options: { viewport?: { width: number; height: number }; grant?: { permissions: string[]; origin: string } } = {}) {
      const c = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, locale: "en-GB", timezoneId: "UTC" });
      c.on("console", (m) => {
        if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
      });
      if (options.grant) await c.grantPermissions(options.grant.permissions, { origin: options.grant.origin });
      contexts.push(c);
      return c;
    },
  };
}

/** Starts (or opens) the direct chat with `username` from the list, and waits for its composer. */
export async function openChatWith(page: Page, username: string): Promise<void> {
  await page.getByRole("button", { name: "New chat" }).click();
  await page.getByLabel("Username").fill(username);
  await page.getByRole("button", { name: "Start chat" }).click();
  await page.getByRole("textbox", { name: "Message", exact: true }).waitFor();
}
