import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { ParleyClient, RestClient } from "../../src/client";
import { chromiumForTests, message, openChatWith, registerInBrowser, shoot, username } from "../helpers/browser";
import { until } from "../helpers/sdk";

const baseUrl = inject("serverUrl");
const chromium = chromiumForTests();
const context = (viewport?: { width: number; height: number }) => chromium.context({ viewport });

const composer = (page: Page) => page.getByRole("textbox", { name: "Message", exact: true });
const own = (page: Page, text: string, state: string) =>
  page.locator(`[data-testid="message"][data-own="true"][data-state="${state}"]`, { hasText: text });

async function send(page: Page, text: string) {
  await composer(page).fill(text);
  await composer(page).press("Enter");
}

describe("the web client in Chromium", () => {
  it("two people chat: ticks go delivered then read, typing shows and clears, offline writes arrive once, presence follows", async () => {
    const [ctxA, ctxB] = [await context(), await context()];
    const ana = username("ana");
    const bo = username("bo");
    const login = await ctxA.newPage();
    const served = await login.goto(baseUrl);
    expect(served!.headers()["content-security-policy"]).toContain("script-src 'self'");
    await login.getByRole("button", { name: "Log in" }).waitFor();
    await shoot(login, "login");
    await login.close();

    const pageA = await registerInBrowser(ctxA, baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(ctxB, baseUrl, bo, "Bo Chen");

    // Ana starts the chat and writes; Bo's list shows it unread, and Ana's tick goes to delivered.
    await openChatWith(pageA, bo);
    await send(pageA, "Hi Bo! Are we still on for Friday?");
    const itemAtBo = pageB.locator('[data-testid="conversation-item"]', { hasText: "Ana Lima" });
    await itemAtBo.locator('[data-testid="unread-badge"]', { hasText: "1" }).waitFor();
    await own(pageA, "still on for Friday", "delivered").waitFor();

    // Bo opens the chat: the message is read, and Ana sees it.
    await itemAtBo.click();
    await message(pageB, "still on for Friday").waitFor();
    await own(pageA, "still on for Friday", "read").waitFor();
    await expect.poll(() => itemAtBo.locator('[data-testid="unread-badge"]').isVisible()).toBe(false);

    // Presence: each sees the other online.
    await pageA.getByTestId("chat-status").filter({ hasText: /^online$/ }).waitFor();

    // Typing shows while Bo types, and clears when he sends.
    await composer(pageB).pressSequentially("Yes! ", { delay: 20 });
    await pageA.getByTestId("typing-indicator").waitFor();
    await pageA.getByTestId("chat-status").filter({ hasText: "typing" }).waitFor();
    await composer(pageB).pressSequentially("7pm at the usual place?", { delay: 10 });
    await composer(pageB).press("Enter");
    await message(pageA, "7pm at the usual place?").waitFor();
    await pageA.getByTestId("typing-indicator").waitFor({ state: "hidden" });
    await send(pageA, "Perfect, see you there 🎉");
    await own(pageA, "see you there", "read").waitFor();
    await shoot(pageA, "chat-desktop");

    // Bo loses his connection, writes, and comes back: Ana gets the message exactly once.
    await ctxB.setOffline(true);
    await pageB.getByTestId("connection-banner").filter({ hasText: /offline/i }).waitFor();
    await send(pageB, "Written on the train, no signal");
    await own(pageB, "no signal", "pending").waitFor();
    await shoot(pageB, "offline");
    await ctxB.setOffline(false);
    await own(pageB, "no signal", "read").waitFor();
    await pageB.getByTestId("connection-banner").waitFor({ state: "hidden" });
    await expect.poll(() => message(pageA, "no signal").count()).toBe(1);

    // The outbox is in IndexedDB: written offline, page closed, app opened again → sent once.
    await ctxB.setOffline(true);
    await send(pageB, "Sent after a reload");
    await own(pageB, "after a reload", "pending").waitFor();
    await pageB.close();
    await ctxB.setOffline(false);
    const pageB2 = await ctxB.newPage();
    await pageB2.goto(baseUrl);
    await message(pageA, "after a reload").waitFor();
    await pageB2.locator('[data-testid="conversation-item"]', { hasText: "Ana Lima" }).click();
    await own(pageB2, "after a reload", "read").waitFor();
    const token = await pageA.evaluate(() => JSON.parse(localStorage.getItem("parley.session")!).token as string);
    const conversationId = await pageA.locator('[data-testid="conversation-item"]').first().getAttribute("data-conversation-id");
    const history: { messages: { content: string }[] } = await (
      await fetch(`${baseUrl}/api/v1/conversations/${conversationId}/messages?limit=100`, { headers: { Authorization: `Bearer ${token}` } })
    ).json();
    const contents = history.messages.map((m) => m.content);
    expect(contents.filter((c) => c === "Written on the train, no signal")).toHaveLength(1);
    expect(contents.filter((c) => c === "Sent after a reload")).toHaveLength(1);
    expect(await message(pageA, "after a reload").count()).toBe(1);

    // Bo closes the app: Ana sees "last seen".
    await pageB2.close();
    await pageA.getByTestId("chat-status").filter({ hasText: /last seen/ }).waitFor({ timeout: 30_000 });
    await pageA.locator('[data-testid="presence-dot"][data-status="offline"]').first().waitFor({ state: "attached" });
  });

  it("a group: created from the list, members managed, per-member receipts, and a phone-sized layout", async () => {
    const [ctxA, ctxB, ctxC] = [await context(), await context(), await context({ width: 390, height: 844 })];
    const [ana, bo, cy] = [username("ana"), username("bo"), username("cy")];
    const pageA = await registerInBrowser(ctxA, baseUrl, ana, "Ana Lima");
    const pageB = await registerInBrowser(ctxB, baseUrl, bo, "Bo Chen");
    const pageC = await registerInBrowser(ctxC, baseUrl, cy, "Cy Okafor");

    await pageA.getByRole("button", { name: "New group" }).click();
    await pageA.getByLabel("Group name").fill("Weekend trip");
    await pageA.getByLabel("Add member by username").fill(bo);
    await pageA.getByRole("button", { name: "Add", exact: true }).click();
    await pageA.getByRole("button", { name: "Create group" }).click();
    await composer(pageA).waitFor();
    await send(pageA, "Who's bringing the tent?");
    await message(pageB, "bringing the tent").or(pageB.locator('[data-testid="conversation-item"]', { hasText: "Weekend trip" })).first().waitFor();

    // Ana adds Cy from the group info panel.
    await pageA.getByRole("button", { name: "Group info" }).click();
    await pageA.getByLabel("Add member by username").fill(cy);
    await pageA.getByRole("button", { name: "Add member", exact: true }).click();
    await pageA.getByText("Cy Okafor").first().waitFor();
    // As an admin, Ana sees who joined, newest first.
    const activity = pageA.getByRole("list", { name: "Member activity" }).getByTestId("member-change");
    await expect.poll(() => activity.allTextContents()).toEqual([
      expect.stringMatching(/^You added Cy Okafor/),
      expect.stringMatching(/^You created the group with Bo Chen/),
      expect.stringMatching(/^You created the group(today|$)/),
    ]);
    await shoot(pageA, "group-info");
    await pageA.keyboard.press("Escape");

    // Everyone opens the group; Ana's message is read by Bo (Cy joined after it was sent).
    await pageB.locator('[data-testid="conversation-item"]', { hasText: "Weekend trip" }).click();
    await pageC.locator('[data-testid="conversation-item"]', { hasText: "Weekend trip" }).click();
    await send(pageC, "I can bring mine ⛺");
    await message(pageA, "bring mine").waitFor();
    await message(pageB, "bring mine").waitFor();
    await shoot(pageC, "chat-phone");
    // Bo is a member, not an admin: his group info lists the members but not their comings and goings.
    await pageB.getByRole("button", { name: "Group info" }).click();
    await pageB.getByRole("list", { name: "Members" }).getByText("Cy Okafor").waitFor();
    expect(await pageB.getByRole("heading", { name: "Member activity" }).count()).toBe(0);
    await pageB.keyboard.press("Escape");

    // Message info: per-member delivered/read for Ana's first message.
    await own(pageA, "bringing the tent", "read").waitFor();
    await own(pageA, "bringing the tent", "read").getByTestId("tick").click();
    const info = pageA.getByRole("dialog");
    await info.getByText("Bo Chen").waitFor();
    await info.getByText(/read/i).first().waitFor();
    await shoot(pageA, "message-info");
  });

  it("history: a long chat opens at the newest message and scrolling up loads every older page in order", async () => {
    const [ana, bo] = [username("ana"), username("bo")];
    const a = await ParleyClient.register(baseUrl, { username: ana, password: "correct horse battery", display_name: "Ana Lima" });
    const b = await ParleyClient.register(baseUrl, { username: bo, password: "correct horse battery", display_name: "Bo Chen" });
    const rest = new RestClient(baseUrl, () => a.token);
    const { conversation } = await rest.call("createConversation", { body: { type: "direct", member_ids: [b.user.user_id] } });
    const total = 130;
    for (let n = 1; n <= total; n++) {
      await rest.call("sendMessage", {
        conversation_id: conversation.conversation_id,
        body: { content: `history line ${n}`, content_type: "text", client_msg_id: `h${n}` },
      });
    }
    // Bo's browser is a device that already received everything (else the server replays it all to
    // a new device, and there is nothing to scroll for): receive and acknowledge it from Node first.
    const deviceId = "bo-browser";
    const earlier = new ParleyClient({ baseUrl, token: b.token, user: b.user, deviceId });
    await earlier.start();
    await until([earlier], () => earlier.contiguousSeq(conversation.conversation_id) === total, "the replay");
    const last = earlier.messages(conversation.conversation_id).at(-1)!;
    // Ana's receipts show Bo's acknowledgement once the server has it (the device cursor moves with it).
    await expect
      .poll(async () => (await rest.call("receipts", { conversation_id: conversation.conversation_id, server_msg_id: last.server_msg_id })).receipts[0]?.delivered_at ?? null, { timeout: 15_000 })
      .not.toBeNull();
    earlier.stop();

    const ctx = await context();
    await ctx.addInitScript((id) => localStorage.setItem("parley.device_id", id), deviceId);
    const page = await ctx.newPage();
    await page.goto(baseUrl);
    await page.getByLabel("Username").fill(bo);
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator('[data-testid="conversation-item"]', { hasText: "Ana Lima" }).click();
    const line = (n: number) => page.locator('[data-testid="message"] .message-text', { hasText: new RegExp(`^history line ${n}$`) });
    await line(total).waitFor();
    const shown = () => page.locator('[data-testid="message"]').count();
    expect(await shown()).toBeLessThan(total);

    // Scroll to the top until the first message is there.
    const list = page.getByTestId("message-list");
    const deadline = Date.now() + 30_000;
    while ((await line(1).count()) === 0) {
      if (Date.now() > deadline) throw new Error(`the first page of history never loaded (${await shown()} shown)`);
      await list.evaluate((el) => el.scrollTo({ top: 0 }));
      await page.waitForTimeout(100);
    }
    const seqs = await page.locator('[data-testid="message"]').evaluateAll((els) => els.map((el) => Number(el.getAttribute("data-seq"))));
    const texts = await page.locator('[data-testid="message"] .message-text').allInnerTexts();
    expect(texts).toEqual(Array.from({ length: total }, (_, i) => `history line ${i + 1}`));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(total);
  });

  it("log out all devices: both of Ana's browsers return to the login screen, and her old token stops working", async () => {
    const ana = username("ana");
    const first = await registerInBrowser(await context(), baseUrl, ana, "Ana Lima");
    const second = await (await context()).newPage();
    await second.goto(baseUrl);
    await second.getByLabel("Username").fill(ana);
    await second.getByLabel("Password").fill("correct horse battery");
    await second.getByRole("button", { name: "Log in" }).click();
    await second.getByRole("navigation", { name: "Conversations" }).waitFor();
    const oldToken = await second.evaluate(() => JSON.parse(localStorage.getItem("parley.session")!).token as string);

    await first.getByRole("button", { name: "Settings" }).click();
    await first.getByRole("button", { name: "Log out all devices" }).click();
    await first.getByRole("button", { name: "Log in" }).waitFor();
    // The other browser hears it on its socket (closed with 4003) and signs out by itself.
    await second.getByRole("button", { name: "Log in" }).waitFor();
    const me = await fetch(`${baseUrl}/api/v1/users/me`, { headers: { Authorization: `Bearer ${oldToken}` } });
    expect(me.status).toBe(401);
  });

  it("who can add me: set to nobody, an add arrives as an invitation; joining puts the group in the list, and it can be archived", async () => {
    const ana = username("ana");
    const page = await registerInBrowser(await context(), baseUrl, ana, "Ana Lima");
    await page.getByRole("button", { name: "Settings" }).click();
    const settings = page.getByRole("dialog", { name: "Settings" });
    const choice = settings.getByLabel("Who can add me to groups");
    // Enabled once the account's settings have loaded.
    await expect.poll(() => choice.isDisabled()).toBe(false);
    await choice.selectOption("nobody");
    await expect.poll(() => choice.isDisabled()).toBe(false);
    await settings.getByRole("button", { name: "Close" }).click();

    const bo = await ParleyClient.register(baseUrl, { username: username("bo"), password: "correct horse battery", display_name: "Bo Chen" });
    const anaId = await page.evaluate(() => (JSON.parse(localStorage.getItem("parley.session")!) as { user: { user_id: string } }).user.user_id);
    const created = await new RestClient(baseUrl, () => bo.token).call("createConversation", { body: { type: "group", name: "Book club", member_ids: [anaId] } });
    expect(created.invited).toEqual([anaId]);

    const invitation = page.getByTestId("invitation").filter({ hasText: "Book club" });
    await invitation.waitFor();
    await shoot(page, "invitation");
    await invitation.getByRole("button", { name: "Join" }).click();
    await invitation.waitFor({ state: "detached" });
    const row = page.getByTestId("conversation-item").filter({ hasText: "Book club" });
    await row.waitFor();

    // Archived from the SDK side (one request for many): it leaves the main list for "Archived".
    const anaToken = await page.evaluate(() => JSON.parse(localStorage.getItem("parley.session")!).token as string);
    await new RestClient(baseUrl, () => anaToken).call("archiveMany", {
      body: { conversation_ids: [created.conversation.conversation_id], archived: true },
    });
    await page.reload();
    await page.getByRole("button", { name: "Archived (1)" }).click();
    await page.getByTestId("conversation-item").filter({ hasText: "Book club" }).waitFor();
  });
});
