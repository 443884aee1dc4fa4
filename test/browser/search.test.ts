import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { RestClient } from "../../src/client";
import { chromiumForTests, registerInBrowser, shoot, username } from "../helpers/browser";

/**
 * Search in the web client against the real server: the box in the chat list (chats, people and
 * messages at once) and search in one chat; a message found opens its chat scrolled to it, loading
 * history older than the page on screen.
 */
const baseUrl = inject("serverUrl");
const chromium = chromiumForTests();

const bubble = (page: Page, text: string) => page.locator('[data-testid="message"]').filter({ has: page.locator(".message-text", { hasText: text }) });
const session = (page: Page) => page.evaluate(() => JSON.parse(localStorage.getItem("parley.session")!) as { token: string; user: { user_id: string } });

const CHATTER = [
  "Who is driving on Saturday?",
  "I can take four people",
  "Bring water, the hut is closed",
  "Weather looks clear ☀️",
  "Meet at the station at 7?",
  "Make it 7:30 please",
  "Deal",
];

describe("search in the web client", () => {
  it("finds chats, people and messages from the chat list, and a message in a chat; a result opens the chat at it", async () => {
    const [ana, bo] = [username("ana"), username("bo")];
    const pageA = await registerInBrowser(await chromium.context(), baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(await chromium.context(), baseUrl, bo, "Bo Chen");
    const tess = await new RestClient(baseUrl, () => null).call("register", {
      body: { username: username("tess"), password: "correct horse battery", display_name: "Tess Trailwood" },
    });
    const { token } = await session(pageA);
    const rest = new RestClient(baseUrl, () => token);
    const boId = (await session(pageB)).user.user_id;
    const { conversation } = await rest.call("createConversation", {
      body: { type: "group", name: "Trail runners", member_ids: [boId, tess.user.user_id] },
    });
    const group = conversation.conversation_id;
    const old = "The trail map is in the shared drive";
    await rest.call("sendMessage", { conversation_id: group, body: { content: old, content_type: "text", client_msg_id: "old" } });
    // Enough later messages that the old one is not on the first page the chat shows.
    for (let i = 0; i < 70; i++) {
      const content = CHATTER[i % CHATTER.length]!;
      await rest.call("sendMessage", { conversation_id: group, body: { content, content_type: "text", client_msg_id: `c${i}` } });
    }
    const recent = "Trail shoes or boots for the ridge?";
    await rest.call("sendMessage", { conversation_id: group, body: { content: recent, content_type: "text", client_msg_id: "recent" } });

    // From the chat list: the group by name, Tess by name, both messages.
    await pageB.getByTestId("search-open").click();
    const sheet = pageB.getByRole("dialog", { name: "Search" });
    await sheet.getByRole("searchbox").fill("trail");
    const found = sheet.getByTestId("search-message");
    await expect.poll(() => found.count()).toBe(2);
    expect(await found.first().innerText()).toContain(recent);
    expect(await sheet.getByTestId("search-chat").innerText()).toContain("Trail runners");
    expect(await sheet.getByTestId("search-person").innerText()).toContain("Tess Trailwood");
    await shoot(pageB, "search");

    await found.filter({ hasText: old }).getByRole("button").click();
    await sheet.waitFor({ state: "detached" });
    await pageB.getByRole("heading", { name: "Trail runners" }).waitFor();
    await expect.poll(() => bubble(pageB, old).getAttribute("data-highlighted")).toBe("true");

    // In the chat: only its messages, and a word's start is enough.
    await pageB.getByRole("button", { name: "Search in chat" }).click();
    const inChat = pageB.getByRole("dialog", { name: "Search in Trail runners" });
    await inChat.getByRole("searchbox").fill("ridg");
    await expect.poll(() => inChat.getByTestId("search-message").count()).toBe(1);
    await inChat.getByTestId("search-message").getByRole("button").click();
    await expect.poll(() => bubble(pageB, recent).getAttribute("data-highlighted")).toBe("true");
  });
});
