import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { MUTED_FOREVER, RestClient, type ConversationSummary } from "../../src/client";
import { chromiumForTests, openChatWith, registerInBrowser, shoot, username } from "../helpers/browser";

/**
 * Issue 18's chat settings in the web client, two people in two Chromium contexts against the real
 * server: a chat's menu in the list (by mouse and by keyboard), mute with its icon, archive and the
 * chat coming back with a new message, pin with its icon, and mark as unread with its dot.
 */
const baseUrl = inject("serverUrl");
const chromium = chromiumForTests();
const context = () => chromium.context();

const composer = (page: Page) => page.getByRole("textbox", { name: "Message", exact: true });
const mainList = (page: Page) => page.getByRole("navigation", { name: "Conversations" });
const chatRow = (page: Page, name: string) =>
  page.locator('[data-testid="conversation-item"]').filter({ has: page.locator(".conversation-name", { hasText: new RegExp(`^${name}$`) }) });
const entry = (page: Page, name: string) => page.locator("li.conversation-entry").filter({ has: chatRow(page, name) });
const session = (page: Page) => page.evaluate(() => JSON.parse(localStorage.getItem("parley.session")!) as { token: string });

/** What the server says of the user's chats (archived ones too). */
async function serverList(page: Page): Promise<ConversationSummary[]> {
  const { token } = await session(page);
  const rest = new RestClient(baseUrl, () => token);
  const [main, archived] = await Promise.all(["false", "true"].map((archived) => rest.call("listConversations", { query: { archived } as never })));
  return [...main!.conversations, ...archived!.conversations];
}

async function openMenu(page: Page, name: string) {
  await entry(page, name).hover();
  await entry(page, name).getByRole("button", { name: "Chat actions" }).click();
  const menu = page.getByRole("menu", { name: "Chat actions" });
  await menu.waitFor();
  return menu;
}

