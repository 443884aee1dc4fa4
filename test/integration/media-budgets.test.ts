import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readRecord } from "../../src/media/records";
import { userHome } from "../../src/objects/homes";
import { Limits } from "../../src/protocol";
import { api, createGroup, quickUsers, registerUser, type Account } from "../helpers/client";
import { png, requestUpload, upload } from "../helpers/media";
import { taskDueAt } from "../helpers/objects";

/** Media budgets and access (issue 15): quota, unfinished uploads, and members added later. */

const download = (who: Account, mediaId: string) =>
  exports.default.fetch(`http://parley.test/api/v1/media/${mediaId}`, { headers: { Authorization: `Bearer ${who.token}` } });

describe("media budgets", () => {
  it("counts every granted upload toward the user's quota, and refuses the one that would pass it", async () => {
    const ana = await registerUser("quota");
    const size = Limits.maxDocumentBytes;
    const fit = Math.floor(Limits.mediaQuotaBytes / size);
    // Declared sizes count from the grant: no bytes need to arrive for the quota to hold.
    for (let i = 0; i < fit; i++) {
      const granted = await requestUpload(ana, { content_type: "application/pdf", size, filename: `big-${i}.pdf` });
      expect(granted.status).toBe(201);
    }
    const refused = await requestUpload(ana, { content_type: "application/pdf", size, filename: "one-too-many.pdf" });
    expect([refused.status, refused.body.error.code]).toEqual([413, "media_quota_exceeded"]);
    // Someone else's quota is their own.
    const bo = await registerUser("quota");
    expect((await requestUpload(bo, { content_type: "application/pdf", size, filename: "mine.pdf" })).status).toBe(201);
  });

  it("deletes an upload never completed once its URL has lapsed: its record goes and its size is given back", async () => {
    const ana = await registerUser("lapse");
    const granted = await requestUpload(ana, { content_type: "image/png", size: 1000 });
    const mediaId: string = granted.body.media_id;
    const done = await upload(ana, png(8, 8), "image/png", "kept.png");
    expect(await readRecord(env, mediaId)).not.toBeNull();
    const used = () =>
      runInDurableObject(userHome(env, ana.user.user_id), (_o, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT COALESCE(SUM(size), 0) AS n FROM media_uploads WHERE user_id = ?", ana.user.user_id).one().n,
      );
    const before = await used();
    // As if granted long ago: the alarm the grant booked comes now.
    await runInDurableObject(userHome(env, ana.user.user_id), (_o, state) => {
      state.storage.sql.exec("UPDATE media_uploads SET expires_at = ? WHERE media_id = ?", Date.now() - Limits.unfinishedUploadGraceMs - 1, mediaId);
    });
    await taskDueAt(userHome(env, ana.user.user_id), "uploads", Date.now() + 50);
    await expect.poll(() => readRecord(env, mediaId), { timeout: 10_000 }).toBeNull();
    expect(await used()).toBe(before - 1000);
    expect((await api("POST", `/api/v1/media/${mediaId}/complete`, { token: ana.token })).status).toBe(404);
    // The completed one stays.
    expect((await download(ana, done)).status).toBe(200);
  });

  it("a member added later does not get media sent before they joined; media sent after, they do", async () => {
    const [ana, bo, cy] = await quickUsers(3, "late");
    const group = await createGroup(ana!, [bo!]);
    const send = async (mediaId: string, id: string) =>
      (await api("POST", `/api/v1/conversations/${group}/messages`, { token: ana!.token, body: { content: "", content_type: "image", client_msg_id: id, media_id: mediaId } })).status;
    const before = await upload(ana!, png(16, 16), "image/png", "before.png");
    expect(await send(before, "m1")).toBe(201);
    expect((await api("POST", `/api/v1/conversations/${group}/members`, { token: ana!.token, body: { user_ids: [cy!.user.user_id] } })).status).toBe(200);
    const after = await upload(ana!, png(16, 16), "image/png", "after.png");
    expect(await send(after, "m2")).toBe(201);

    expect((await download(bo!, before)).status).toBe(200);
    expect((await download(cy!, before)).status).toBe(404);
    expect((await api("GET", `/api/v1/media/${before}/url`, { token: cy!.token })).status).toBe(404);
    expect((await download(cy!, after)).status).toBe(200);
  });
});
