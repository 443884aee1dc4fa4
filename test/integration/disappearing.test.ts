import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bytesKey } from "../../src/media/records";
import { Limits, type Message } from "../../src/protocol";
import { archiveBucket, archivePrefix } from "../helpers/archiveFaults";
import { api, directConversation, quickUsers, text } from "../helpers/client";
import { png, upload } from "../helpers/media";
import { conversationStub, runAlarms, taskDueAt, untilAlarmDone } from "../helpers/objects";

const DAY = Limits.disappearingChoicesMs[1]!;

/** As if the messages' time had come: their ends moved to the past (the server's clock is not mocked). */
async function comeDue(conv: string, table: "messages" | "archived_expiry", seqs: number[]) {
  await runInDurableObject(conversationStub(conv), (_o, state) => {
    for (const seq of seqs) state.storage.sql.exec(`UPDATE ${table} SET expires_at = ? WHERE conversation_id = ? AND seq = ?`, Date.now() - 1, conv, seq);
  });
  await taskDueAt(conversationStub(conv), "expire", Date.now(), conv);
}

async function history(conv: string, token: string): Promise<Message[]> {
  return (await api("GET", `/api/v1/conversations/${conv}/messages?limit=100`, { token })).body.messages;
}

describe("disappearing messages", () => {
  it("a timer either person sets; messages sent under it are erased on time by the alarm, text and media, with no traffic", async () => {
    const [ana, bo] = await quickUsers(2, "dis");
    const conv = await directConversation(ana!, bo!);
    const path = `/api/v1/conversations/${conv}`;
    expect((await api("PATCH", path, { token: bo!.token, body: { disappearing_ms: 1_000 } })).status).toBe(400);
    const set = await api("PATCH", path, { token: bo!.token, body: { disappearing_ms: DAY } });
    expect(set.status).toBe(200);
    expect(set.body.conversation.disappearing_ms).toBe(DAY);

    const said = await api("POST", `${path}/messages`, { token: ana!.token, body: text("the code is 7788", "t1") });
    const photo = await upload(ana!, png(32, 32), "image/png", "p.png");
    const pic = await api("POST", `${path}/messages`, { token: ana!.token, body: { content: "", content_type: "image", client_msg_id: "p1", media_id: photo } });
    let rows = await history(conv, bo!.token);
    const sent = rows.find((m) => m.seq === said.body.seq)!;
    expect(sent.expires_at).toBe(sent.timestamp + DAY);
    expect(JSON.parse(rows.find((m) => m.content_type === "system" && m.content.includes("disappearing"))!.content)).toMatchObject({
      event: "disappearing_changed",
      actor: bo!.user.user_id,
      ms: DAY,
    });

    const search = async () => (await api("GET", `/api/v1/conversations/${conv}/search?q=7788`, { token: bo!.token })).body.messages as Message[];
    expect((await search()).map((m) => m.seq)).toEqual([said.body.seq]);

    // Their time comes; nobody sends anything: the conversation's alarm erases them.
    await comeDue(conv, "messages", [said.body.seq, pic.body.seq]);
    const stub = conversationStub(conv);
    const row = (seq: number) =>
      runInDurableObject(stub, (_o, state) =>
        state.storage.sql.exec<{ content: string; media: string | null }>("SELECT content, media FROM messages WHERE conversation_id = ? AND seq = ?", conv, seq).one(),
      );
    await untilAlarmDone(stub, async () => (await row(said.body.seq)).content === "" && (await env.MEDIA.head(bytesKey(photo))) === null);
    expect(await row(said.body.seq)).toEqual({ content: "", media: null });
    expect((await row(pic.body.seq)).media).toBeNull();
    // History keeps the seq (a tombstone, still carrying its end, so clients show nothing).
    rows = await history(conv, bo!.token);
    const tombstone = rows.find((m) => m.seq === said.body.seq)!;
    expect(tombstone).toMatchObject({ content: "", deleted: true });
    expect(tombstone.expires_at).toBeLessThanOrEqual(Date.now());

    // Search no longer finds it, and its index holds its text no more (read in storage).
    expect(await search()).toEqual([]);
    const indexed = await runInDurableObject(stub, (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM search_text WHERE conversation_id = ? AND seq = ?", conv, said.body.seq).one().n,
    );
    expect(indexed).toBe(0);

    // Turned off: what is sent next stays.
    expect((await api("PATCH", path, { token: ana!.token, body: { disappearing_ms: 0 } })).status).toBe(200);
    const kept = await api("POST", `${path}/messages`, { token: ana!.token, body: text("this one stays", "t2") });
    rows = await history(conv, bo!.token);
    expect(rows.find((m) => m.seq === kept.body.seq)!.expires_at).toBeUndefined();
  });

  it("erases a disappearing message from the archive (R2) on time", async () => {
    const [ana, bo] = await quickUsers(2, "disa");
    const conv = await directConversation(ana!, bo!);
    const path = `/api/v1/conversations/${conv}`;
    expect((await api("PATCH", path, { token: ana!.token, body: { disappearing_ms: DAY } })).status).toBe(200);
    const secret = await api("POST", `${path}/messages`, { token: ana!.token, body: text("archived secret 4455", "s1") });
    expect((await api("PATCH", path, { token: ana!.token, body: { disappearing_ms: 0 } })).status).toBe(200);
    for (let i = 0; i < 130; i++) await api("POST", `${path}/messages`, { token: ana!.token, body: text(`filler ${i}`, `f${i}`) });
    const stub = conversationStub(conv);
    const archivedSeq = () =>
      runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ a: number }>("SELECT archived_seq AS a FROM conversations WHERE conversation_id = ?", conv).one().a);
    await runAlarms(stub, async () => (await archivedSeq()) >= secret.body.seq, 40);
    expect(await archivedSeq()).toBeGreaterThanOrEqual(secret.body.seq);
    const segments = async () => {
      const listed = await archiveBucket.list({ prefix: archivePrefix(conv) });
      return (await Promise.all(listed.objects.map(async (o) => (await archiveBucket.get(o.key))!.text()))).join("\n");
    };
    expect(await segments()).toContain("4455");

    await comeDue(conv, "archived_expiry", [secret.body.seq]);
    await untilAlarmDone(stub, async () => !(await segments()).includes("4455"));
    const oldest: Message[] = (await api("GET", `${path}/messages?after=0&limit=10`, { token: bo!.token })).body.messages;
    expect(oldest.find((m) => m.seq === secret.body.seq)).toMatchObject({ content: "", deleted: true });
  });
});
