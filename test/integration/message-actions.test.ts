import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bytesKey, thumbnailKey } from "../../src/media/records";
import { userHome } from "../../src/objects/homes";
import type { ErrorFrame, Message, MessageAckFrame, NewMessageFrame } from "../../src/protocol";
import { archiveBucket, archivePrefix } from "../helpers/archiveFaults";
import { api, connect, createGroup, directConversation, quickUsers, sendAndAck, text, type Account, type TestSocket } from "../helpers/client";
import { png, upload } from "../helpers/media";
import { conversationStub, runAlarms, untilAlarmDone } from "../helpers/objects";

// vitest.config.ts sets HISTORY_HOT_WINDOW to 100 for the workers project.
const WINDOW = 100;

type Frame = Record<string, unknown> & { type: string };

/** Sends frames on a socket and waits for the ack (or refusal) of each client_msg_id. */
async function act(socket: TestSocket, frames: Frame[]): Promise<(MessageAckFrame | ErrorFrame)[]> {
  socket.send(frames.length === 1 ? frames[0] : frames);
  const ids = frames.map((f) => f.client_msg_id as string);
  const answer = (id: string) => socket.frames.find((f) => (f.type === "message_ack" || f.type === "error") && (f as { client_msg_id?: string }).client_msg_id === id);
  await socket.until(() => ids.every((id) => answer(id) !== undefined), `answers to ${ids.join(", ")}`);
  return ids.map((id) => answer(id) as MessageAckFrame | ErrorFrame);
}

async function acked(socket: TestSocket, frame: Frame): Promise<MessageAckFrame> {
  const [answer] = await act(socket, [frame]);
  if (answer!.type !== "message_ack") throw new Error(`refused: ${JSON.stringify(answer)}`);
  return answer as MessageAckFrame;
}

async function refused(socket: TestSocket, frame: Frame): Promise<ErrorFrame> {
  const [answer] = await act(socket, [frame]);
  expect(answer!.type).toBe("error");
  return answer as ErrorFrame;
}

const actionFrame = (conversation: string, id: string, action: "edit" | "reaction" | "delete", target: string, content?: string): Frame => ({
  type: "message_action",
  conversation_id: conversation,
  client_msg_id: id,
  action,
  server_msg_id: target,
  ...(content === undefined ? {} : { content }),
});

/** Every page of history, oldest first, following `before` from the newest. */
async function history(conversation: string, who: Account): Promise<Message[]> {
  const out: Message[] = [];
  let before: number | null = null;
  for (let pages = 0; pages < 200; pages++) {
    const res: { status: number; body: { messages: Message[]; has_more: boolean } } = await api(
      "GET",
      `/api/v1/conversations/${conversation}/messages?limit=100${before === null ? "" : `&before=${before}`}`,
      { token: who.token },
    );
    expect(res.status).toBe(200);
    out.unshift(...res.body.messages);
    if (!res.body.has_more) return out;
    before = res.body.messages[0]!.seq;
  }
  throw new Error("history never ended");
}

const rowsOf = (socket: TestSocket, conversation: string) => socket.of("new_message").filter((m) => m.conversation_id === conversation);

/** The rows a device got, as seqs: each exactly once, in order. */
function expectOnceInOrder(frames: NewMessageFrame[], seqs: number[]) {
  const got = frames.map((f) => f.seq).filter((s) => seqs.includes(s));
  expect(got).toEqual(seqs);
}

async function hotRow(conversation: string, seq: number) {
  return runInDurableObject(conversationStub(conversation), (_o, state) =>
    state.storage.sql
      .exec<{ content: string; media: string | null; extra: string | null }>(
        "SELECT content, media, extra FROM messages WHERE conversation_id = ? AND seq = ?",
        conversation,
        seq,
      )
      .toArray()[0],
  );
}

/** Moves a stored message's time back, as if it had been sent `ms` ago (the windows run on the server's clock). */
async function age(conversation: string, seq: number, ms: number) {
  await runInDurableObject(conversationStub(conversation), (_o, state) => {
    state.storage.sql.exec("UPDATE messages SET timestamp = timestamp - ? WHERE conversation_id = ? AND seq = ?", ms, conversation, seq);
  });
  // The conversation keeps recent rows in memory: a fresh instance reads the aged one.
  const { evictDurableObject } = await import("cloudflare:test");
  await evictDurableObject(conversationStub(conversation), { webSockets: "hibernate" });
}

