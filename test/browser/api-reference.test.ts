import { describe, expect, inject, it } from "vitest";
import { chromiumForTests } from "../helpers/browser";

const baseUrl = inject("serverUrl");
// Fails the file if the page's policy blocked anything it loads.
const chromium = chromiumForTests();

describe("the API reference page", () => {
  it("renders every operation of the OpenAPI document in a real browser, from our origin only, under its policy", async () => {
    const context = await chromium.context();
    const page = await context.newPage();
    const elsewhere: string[] = [];
    page.on("request", (r) => void (new URL(r.url()).origin !== new URL(baseUrl).origin && !r.url().startsWith("data:") && elsewhere.push(r.url())));
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    await page.goto(`${baseUrl}/api/docs`);
    const document = (await (await fetch(`${baseUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.values(document.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    const rendered = page.locator(".opblock");
    await expect.poll(() => rendered.count()).toBe(operations);
    // History and send share a path: two operations under it.
    const messages = page.locator(".opblock-summary-path").filter({ hasText: /\/conversations\/\{conversation_id\}\/messages\W*$/ });
    await expect.poll(() => messages.count()).toBe(2);
    expect(elsewhere).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
