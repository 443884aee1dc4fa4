import { describe, expect, inject, it } from "vitest";
import { ParleyApiError } from "../../src/client";
import { sunsetPng } from "../helpers/images";
import { client, directPair, FlakyNetwork, startedClients, until } from "../helpers/sdk";

const baseUrl = inject("serverUrl");
const started = startedClients();

describe("profiles through the SDK against a real server", () => {
  it("a new photo, name and about reach the user's other devices at once and the other person after a reconnect; the photo's URL loads without a token", async () => {
    const { alice, bob } = await directPair(baseUrl);
    const alicePhone = started(client(baseUrl, alice, "alice-phone"));
    const aliceLaptop = started(client(baseUrl, alice, "alice-laptop"));
    await until([aliceLaptop], () => aliceLaptop.connectionState === "open", "Alice's laptop connected");
    const network = new FlakyNetwork();
    const bobPhone = started(client(baseUrl, bob, "bob-phone", { createSocket: network.createSocket }));
    // Bob knows Alice as she was.
    expect(bobPhone.userById(alice.user.user_id)).toBeUndefined();
    await until([bobPhone], () => bobPhone.userById(alice.user.user_id) !== undefined, "Alice's profile");
    expect(bobPhone.userById(alice.user.user_id)!.photo).toBeUndefined();

    const me = await alicePhone.setProfilePhoto(new Blob([sunsetPng(200, 200)], { type: "image/png" }));
    expect(me.photo?.media_id).toMatch(/^md_/);
    const { user, settings } = await alicePhone.updateMe({ display_name: "Alice Photo", about: "On a boat" });
    expect(user).toMatchObject({ display_name: "Alice Photo", about: "On a boat", photo: me.photo });
    expect(settings.photo_visible_to).toBe("everyone");
    expect(alicePhone.profile()).toEqual(user);
    // Her laptop shows it at once (a `profile` frame), not after its copy goes stale.
    await until([aliceLaptop], () => aliceLaptop.profile().about === "On a boat", "the profile on Alice's laptop");
    expect(aliceLaptop.profile()).toEqual(user);
    // Not an image: refused before anything is uploaded.
    await expect(alicePhone.setProfilePhoto(new Blob(["%PDF-1.4"], { type: "application/pdf" }))).rejects.toBeInstanceOf(ParleyApiError);

    // Bob's copy is fresh for a while; after being away he asks again and gets the new profile.
    await until([bobPhone], () => bobPhone.connectionState === "open", "Bob connected");
    let dropped = false;
    const off = bobPhone.on("connection", (state) => (dropped ||= state !== "open"));
    network.cut();
    await until([bobPhone], () => dropped && bobPhone.connectionState === "open", "Bob reconnected");
    off();
    await until([bobPhone], () => bobPhone.userById(alice.user.user_id)?.display_name === "Alice Photo", "Alice's new profile");
    const seen = bobPhone.userById(alice.user.user_id)!;
    expect(seen).toMatchObject({ about: "On a boat", photo: me.photo });
    const url = await bobPhone.photoUrl(seen.photo);
    // The thumbnail, once its job has made it (a JPEG), then the photo itself.
    await expect.poll(async () => (await fetch(url!)).headers.get("content-type"), { timeout: 10_000 }).toBe("image/jpeg");
    const full = await fetch((await bobPhone.mediaUrls(seen.photo!.media_id)).url);
    expect(full.headers.get("content-type")).toBe("image/png");

    // Watching her presence (her chat on screen), Bob sees her next change live.
    bobPhone.subscribePresence([alice.user.user_id]);
    await until([bobPhone], () => bobPhone.presenceOf(alice.user.user_id) !== undefined, "Alice's presence");
    await alicePhone.updateMe({ about: "Ashore" });
    await until([bobPhone], () => bobPhone.userById(alice.user.user_id)?.about === "Ashore", "Alice's change, live");
  });
});