describe("message actions", () => {
  it("reply, reaction, edit and delete reach every device once, in order, live and after being offline, and history shows the result", async () => {
    const [ana, bo, cy] = await quickUsers(3, "act");
    const group = await createGroup(ana!, [bo!, cy!], "actions");
    const anaPhone = await connect(ana!.token, "ana-phone");
    const boPhone = await connect(bo!.token, "bo-phone");
    const boLaptop = await connect(bo!.token, "bo-laptop");
    // Cy is offline throughout and catches up at the end.

    const hello = await sendAndAck(anaPhone, group, "hello team\nsecond line", "m1");
    const typo = await sendAndAck(anaPhone, group, "meting at 5", "m2");
    const reply = await acked(boPhone, { type: "send_message", conversation_id: group, ...text("on my way", "r1"), reply_to: hello.server_msg_id });
    const react = await acked(boLaptop, actionFrame(group, "x1", "reaction", hello.server_msg_id, "👍"));
    const edit = await acked(anaPhone, actionFrame(group, "e1", "edit", typo.server_msg_id, "meeting at 5"));
    const edit2 = await acked(anaPhone, actionFrame(group, "e2", "edit", typo.server_msg_id, "meeting at 6"));
    const gone = await sendAndAck(anaPhone, group, "oops, wrong chat", "m3");
    const del = await acked(anaPhone, actionFrame(group, "d1", "delete", gone.server_msg_id));
    const seqs = [hello, typo, reply, react, edit, edit2, gone, del].map((a) => a.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    // Live: every other device gets each row once, in seq order (the acting device has the ack).
    await boPhone.until((s) => rowsOf(s, group).some((f) => f.seq === del.seq), "the delete on bo-phone");
    await boLaptop.until((s) => rowsOf(s, group).some((f) => f.seq === del.seq), "the delete on bo-laptop");
    await anaPhone.until((s) => rowsOf(s, group).some((f) => f.seq === react.seq), "the reaction on ana-phone");
    expectOnceInOrder(rowsOf(boPhone, group), seqs.filter((s) => s !== reply.seq));
    expectOnceInOrder(rowsOf(boLaptop, group), seqs.filter((s) => s !== react.seq));
    const replyFrame = rowsOf(boLaptop, group).find((f) => f.seq === reply.seq)!;
    expect(replyFrame.reply_to).toEqual({ server_msg_id: hello.server_msg_id, seq: hello.seq, sender_id: ana!.user.user_id, content_type: "text", snippet: "hello team" });
    const editFrame = rowsOf(boPhone, group).find((f) => f.seq === edit2.seq)!;
    expect(editFrame).toMatchObject({ content_type: "edit", content: "meeting at 6", target: { server_msg_id: typo.server_msg_id, seq: typo.seq, sender_id: ana!.user.user_id } });
    const reactFrame = rowsOf(anaPhone, group).find((f) => f.seq === react.seq)!;
    expect(reactFrame).toMatchObject({ content_type: "reaction", content: "👍", sender_id: bo!.user.user_id, target: { seq: hello.seq } });

    // After being offline: Cy's first device replays every row past its cursor, once, in order.
    const cyPhone = await connect(cy!.token, "cy-phone");
    await cyPhone.until((s) => rowsOf(s, group).some((f) => f.seq === del.seq), "cy's catch-up");
    expectOnceInOrder(rowsOf(cyPhone, group), seqs);
    // The deleted message's text reached nobody who came later: the catch-up shows it deleted.
    const replayedGone = rowsOf(cyPhone, group).find((f) => f.seq === gone.seq)!;
    expect(replayedGone).toMatchObject({ content: "", deleted: true, state_seq: del.seq });

    // History: each message as it is now; the actions are rows of the sequence too.
    const rows = await history(group, cy!);
    const bySeq = new Map(rows.map((m) => [m.seq, m]));
    expect(bySeq.get(hello.seq)).toMatchObject({ content: "hello team\nsecond line", reactions: [{ user_id: bo!.user.user_id, emoji: "👍" }], state_seq: react.seq });
    expect(bySeq.get(typo.seq)).toMatchObject({ content: "meeting at 6", state_seq: edit2.seq });
    expect(bySeq.get(typo.seq)!.edited_at).toBeGreaterThanOrEqual(bySeq.get(typo.seq)!.timestamp);
    expect(bySeq.get(gone.seq)).toMatchObject({ content: "", deleted: true });
    expect(bySeq.get(gone.seq)!.deleted_by).toBeUndefined(); // deleted by its sender
    expect(bySeq.get(reply.seq)!.reply_to!.server_msg_id).toBe(hello.server_msg_id);
    for (const s of [react, edit, edit2, del]) expect(bySeq.get(s.seq)!.target).toBeDefined();

    // Actions are not unread: Cy has five real messages (group created, hello, typo, reply, gone) to read.
    const list = await api<{ conversations: { conversation_id: string; unread_count: number; last_message: Message | null }[] }>("GET", "/api/v1/conversations", { token: cy!.token });
    const summary = list.body.conversations.find((c) => c.conversation_id === group)!;
    expect(summary.unread_count).toBe(5);
    // The list shows the newest message, as it is now: deleted.
    expect(summary.last_message).toMatchObject({ seq: gone.seq, content: "", deleted: true });
    for (const s of [anaPhone, boPhone, boLaptop, cyPhone]) s.close();
  });

  it("a repeated action gets its original ack and is stored once; a reaction is changed and taken back", async () => {
    const [ana, bo] = await quickUsers(2, "idem");
    const conv = await directConversation(ana!, bo!);
    const anaPhone = await connect(ana!.token, "ana-phone");
    const m = await sendAndAck(anaPhone, conv, "pick one", "m1");
    const boPhone = await connect(bo!.token, "bo-phone");
    const first = await acked(boPhone, actionFrame(conv, "x1", "reaction", m.server_msg_id, "👍"));
    const again = await acked(boPhone, actionFrame(conv, "x1", "reaction", m.server_msg_id, "👍"));
    expect(again).toMatchObject({ seq: first.seq, server_msg_id: first.server_msg_id });
    await acked(boPhone, actionFrame(conv, "x2", "reaction", m.server_msg_id, "❤️"));
    let rows = await history(conv, ana!);
    expect(rows.find((r) => r.seq === m.seq)!.reactions).toEqual([{ user_id: bo!.user.user_id, emoji: "❤️" }]);
    expect(rows.filter((r) => r.content_type === "reaction")).toHaveLength(2);
    await acked(boPhone, actionFrame(conv, "x3", "reaction", m.server_msg_id, ""));
    rows = await history(conv, ana!);
    expect(rows.find((r) => r.seq === m.seq)!.reactions).toBeUndefined();
    anaPhone.close();
    boPhone.close();
  });

  it("refuses what people may not do, each with its own code, and stores nothing for it", async () => {
    const [ana, bo, cy] = await quickUsers(3, "perm");
    const group = await createGroup(ana!, [bo!, cy!], "rules"); // ana is the admin
    const anaPhone = await connect(ana!.token, "ana-phone");
    const boPhone = await connect(bo!.token, "bo-phone");
    const cyPhone = await connect(cy!.token, "cy-phone");
    const anas = await sendAndAck(anaPhone, group, "ana's words", "a1");
    const bos = await sendAndAck(boPhone, group, "bo's words", "b1");
    const before = (await history(group, ana!)).length;

    // Editing someone else's message.
    expect(await refused(boPhone, actionFrame(group, "e1", "edit", anas.server_msg_id, "mine now"))).toMatchObject({ code: "not_editable", client_msg_id: "e1" });
    // Deleting someone else's message without being an admin.
    expect(await refused(cyPhone, actionFrame(group, "d1", "delete", bos.server_msg_id))).toMatchObject({ code: "forbidden" });
    // Not one emoji; a message that does not exist; a forged id; a reply to nothing; a mention of an outsider.
    expect(await refused(boPhone, actionFrame(group, "x1", "reaction", anas.server_msg_id, "ok"))).toMatchObject({ code: "invalid_reaction" });
    expect(await refused(boPhone, actionFrame(group, "x2", "reaction", `${anas.server_msg_id.slice(0, -4)}zzzz`, "👍"))).toMatchObject({ code: "message_not_found" });
    expect(await refused(boPhone, actionFrame(group, "x3", "reaction", "m_999999_nothing", "👍"))).toMatchObject({ code: "message_not_found" });
    expect(await refused(boPhone, { type: "send_message", conversation_id: group, ...text("re", "r1"), reply_to: "m_999_x" })).toMatchObject({ code: "message_not_found" });
    expect(
      await refused(boPhone, { type: "send_message", conversation_id: group, ...text("hi @eve", "n1"), mentions: [{ user_id: "u_nobody", offset: 3, length: 4 }] }),
    ).toMatchObject({ code: "invalid_mention" });

    // The windows run on the server's clock, from when the message was stored.
    await age(group, bos.seq, 16 * 60_000);
    expect(await refused(boPhone, actionFrame(group, "e2", "edit", bos.server_msg_id, "too late"))).toMatchObject({ code: "action_window_closed" });
    await age(group, bos.seq, 48 * 3_600_000);
    expect(await refused(boPhone, actionFrame(group, "d2", "delete", bos.server_msg_id))).toMatchObject({ code: "action_window_closed" });
    // …but a group admin may delete any message, at any time.
    const adminDelete = await acked(anaPhone, actionFrame(group, "d3", "delete", bos.server_msg_id));
    const after = await history(group, ana!);
    expect(after).toHaveLength(before + 1); // only the admin's delete was stored
    expect(after.find((m) => m.seq === bos.seq)).toMatchObject({ deleted: true, deleted_by: ana!.user.user_id, content: "" });
    expect(after.find((m) => m.seq === adminDelete.seq)!.content_type).toBe("delete");
    // A deleted message cannot be edited, reacted to, replied to or deleted again.
    expect(await refused(anaPhone, actionFrame(group, "x4", "reaction", bos.server_msg_id, "👍"))).toMatchObject({ code: "message_deleted" });
    expect(await refused(cyPhone, { type: "send_message", conversation_id: group, ...text("re", "r2"), reply_to: bos.server_msg_id })).toMatchObject({ code: "message_deleted" });

    // Reacting in a conversation you left.
    expect((await api("DELETE", `/api/v1/conversations/${group}/members/${cy!.user.user_id}`, { token: cy!.token })).status).toBe(200);
    const left = await api("POST", `/api/v1/conversations/${group}/messages/${anas.server_msg_id}/actions`, {
      token: cy!.token,
      body: { action: "reaction", content: "👍", client_msg_id: "x5" },
    });
    expect(left.status).toBe(403);
    expect(left.body.error.code).toBe("not_a_member");
    // The REST form refuses as the socket does, in the error shape.
    const rest = await api("POST", `/api/v1/conversations/${group}/messages/${anas.server_msg_id}/actions`, {
      token: bo!.token,
      body: { action: "edit", content: "mine", client_msg_id: "e3" },
    });
    expect(rest).toMatchObject({ status: 403, body: { error: { code: "not_editable" } } });
    for (const s of [anaPhone, boPhone, cyPhone]) s.close();
  });

  it("acts on archived messages: history older than the hot window shows edits, reactions and deletions, and R2 keeps no deleted text", async () => {
    const [ana, bo] = await quickUsers(2, "arch");
    const conv = await directConversation(ana!, bo!);
    const anaPhone = await connect(ana!.token, "ana-phone");
    const secret = await sendAndAck(anaPhone, conv, "the secret is 4217", "s1");
    const liked = await sendAndAck(anaPhone, conv, "like me later", "l1");
    const edited = await acked(anaPhone, actionFrame(conv, "e1", "edit", secret.server_msg_id, "the secret is 4217 (really)"));
    const quoting = await acked(anaPhone, { type: "send_message", conversation_id: conv, ...text("as I said", "q1"), reply_to: secret.server_msg_id });
    // Push all of that out of the hot window.
    const filler = Array.from({ length: WINDOW + 30 }, (_, i) => ({ type: "send_message", conversation_id: conv, ...text(`filler ${i}`, `f${i}`) }));
    for (let i = 0; i < filler.length; i += 100) await act(anaPhone, filler.slice(i, i + 100));
    const stub = conversationStub(conv);
    const archivedSeq = async () => runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ a: number }>("SELECT archived_seq AS a FROM conversations WHERE conversation_id = ?", conv).one().a);
    await runAlarms(stub, async () => (await archivedSeq()) >= quoting.seq, 40);
    expect(await archivedSeq()).toBeGreaterThanOrEqual(quoting.seq);

    // Acting on archived messages: a reaction and an edit, then a delete for everyone of the one quoted and edited.
    const boPhone = await connect(bo!.token, "bo-phone");
    const reaction = await acked(boPhone, actionFrame(conv, "x1", "reaction", liked.server_msg_id, "🎉"));
    await acked(anaPhone, actionFrame(conv, "e2", "edit", liked.server_msg_id, "like me now"));
    const del = await acked(anaPhone, actionFrame(conv, "d1", "delete", secret.server_msg_id));
    await boPhone.until((s) => rowsOf(s, conv).some((f) => f.seq === del.seq), "the delete, live");

    // The erasure runs from the conversation's alarm: R2 no longer holds the text anywhere.
    const segmentsText = async () => {
      const listed = await archiveBucket.list({ prefix: archivePrefix(conv) });
      const bodies = await Promise.all(listed.objects.map(async (o) => (await archiveBucket.get(o.key))!.text()));
      return bodies.join("\n");
    };
    await untilAlarmDone(stub, async () => !(await segmentsText()).includes("4217"));
    expect(await segmentsText()).not.toContain("4217");
    const pending = await runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM erasures WHERE conversation_id = ?", conv).one().n);
    expect(pending).toBe(0);

    // History across the boundary shows each archived message as it is now.
    const rows = await history(conv, bo!);
    const bySeq = new Map(rows.map((m) => [m.seq, m]));
    expect(bySeq.get(secret.seq)).toMatchObject({ content: "", deleted: true });
    expect(bySeq.get(edited.seq)).toMatchObject({ content_type: "edit", content: "" });
    expect(bySeq.get(quoting.seq)!.reply_to).toMatchObject({ server_msg_id: secret.server_msg_id, snippet: "", deleted: true });
    expect(bySeq.get(liked.seq)).toMatchObject({ content: "like me now", reactions: [{ user_id: bo!.user.user_id, emoji: "🎉" }] });
    expect(bySeq.get(reaction.seq)!.content_type).toBe("reaction");
    // Every seq once, in order, from 1 to the delete.
    expect(rows.map((m) => m.seq)).toEqual(Array.from({ length: del.seq }, (_, i) => i + 1));
    anaPhone.close();
    boPhone.close();
  });

  it("delete for everyone removes the stored text and the media bytes, but not bytes a forward still uses", async () => {
    const [ana, bo, cy, dee] = await quickUsers(4, "erase");
    const conv = await createGroup(ana!, [bo!, dee!], "photos");
    const other = await directConversation(bo!, cy!);
    const anaPhone = await connect(ana!.token, "ana-phone");
    const boPhone = await connect(bo!.token, "bo-phone");
    const photo = await upload(ana!, png(64, 48), "image/png", "p.png");
    const sent = await acked(anaPhone, { type: "send_message", conversation_id: conv, content: "look 5521", content_type: "image", client_msg_id: "p1", media_id: photo });
    const caption = await acked(anaPhone, { type: "send_message", conversation_id: conv, ...text("the code is 5521", "t1") });
    const quoted = await acked(boPhone, { type: "send_message", conversation_id: conv, ...text("noted", "q1"), reply_to: caption.server_msg_id });

    // Bo forwards the photo to Cy: the same bytes, a grant of their own.
    const fwd = await acked(boPhone, { type: "forward_message", conversation_id: other, client_msg_id: "f1", from: { conversation_id: conv, server_msg_id: sent.server_msg_id } });
    const cyPhone = await connect(cy!.token, "cy-phone");
    await cyPhone.until((s) => rowsOf(s, other).some((f) => f.seq === fwd.seq), "the forward");
    const forwarded = rowsOf(cyPhone, other).find((f) => f.seq === fwd.seq)!;
    expect(forwarded).toMatchObject({ content_type: "image", content: "look 5521", forwarded: 1, media: { media_id: photo } });
    expect((await api("GET", `/api/v1/media/${photo}/url`, { token: cy!.token })).status).toBe(200);
    expect((await api("GET", `/api/v1/media/${photo}/url`, { token: dee!.token })).status).toBe(200);

    // Ana deletes both of hers.
    await acked(anaPhone, actionFrame(conv, "d1", "delete", sent.server_msg_id));
    await acked(anaPhone, actionFrame(conv, "d2", "delete", caption.server_msg_id));
    // The hot rows hold no text at once (checked in storage, not through the API).
    expect(await hotRow(conv, sent.seq)).toMatchObject({ content: "", media: null });
    expect(await hotRow(conv, caption.seq)).toMatchObject({ content: "" });
    expect((await hotRow(conv, quoted.seq))!.extra).not.toContain("5521");
    const stub = conversationStub(conv);
    const erased = async () =>
      runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM erasures WHERE conversation_id = ?", conv).one().n === 0);
    await untilAlarmDone(stub, erased);
    // Members of the first conversation lost access through it; the bytes stay for the forwarded copy.
    expect((await api("GET", `/api/v1/media/${photo}/url`, { token: dee!.token })).status).toBe(404);
    expect(await env.MEDIA.head(bytesKey(photo))).not.toBeNull();
    expect((await api("GET", `/api/v1/media/${photo}/url`, { token: cy!.token })).status).toBe(200);

    // Bo deletes the forward too: no conversation holds the photo any more, and its bytes and thumbnail go.
    await acked(boPhone, actionFrame(other, "d3", "delete", fwd.server_msg_id));
    const otherStub = conversationStub(other);
    await untilAlarmDone(otherStub, async () => (await env.MEDIA.head(bytesKey(photo))) === null);
    expect(await env.MEDIA.head(bytesKey(photo))).toBeNull();
    expect(await env.MEDIA.head(thumbnailKey(photo))).toBeNull();
    // Its size no longer counts toward Ana's quota.
    const uploads = await runInDurableObject(userHome(env, ana!.user.user_id), (_o, state) =>
      state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM media_uploads WHERE user_id = ? AND media_id = ?", ana!.user.user_id, photo).one().n,
    );
    expect(uploads).toBe(0);
    for (const s of [anaPhone, boPhone, cyPhone]) s.close();
  });

  it("counts forwarding hops, takes at most five targets, and refuses an edit over 64 KiB", async () => {
    const people = await quickUsers(7, "hops");
    // A chain of direct chats: 0→1, 1→2, … each forwarding what they got to the next.
    const chats = await Promise.all(people.slice(0, -1).map((p, i) => directConversation(p!, people[i + 1]!)));
    const origin = await api("POST", `/api/v1/conversations/${chats[0]}/messages`, { token: people[0]!.token, body: text("pass it on", "o1") });
    let from = { conversation: chats[0]!, id: origin.body.server_msg_id as string };
    const hops: (number | undefined)[] = [];
    for (let i = 1; i < chats.length; i++) {
      const fwd = await api("POST", `/api/v1/conversations/${from.conversation}/messages/${from.id}/forward`, {
        token: people[i]!.token,
        body: { conversation_ids: [chats[i]], client_msg_id: `f${i}` },
      });
      expect(fwd.status).toBe(200);
      const { ack } = fwd.body.results[0];
      from = { conversation: chats[i]!, id: ack.server_msg_id };
      const rows = await history(chats[i]!, people[i + 1]!);
      hops.push(rows.find((m) => m.seq === ack.seq)!.forwarded);
    }
    expect(hops).toEqual([1, 2, 3, 4, 5]); // the fifth hop reads "Forwarded many times"
    // A retried forward stores nothing twice.
    const retry = await api("POST", `/api/v1/conversations/${chats[0]}/messages/${origin.body.server_msg_id}/forward`, {
      token: people[1]!.token,
      body: { conversation_ids: [chats[1]], client_msg_id: "f1" },
    });
    expect((await history(chats[1]!, people[1]!)).filter((m) => m.forwarded !== undefined)).toHaveLength(1);
    expect(retry.body.results[0].ack.seq).toBeDefined();

    const six = Array.from({ length: 6 }, () => chats[0]);
    const tooMany = await api("POST", `/api/v1/conversations/${chats[0]}/messages/${origin.body.server_msg_id}/forward`, {
      token: people[0]!.token,
      body: { conversation_ids: six, client_msg_id: "f-many" },
    });
    expect(tooMany).toMatchObject({ status: 400, body: { error: { code: "bad_request" } } });

    const huge = await api("POST", `/api/v1/conversations/${chats[0]}/messages/${origin.body.server_msg_id}/actions`, {
      token: people[0]!.token,
      body: { action: "edit", content: "x".repeat(64 * 1024 + 1), client_msg_id: "e-huge" },
    });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: "content_too_large" } } });
  });
});
