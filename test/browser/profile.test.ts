import type { Locator, Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import { chromiumForTests, openChatWith, registerInBrowser, shoot, username } from "../helpers/browser";
import { naturalWidth, sunsetPng } from "../helpers/images";

/**
 * Issue 18's profiles in the web client, two people in two Chromium contexts against the real server:
 * Ana sets a photo, a new name and an "about" in Settings; Bo sees the photo in his chat list and
 * the chat's header, and the about under her name. Ana hides her photo from everyone but her
 * contacts (Bo is not one): Bo's next look shows her initials. A group photo reaches every member.
 */
const baseUrl = inject("serverUrl");
const chromium = chromiumForTests();
const context = () => chromium.context();

const composer = (page: Page) => page.getByRole("textbox", { name: "Message", exact: true });
const settingsDialog = (page: Page) => page.getByRole("dialog", { name: "Settings" });
const chatRow = (page: Page, name: string) =>
  page.locator('[data-testid="conversation-item"]').filter({ has: page.locator(".conversation-name", { hasText: new RegExp(`^${name}$`) }) });

async function openSettings(page: Page) {
  await page.getByRole("button", { name: "Settings" }).click();
  await settingsDialog(page).waitFor();
  await settingsDialog(page).getByRole("switch", { name: "Share my last seen", disabled: false }).waitFor();
}

/** The photo in an avatar, once loaded (its decoded width), or 0 while it shows initials. */
async function photoWidth(avatarHost: Locator): Promise<number> {
  const img = avatarHost.getByTestId("avatar-photo");
  return (await img.count()) === 0 ? 0 : naturalWidth(img.first());
}

describe("profiles in the web client", () => {
  it("a profile photo, name and about set in Settings show in the other person's list and chat header; hidden by privacy, they go", async () => {
    const [ana, bo] = [username("ana"), username("bo")];
    const pageB = await registerInBrowser(await context(), baseUrl, bo, "Bo Chen");
    const pageA = await registerInBrowser(await context(), baseUrl, ana, "Ana");
    // Bo writes to Ana: she is not his contact's contact (he started it), so her "contacts" won't include him.
    await openChatWith(pageB, ana);
    await composer(pageB).fill("Hi Ana, Bo here");
    await composer(pageB).press("Enter");
    await chatRow(pageA, "Bo Chen").waitFor();

    // Ana's profile: a photo, her full name, an about.
    await openSettings(pageA);
    const dialog = settingsDialog(pageA);
    await dialog.getByTestId("profile-photo-input").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: sunsetPng(320, 320) });
    await dialog.getByRole("button", { name: "Change photo" }).waitFor();
    await expect.poll(() => photoWidth(dialog.locator(".profile-photo-row"))).toBeGreaterThan(0);
    await dialog.getByLabel("Name", { exact: true }).fill("Ana Lima");
    await dialog.getByLabel("About", { exact: true }).fill("Climbing all weekend");
    await dialog.getByRole("button", { name: "Save", exact: true }).click();
    await dialog.getByRole("status").filter({ hasText: "Saved" }).waitFor();
    await expect.poll(() => pageA.getByTestId("current-user").innerText()).toBe("Ana Lima");
    await shoot(pageA, "profile");
    await pageA.keyboard.press("Escape");

    // Bo sees it after a reload (a profile is fetched again when he opens the app): the list row and the header.
    await pageB.reload();
    await chatRow(pageB, "Ana Lima").waitFor();
    await expect.poll(() => photoWidth(chatRow(pageB, "Ana Lima"))).toBeGreaterThan(0);
    await chatRow(pageB, "Ana Lima").click();
    const header = pageB.locator(".chat-header");
    await expect.poll(() => photoWidth(header)).toBeGreaterThan(0);
    await expect.poll(() => header.getByTestId("contact-about").innerText()).toBe("Climbing all weekend");
    await shoot(pageB, "profile-photo-chat");

    // Ana shows her photo to her contacts only, and her about to nobody: Bo (who wrote to her) is not one.
    await openSettings(pageA);
    await settingsDialog(pageA).getByLabel("Who sees my profile photo").selectOption("contacts");
    await settingsDialog(pageA).getByLabel("Who sees my about").selectOption("nobody");
    await expect.poll(() => settingsDialog(pageA).getByLabel("Who sees my about").isEnabled()).toBe(true);
    await pageA.keyboard.press("Escape");
    await pageB.reload();
    await chatRow(pageB, "Ana Lima").waitFor();
    await chatRow(pageB, "Ana Lima").click();
    await pageB.locator(".chat-header").waitFor();
    // The profile came back without the photo and the about: initials, no about line.
    await expect.poll(() => chatRow(pageB, "Ana Lima").locator(".avatar").innerText()).toBe("AL");
    expect(await photoWidth(chatRow(pageB, "Ana Lima"))).toBe(0);
    expect(await pageB.locator(".chat-header").getByTestId("contact-about").count()).toBe(0);
  });

  it("a group photo set in Group info reaches every member's list, and its change is a system message", async () => {
    const [ana, bo] = [username("gana"), username("gbo")];
    const pageB = await registerInBrowser(await context(), baseUrl, bo, "Bo Chen");
    const pageA = await registerInBrowser(await context(), baseUrl, ana, "Ana Lima");
    await pageA.getByRole("button", { name: "New group" }).click();
    await pageA.getByLabel("Group name").fill("Climbers");
    await pageA.getByLabel("Add member by username").fill(bo);
    await pageA.getByRole("button", { name: "Add", exact: true }).click();
    await pageA.getByRole("button", { name: "Create group" }).click();
    await composer(pageA).waitFor();
    await composer(pageA).fill("Who's in for Saturday?");
    await composer(pageA).press("Enter");
    await chatRow(pageB, "Climbers").waitFor();

    await pageA.getByRole("button", { name: "Group info" }).click();
    const info = pageA.getByRole("dialog", { name: "Group info" });
    await info.getByTestId("group-photo-input").setInputFiles({ name: "crag.png", mimeType: "image/png", buffer: sunsetPng(240, 240) });
    await info.getByRole("button", { name: "Remove photo" }).waitFor();
    await pageA.keyboard.press("Escape");
    await pageA.getByTestId("system-message").filter({ hasText: "You changed the group photo" }).waitFor();
    // Bo's list follows the system message, live.
    await expect.poll(() => photoWidth(chatRow(pageB, "Climbers")), { timeout: 10_000 }).toBeGreaterThan(0);
  });
});