describe("chat list settings in the web client", () => {
  it("mutes, archives (a new message brings it back), pins and marks unread from the chat's menu, by mouse and keyboard", async () => {
    const [ana, bo] = [username("ana"), username("bo")];
    const pageA = await registerInBrowser(await context(), baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(await context(), baseUrl, bo, "Bo Chen");
    await openChatWith(pageA, bo);
    await composer(pageA).fill("Are you free tonight?");
    await composer(pageA).press("Enter");
    await chatRow(pageB, "Ana Lima").waitFor();

    // Mute, by mouse: the menu offers 8 hours, a week and always.
    let menu = await openMenu(pageB, "Ana Lima");
    await expect.poll(() => menu.getByRole("menuitem").allInnerTexts()).toEqual(["Mute for 8 hours", "Mute for 1 week", "Mute always", "Pin", "Mark as read", "Archive"]);
    await shoot(pageB, "chat-list-menu");
    await menu.getByRole("menuitem", { name: "Mute always" }).click();
    await chatRow(pageB, "Ana Lima").getByTestId("muted-icon").waitFor();
    await expect.poll(async () => (await serverList(pageB))[0]?.muted_until).toBe(MUTED_FOREVER);
    // Ana's side is untouched.
    await expect.poll(async () => (await serverList(pageA))[0]?.muted_until).toBeNull();

    // Archive, by keyboard: Tab from the row reaches its menu button; End is the last item.
    await chatRow(pageB, "Ana Lima").focus();
    await pageB.keyboard.press("Tab");
    await expect.poll(() => pageB.locator(":focus").getAttribute("aria-label")).toBe("Chat actions");
    await pageB.keyboard.press("Enter");
    menu = pageB.getByRole("menu", { name: "Chat actions" });
    await expect.poll(() => pageB.locator(":focus").innerText()).toBe("Unmute");
    await pageB.keyboard.press("End");
    await expect.poll(() => pageB.locator(":focus").innerText()).toBe("Archive");
    await pageB.keyboard.press("Enter");
    await expect.poll(() => mainList(pageB).locator('[data-testid="conversation-item"]').count()).toBe(0);
    await pageB.getByRole("button", { name: "Archived (1)" }).waitFor();
    await expect.poll(async () => (await serverList(pageB))[0]?.archived).toBe(true);

    // A new message from Ana brings it back to the main list, still muted.
    await composer(pageA).fill("Dinner at 8?");
    await composer(pageA).press("Enter");
    await chatRow(pageB, "Ana Lima").waitFor();
    expect(await pageB.getByRole("button", { name: /^Archived/ }).count()).toBe(0);
    await chatRow(pageB, "Ana Lima").getByTestId("muted-icon").waitFor();

    // Pin: its icon, and the server has it.
    await (await openMenu(pageB, "Ana Lima")).getByRole("menuitem", { name: "Pin" }).click();
    await chatRow(pageB, "Ana Lima").getByTestId("pinned-icon").waitFor();
    await expect.poll(async () => (await serverList(pageB))[0]?.pinned_at).not.toBeNull();

    // Read (by opening it), then marked unread again: the dot shows, though nothing new arrived.
    await chatRow(pageB, "Ana Lima").click();
    await expect.poll(async () => (await serverList(pageB))[0]?.unread_count).toBe(0);
    await pageB.goBack();
    await (await openMenu(pageB, "Ana Lima")).getByRole("menuitem", { name: "Mark as unread" }).click();
    await chatRow(pageB, "Ana Lima").getByTestId("unread-dot").waitFor();
    await expect.poll(async () => (await serverList(pageB))[0]?.marked_unread).toBe(true);
  });

  it("opens a chat at its first unread message, under an \"N unread messages\" divider", async () => {
    const [ana, bo] = [username("ana"), username("bo")];
    const pageA = await registerInBrowser(await context(), baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(await context(), baseUrl, bo, "Bo Chen");
    await openChatWith(pageA, bo);
    await composer(pageA).fill("Morning!");
    await composer(pageA).press("Enter");
    const conversationId = (await chatRow(pageA, "Bo Chen").getAttribute("data-conversation-id"))!;
    await chatRow(pageB, "Ana Lima").waitFor();
    const { token } = await session(pageA);
    const anaRest = new RestClient(baseUrl, () => token);
    const say = async (content: string) =>
      anaRest.call("sendMessage", { conversation_id: conversationId, body: { content, content_type: "text", client_msg_id: crypto.randomUUID() } });
    for (let i = 1; i <= 20; i++) await say(`Earlier news ${i}`);
    // Bo reads everything so far, and leaves the chat.
    await expect.poll(() => chatRow(pageB, "Ana Lima").getByTestId("unread-badge").innerText()).toBe("21");
    await chatRow(pageB, "Ana Lima").click();
    await pageB.locator('[data-testid="message"]', { hasText: "Earlier news 20" }).first().waitFor();
    await expect.poll(async () => (await serverList(pageB))[0]?.unread_count).toBe(0);
    // The first time, all 21 were unread ("Morning!" and the news).
    expect(await pageB.getByTestId("unread-divider").innerText()).toBe("21 unread messages");
    await pageB.goBack();
    for (let i = 1; i <= 25; i++) await say(`Later news ${i}`);
    await expect.poll(() => chatRow(pageB, "Ana Lima").getByTestId("unread-badge").innerText()).toBe("25");

    // Opened again: the divider sits above the first unread message, and the log shows it, not the bottom.
    await chatRow(pageB, "Ana Lima").click();
    const divider = pageB.getByTestId("unread-divider");
    await divider.waitFor();
    expect(await divider.innerText()).toBe("25 unread messages");
    const next = divider.locator("xpath=following-sibling::*[1]");
    expect(await next.innerText()).toContain("Later news 1");
    const [log, line] = await Promise.all([pageB.getByTestId("message-list").boundingBox(), divider.boundingBox()]);
    expect(line!.y).toBeGreaterThanOrEqual(log!.y);
    expect(line!.y + line!.height).toBeLessThanOrEqual(log!.y + log!.height);
    // The newest message is below the screen: the log did not open at the bottom.
    const newest = await pageB.locator('[data-testid="message"]', { hasText: "Later news 25" }).first().boundingBox();
    expect(newest!.y).toBeGreaterThan(log!.y + log!.height);
  });
});
