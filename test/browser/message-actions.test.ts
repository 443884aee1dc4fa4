import type { Locator, Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { RestClient, type Message } from "../../src/client";
import { chromiumForTests, openChatWith, registerInBrowser, shoot, username } from "../helpers/browser";

const CHATTER = [
  "Who else is coming?",
  "Maya said yes, Tom maybe",
  "I can bring the big blanket",
  "Should we meet at the north gate?",
  "Weather looks good so far ☀️",
  "I'll make sandwiches",
  "Veggie ones too please",
  "Of course 🥪",
  "What time works for everyone?",
  "Anything after 11",
  "Let's say noon then",
];
const LAST_CHATTER = "Does anyone have a frisbee?";

/**
 * Issue 17 in the web client, two people in two Chromium contexts against the real server: reply (and
 * the quote's jump to an original that is not loaded yet), reactions, edit, delete for everyone and for
 * me, forward, an @-mention picked from the list, and the starred-messages sheet.
 */
const baseUrl = inject("serverUrl");
const chromium = chromiumForTests();
const context = () => chromium.context();

const composer = (page: Page) => page.getByRole("textbox", { name: "Message", exact: true });
/** A message by its own text (not the text of a message it quotes). */
const bubble = (page: Page, text: string) => page.locator('[data-testid="message"]').filter({ has: page.locator(".message-text", { hasText: text }) });
const chatRow = (page: Page, name: string) =>
  page.locator('[data-testid="conversation-item"]').filter({ has: page.locator(".conversation-name", { hasText: new RegExp(`^${name}$`) }) });
const session = (page: Page) => page.evaluate(() => JSON.parse(localStorage.getItem("parley.session")!) as { token: string; user: { user_id: string } });

async function send(page: Page, text: string) {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

/** Opens a message's menu from its hover toolbar. */
async function menuOf(message: Locator): Promise<Locator> {
  await message.scrollIntoViewIfNeeded();
  await message.hover();
  await message.getByRole("button", { name: "Message actions" }).click();
  const menu = message.page().getByRole("menu", { name: "Message actions" });
  await menu.waitFor();
  return menu;
}

/** The chip of one emoji under a message, and its count. */
const chip = (message: Locator, emoji: string) => message.locator(`[data-testid="reaction-chip"][data-emoji="${emoji}"]`);
/** 0 when there is no chip; read without waiting, since a chip may go between two looks. */
const chipCount = async (message: Locator, emoji: string) => Number((await chip(message, emoji).locator(".reaction-count").allInnerTexts())[0] ?? 0);

async function history(page: Page, conversationId: string): Promise<Message[]> {
  const { token } = await session(page);
  const rest = new RestClient(baseUrl, () => token);
  return (await rest.call("history", { conversation_id: conversationId, query: { limit: 100 } })).messages;
}

describe("message actions in the web client", () => {
  it("reply (quote jumps to an original older than the loaded page), react, edit with ↑, delete for everyone and for me", async () => {
    const [ana, bo] = [username("ana"), username("bo")];
    const pageA = await registerInBrowser(await context(), baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(await context(), baseUrl, bo, "Bo Chen");
    await openChatWith(pageA, bo);
    const original = "Are you coming to the picnic on Saturday?";
    await send(pageA, original);
    await chatRow(pageB, "Ana Lima").click();
    await bubble(pageB, original).waitFor();

    // Enough later messages that the original falls out of the newest page of history.
    const conversationId = (await chatRow(pageA, "Bo Chen").getAttribute("data-conversation-id"))!;
    const { token } = await session(pageA);
    const rest = new RestClient(baseUrl, () => token);
    // Ordinary chatter (the screenshots show its end), the last line unique for the test to find.
    for (let n = 1; n <= 55; n++) {
      const content = n === 55 ? LAST_CHATTER : CHATTER[n % CHATTER.length]!;
      await rest.call("sendMessage", { conversation_id: conversationId, body: { content, content_type: "text", client_msg_id: `chatter-${n}` } });
    }
    await bubble(pageB, LAST_CHATTER).waitFor();

    // Bo replies to the original from its menu: the composer says what he replies to; Escape would cancel.
    await (await menuOf(bubble(pageB, original))).getByRole("menuitem", { name: "Reply" }).click();
    const bar = pageB.getByTestId("compose-bar");
    await bar.getByText("Replying to Ana Lima").waitFor();
    await expect.poll(() => bar.innerText()).toContain(original);
    await expect.poll(() => composer(pageB).evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    const reply = "Yes! I'll bring the lemonade 🍋";
    await send(pageB, reply);
    await bar.waitFor({ state: "detached" });
    await bubble(pageB, reply).getByTestId("quote").waitFor();

    // Ana reloads: only the newest page is in, the original is not. The quote names "You" and the snippet;
    // clicking it fetches older history, scrolls to the original and highlights it.
    await pageA.reload();
    await chatRow(pageA, "Bo Chen").click();
    const replyAtA = bubble(pageA, reply);
    const quote = replyAtA.getByTestId("quote");
    await quote.waitFor();
    expect(await quote.innerText()).toMatch(/You\s+Are you coming to the picnic on Saturday\?/);
    expect(await bubble(pageA, original).count()).toBe(0);
    await quote.click();
    const originalAtA = bubble(pageA, original);
    await originalAtA.waitFor();
    await expect.poll(() => originalAtA.getAttribute("data-highlighted")).toBe("true");
    await expect.poll(() => originalAtA.evaluate((el) => {
      const r = el.getBoundingClientRect();
      const log = el.closest('[data-testid="message-list"]')!.getBoundingClientRect();
      return r.top >= log.top && r.bottom <= log.bottom;
    })).toBe(true);

    // Ana reacts 👍 from the menu's quick row; Bo (the author) sees the chip, adds his own, and takes it back.
    await (await menuOf(replyAtA)).getByRole("menuitemradio", { name: "React with 👍" }).click();
    const replyAtB = bubble(pageB, reply);
    await expect.poll(() => chipCount(replyAtB, "👍")).toBe(1);
    expect(await chip(replyAtB, "👍").getAttribute("aria-label")).toContain("Ana Lima");
    expect(await chip(replyAtB, "👍").getAttribute("aria-pressed")).toBe("false");
    await chip(replyAtB, "👍").click();
    await expect.poll(() => chipCount(replyAtA, "👍")).toBe(2);
    await expect.poll(() => chip(replyAtB, "👍").getAttribute("aria-pressed")).toBe("true");
    // Ana picks another emoji from the full picker: hers moves from 👍 to 🎉.
    await replyAtA.hover();
    await replyAtA.getByRole("button", { name: "React", exact: true }).click();
    await pageA.getByRole("menu", { name: "React to message" }).getByRole("menuitemradio", { name: "React with 🎉" }).click();
    await expect.poll(async () => [await chipCount(replyAtB, "👍"), await chipCount(replyAtB, "🎉")]).toEqual([1, 1]);
    await replyAtB.scrollIntoViewIfNeeded();
    await shoot(pageB, "reply-react");
    await chip(replyAtB, "👍").click();
    await expect.poll(() => chipCount(replyAtA, "👍")).toBe(0);
    await expect.poll(() => chipCount(replyAtA, "🎉")).toBe(1);

    // Edit: ↑ in the empty composer edits Ana's last message; Escape first cancels and gives the box back.
    await send(pageA, "See you at 5");
    await bubble(pageB, "See you at 5").waitFor();
    await composer(pageA).press("ArrowUp");
    await pageA.getByTestId("compose-bar").getByText("Editing").waitFor();
    expect(await composer(pageA).inputValue()).toBe("See you at 5");
    await composer(pageA).press("Escape");
    await pageA.getByTestId("compose-bar").waitFor({ state: "detached" });
    await expect.poll(() => composer(pageA).inputValue()).toBe("");
    await composer(pageA).press("ArrowUp");
    await composer(pageA).fill("See you at 6");
    await composer(pageA).press("Enter");
    const edited = bubble(pageB, "See you at 6");
    await edited.getByTestId("edited-mark").waitFor();
    expect(await bubble(pageB, "See you at 5").count()).toBe(0);
    await bubble(pageA, "See you at 6").getByTestId("edited-mark").waitFor();

    // Delete for everyone: both sides keep a placeholder, the text is gone from history.
    await send(pageA, "Oops, that was for another chat");
    await bubble(pageB, "Oops, that was for another chat").waitFor();
    await (await menuOf(bubble(pageA, "Oops, that was for another chat"))).getByRole("menuitem", { name: "Delete" }).click();
    const confirm = pageA.getByRole("dialog", { name: "Delete message?" });
    await confirm.getByRole("button", { name: "Delete for everyone" }).click();
    await confirm.waitFor({ state: "detached" });
    await pageA.locator('[data-testid="message"][data-deleted="true"]', { hasText: "You deleted this message" }).waitFor();
    await pageB.locator('[data-testid="message"][data-deleted="true"]', { hasText: "This message was deleted" }).waitFor();
    expect(await bubble(pageB, "Oops").count()).toBe(0);
    expect((await history(pageA, conversationId)).some((m) => m.content.includes("Oops"))).toBe(false);
    await shoot(pageB, "edit-delete");

    // Someone else's message can only be deleted for me: it goes from Bo's screen, Ana keeps it.
    await (await menuOf(bubble(pageB, LAST_CHATTER))).getByRole("menuitem", { name: "Delete" }).click();
    const mine = pageB.getByRole("dialog", { name: "Delete message?" });
    expect(await mine.getByRole("button", { name: "Delete for everyone" }).count()).toBe(0);
    await mine.getByRole("button", { name: "Delete for me" }).click();
    await bubble(pageB, LAST_CHATTER).waitFor({ state: "detached" });
    expect(await bubble(pageA, LAST_CHATTER).count()).toBe(1);
  });

  it("forward into a group (marked Forwarded), an @-mention picked from the list, and a starred message opened from the sheet", async () => {
    const [ana, bo] = [username("ana"), username("bo")];
    const pageA = await registerInBrowser(await context(), baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(await context(), baseUrl, bo, "Bo Chen");

    await pageA.getByRole("button", { name: "New group" }).click();
    await pageA.getByLabel("Group name").fill("Picnic crew");
    await pageA.getByLabel("Add member by username").fill(bo);
    await pageA.getByRole("button", { name: "Add", exact: true }).click();
    await pageA.getByRole("button", { name: "Create group" }).click();
    await composer(pageA).waitFor();
    await send(pageA, "Welcome to the picnic crew");

    await openChatWith(pageB, ana);
    const tip = "The park gates open at 9, bring sun cream";
    await send(pageB, tip);

    // Ana forwards Bo's message into the group, found with the dialog's search box.
    await chatRow(pageA, "Bo Chen").click();
    await (await menuOf(bubble(pageA, tip))).getByRole("menuitem", { name: "Forward" }).click();
    const dialog = pageA.getByRole("dialog", { name: "Forward message" });
    await dialog.getByLabel("Search conversations").fill("picnic");
    await expect.poll(() => dialog.getByRole("checkbox").count()).toBe(1);
    await dialog.getByRole("checkbox", { name: "Picnic crew" }).check();
    await dialog.getByText("1 of 5 selected").waitFor();
    await shoot(pageA, "forward");
    await dialog.getByRole("button", { name: "Forward" }).click();
    await dialog.waitFor({ state: "detached" });

    await chatRow(pageB, "Picnic crew").click();
    const forwarded = bubble(pageB, tip);
    await forwarded.getByTestId("forwarded").filter({ hasText: /^Forwarded$/ }).waitFor();
    expect(await forwarded.getAttribute("data-own")).toBe("false");

    // A mention: "@Bo" opens the member list, Enter picks him; text typed before it moves the offset.
    await chatRow(pageA, "Picnic crew").click();
    await composer(pageA).pressSequentially("@Bo");
    const list = pageA.getByRole("listbox", { name: "Mention a member" });
    await list.getByRole("option", { name: /Bo Chen/ }).waitFor();
    await composer(pageA).press("Enter");
    await list.waitFor({ state: "detached" });
    expect(await composer(pageA).inputValue()).toBe("@Bo Chen ");
    await composer(pageA).pressSequentially("can you bring the blanket?");
    await composer(pageA).press("Home");
    await composer(pageA).pressSequentially("Hey ");
    await composer(pageA).press("Enter");
    const mentionAtB = bubble(pageB, "can you bring the blanket?").getByTestId("mention");
    await mentionAtB.waitFor();
    expect(await mentionAtB.innerText()).toBe("@Bo Chen");
    expect(await mentionAtB.getAttribute("class")).toContain("mention-me");
    const groupId = (await chatRow(pageA, "Picnic crew").getAttribute("data-conversation-id"))!;
    const boId = (await session(pageB)).user.user_id;
    const stored = (await history(pageA, groupId)).find((m) => m.content === "Hey @Bo Chen can you bring the blanket?");
    expect(stored?.mentions).toEqual([{ user_id: boId, offset: 4, length: 8 }]);

    // Bo stars the forwarded tip; the starred sheet lists it and opens the group at it.
    await (await menuOf(forwarded)).getByRole("menuitem", { name: "Star", exact: true }).click();
    await forwarded.getByTestId("star-mark").waitFor();
    await chatRow(pageB, "Ana Lima").click();
    await pageB.getByRole("button", { name: "Starred messages" }).click();
    const sheet = pageB.getByRole("dialog", { name: "Starred messages" });
    const item = sheet.getByTestId("starred-item").filter({ hasText: tip });
    await item.waitFor();
    expect(await item.innerText()).toContain("Picnic crew");
    await shoot(pageB, "starred");
    await item.getByRole("button").first().click();
    await sheet.waitFor({ state: "detached" });
    await pageB.getByRole("heading", { name: "Picnic crew" }).waitFor();
    await expect.poll(() => bubble(pageB, tip).getAttribute("data-highlighted")).toBe("true");
  });
});
