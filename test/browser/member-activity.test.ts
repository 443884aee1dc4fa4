import { describe, expect, inject, it } from "vitest";
import { ParleyClient, RestClient } from "../../src/client";
import { chromiumForTests, registerInBrowser, username } from "../helpers/browser";

/**
 * A group's member activity in the admin's group info (test/browser/chat.test.ts checks who sees it):
 * more changes than one page, "Show more" for the older ones, and a change made while it is open.
 */
const baseUrl = inject("serverUrl");
const chromium = chromiumForTests();

describe("member activity in group info", () => {
  it("pages back with Show more, and shows a leave as it happens", async () => {
    const page = await registerInBrowser(await chromium.context(), baseUrl, username("ana"), "Ana Lima");
    const token = await page.evaluate(() => JSON.parse(localStorage.getItem("parley.session")!).token as string);
    const ana = new RestClient(baseUrl, () => token);
    const bo = await ParleyClient.register(baseUrl, { username: username("bo"), password: "correct horse battery", display_name: "Bo Chen" });
    const boId = bo.user.user_id;
    const { conversation } = await ana.call("createConversation", { body: { type: "group", name: "Comings and goings", member_ids: [boId] } });
    const id = conversation.conversation_id;
    // Two changes with the group, then twenty: one more than a page in all.
    for (let i = 0; i < 10; i++) {
      await ana.call("removeMember", { conversation_id: id, user_id: boId });
      await ana.call("addMembers", { conversation_id: id, body: { user_ids: [boId] } });
    }

    await page.getByTestId("conversation-item").filter({ hasText: "Comings and goings" }).click();
    await page.getByRole("button", { name: "Group info" }).click();
    const changes = page.getByRole("list", { name: "Member activity" }).getByTestId("member-change");
    await expect.poll(() => changes.count()).toBe(20);
    expect(await changes.first().textContent()).toMatch(/^You added Bo Chen/);
    expect(await changes.nth(1).textContent()).toMatch(/^You removed Bo Chen/);
    await page.getByRole("button", { name: "Show more" }).click();
    await expect.poll(() => changes.count()).toBe(22);
    expect(await changes.nth(20).textContent()).toMatch(/^You created the group with Bo Chen/);
    expect(await changes.nth(21).textContent()).toMatch(/^You created the group(today|$)/);
    expect(await page.getByRole("button", { name: "Show more" }).count()).toBe(0);

    // Bo leaves while it is open: his leave comes first.
    await new RestClient(baseUrl, () => bo.token).call("removeMember", { conversation_id: id, user_id: boId });
    await expect.poll(() => changes.first().textContent()).toMatch(/^Bo Chen left/);
  });
});
