import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ErrorFrame, Message, MessageAckFrame } from "../../src/protocol";
import { runInDurableObject } from "cloudflare:test";
import { api, connect, createGroup, directConversation, quickUsers, sendAndAck, text, type Account, type TestSocket } from "../helpers/client";
import { png, put, requestUpload, upload } from "../helpers/media";
import { conversationStub, runAlarms } from "../helpers/objects";

type Frame = Record<string, unknown> & { type: string };

/** The start of what Chromium's MediaRecorder writes (an EBML header naming a WebM document), then noise. */
function webmAudio(bytes = 2_000): Uint8Array {
  const head = [0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, 0x42, 0xf7, 0x81, 0x01, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d];
  const out = new Uint8Array(bytes);
  out.set(head);
  for (let i = head.length; i < bytes; i++) out[i] = (i * 31) % 251;
  return out;
}

const voice = { duration_ms: 4_200, waveform: [3, 20, 55, 90, 100, 42, 7, 0] };

/** Uploads a recording as a voice message and returns its media id. */
async function uploadVoice(who: Account, info: unknown = voice, contentType = "audio/webm;codecs=opus") {
  const bytes = webmAudio();
  const res = await requestUpload(who, { content_type: contentType, size: bytes.length, voice: info });
  expect(res.status).toBe(201);
  const done = await put(res.body.upload_url, res.body.headers, bytes);
  expect(done.status).toBe(201);
  return { mediaId: res.body.media_id as string, media: done.body.media };
}

async function answer(socket: TestSocket, frame: Frame): Promise<MessageAckFrame | ErrorFrame> {
  socket.send(frame);
  const id = frame.client_msg_id as string;
  const find = () => socket.frames.find((f) => (f.type === "message_ack" || f.type === "error") && (f as { client_msg_id?: string }).client_msg_id === id);
  await socket.until(() => find() !== undefined, `the answer to ${id}`);
  return find() as MessageAckFrame | ErrorFrame;
}

async function acked(socket: TestSocket, frame: Frame): Promise<MessageAckFrame> {
  const got = await answer(socket, frame);
  if (got.type !== "message_ack") throw new Error(`refused: ${JSON.stringify(got)}`);
  return got;
}

const sendVoice = (conversation: string, mediaId: string, id: string): Frame => ({
  type: "send_message",
  conversation_id: conversation,
  content: "",
  content_type: "audio",
  client_msg_id: id,
  media_id: mediaId,
});

const played = (conversation: string, target: string, id: string): Frame => ({
  type: "message_action",
  conversation_id: conversation,
  client_msg_id: id,
  action: "played",
  server_msg_id: target,
});

async function messageAt(conversation: string, who: Account, seq: number): Promise<Message> {
  const res = await api<{ messages: Message[] }>("GET", `/api/v1/conversations/${conversation}/messages?limit=100`, { token: who.token });
  expect(res.status).toBe(200);
  return res.body.messages.find((m) => m.seq === seq)!;
}

describe("voice messages", () => {
  it("a recording is uploaded with its length and waveform, sent as audio, and every member gets them", async () => {
    const [ana, bo] = await quickUsers(2, "vo");
    const conv = await directConversation(ana!, bo!);
    const { mediaId, media } = await uploadVoice(ana!);
    expect(media).toMatchObject({ media_id: mediaId, content_type: "audio/webm", voice: true, ...voice });

    const boPhone = await connect(bo!.token, "bo-phone");
    const anaPhone = await connect(ana!.token, "ana-phone");
    const ack = await acked(anaPhone, sendVoice(conv, mediaId, "v1"));
    await boPhone.until((s) => s.of("new_message").some((m) => m.seq === ack.seq), "the voice message on bo's phone");
    const frame = boPhone.of("new_message").find((m) => m.seq === ack.seq)!;
    expect(frame).toMatchObject({ content_type: "audio", media: { media_id: mediaId, voice: true, duration_ms: 4_200, waveform: voice.waveform } });
    expect(await messageAt(conv, bo!, ack.seq)).toMatchObject({ content_type: "audio", media: { voice: true, duration_ms: 4_200 } });
    // The recipient may fetch the bytes, served as the recorded type.
    const bytes = await exports.default.fetch(`http://parley.test/api/v1/media/${mediaId}`, { headers: { Authorization: `Bearer ${bo!.token}` } });
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get("Content-Type")).toBe("audio/webm");
    expect(new Uint8Array(await bytes.arrayBuffer())).toEqual(webmAudio());

    // An audio file attached (no voice metadata) is audio, not a voice message; other kinds are refused as audio.
    const song = await upload(ana!, new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, ...new Array(100).fill(7)]), "audio/mpeg", "song.mp3");
    const songAck = await acked(anaPhone, sendVoice(conv, song, "v2"));
    const songMessage = await messageAt(conv, ana!, songAck.seq);
    expect(songMessage.media).toMatchObject({ content_type: "audio/mpeg", filename: "song.mp3" });
    expect(songMessage.media!.voice).toBeUndefined();
    const photo = await upload(ana!, png(8, 8), "image/png");
    expect(await answer(anaPhone, sendVoice(conv, photo, "v3"))).toMatchObject({ type: "error", code: "media_mismatch" });
    anaPhone.close();
    boPhone.close();
  });

  it("refuses metadata out of range, voice on what is not audio, and audio whose bytes are something else", async () => {
    const [ana] = await quickUsers(1, "vbad");
    const bad = async (body: Record<string, unknown>) => {
      const res = await requestUpload(ana!, { content_type: "audio/webm", size: 2_000, ...body });
      return res;
    };
    for (const info of [
      { duration_ms: 0, waveform: [1] },
      { duration_ms: -5, waveform: [1] },
      { duration_ms: 1.5, waveform: [1] },
      { duration_ms: 61 * 60_000, waveform: [1] },
      { duration_ms: 1_000, waveform: [] },
      { duration_ms: 1_000, waveform: [101] },
      { duration_ms: 1_000, waveform: [-1] },
      { duration_ms: 1_000, waveform: [0.5] },
      { duration_ms: 1_000, waveform: new Array(65).fill(5) },
      { duration_ms: 1_000 },
      { waveform: [1] },
    ]) {
      const res = await bad({ voice: info });
      expect(res.status, JSON.stringify(info)).toBe(400);
      expect(res.body.error.code).toBe("bad_request");
      expect(res.body.error.message).toMatch(/voice\./);
    }
    const notAudio = await requestUpload(ana!, { content_type: "image/png", size: 100, voice });
    expect(notAudio).toMatchObject({ status: 400, body: { error: { code: "bad_request", message: "only audio can be a voice message" } } });
    const tooBig = await requestUpload(ana!, { content_type: "audio/ogg", size: 17 * 1024 * 1024, voice });
    expect(tooBig).toMatchObject({ status: 413, body: { error: { code: "media_too_large" } } });
    // Audio declared, a PNG uploaded: the bytes are refused.
    const image = png(8, 8);
    const slot = await requestUpload(ana!, { content_type: "audio/ogg", size: image.length, voice });
    expect((await put(slot.body.upload_url, slot.body.headers, image)).body.error.code).toBe("media_mismatch");
  });

  it("played: only recipients, only voice messages, once per member; the sender sees it live and after reconnecting", async () => {
    const [ana, bo, cy] = await quickUsers(3, "vplay");
    const group = await createGroup(ana!, [bo!, cy!], "voices");
    const anaPhone = await connect(ana!.token, "ana-phone");
    const anaLaptop = await connect(ana!.token, "ana-laptop");
    const boPhone = await connect(bo!.token, "bo-phone");
    const { mediaId } = await uploadVoice(ana!);
    const note = await acked(anaPhone, sendVoice(group, mediaId, "v1"));
    const words = await sendAndAck(anaPhone, group, "just words", "t1");
    await boPhone.until((s) => s.of("new_message").some((m) => m.seq === words.seq), "ana's messages on bo's phone");

    // Refusals, each with its own code, storing nothing.
    expect(await answer(anaPhone, played(group, note.server_msg_id, "p0"))).toMatchObject({ type: "error", code: "own_message", client_msg_id: "p0" });
    expect(await answer(boPhone, played(group, words.server_msg_id, "p1"))).toMatchObject({ type: "error", code: "not_voice" });
    const rest = await api("POST", `/api/v1/conversations/${group}/messages/${words.server_msg_id}/actions`, {
      token: bo!.token,
      body: { action: "played", client_msg_id: "p2" },
    });
    expect(rest).toMatchObject({ status: 422, body: { error: { code: "not_voice" } } });

    // Bo plays it: Ana's phone and laptop see it live.
    const first = await acked(boPhone, played(group, note.server_msg_id, "p3"));
    for (const device of [anaPhone, anaLaptop]) {
      await device.until((s) => s.of("new_message").some((m) => m.seq === first.seq), "bo's played on ana's devices");
      expect(device.of("new_message").find((m) => m.seq === first.seq)).toMatchObject({
        content_type: "played",
        content: "",
        sender_id: bo!.user.user_id,
        target: { server_msg_id: note.server_msg_id, seq: note.seq, sender_id: ana!.user.user_id },
      });
    }
    // Idempotent per member: a replay (same or another client_msg_id, socket or REST) is answered with the first and stores nothing.
    expect(await acked(boPhone, played(group, note.server_msg_id, "p3"))).toMatchObject({ seq: first.seq, server_msg_id: first.server_msg_id });
    expect(await acked(boPhone, played(group, note.server_msg_id, "p4"))).toMatchObject({ seq: first.seq, server_msg_id: first.server_msg_id, client_msg_id: "p4" });
    const again = await api("POST", `/api/v1/conversations/${group}/messages/${note.server_msg_id}/actions`, {
      token: bo!.token,
      body: { action: "played", client_msg_id: "p5" },
    });
    expect(again).toMatchObject({ status: 201, body: { seq: first.seq } });
    expect((await messageAt(group, ana!, note.seq)).played_by).toEqual([bo!.user.user_id]);

    // Ana's laptop goes offline; Cy plays it meanwhile (per member, in a group).
    anaLaptop.close();
    const cyPhone = await connect(cy!.token, "cy-phone");
    await cyPhone.until((s) => s.of("new_message").some((m) => m.seq === first.seq), "cy's catch-up");
    const second = await acked(cyPhone, played(group, note.server_msg_id, "c1"));
    expect(second.seq).toBeGreaterThan(first.seq);

    // The laptop reconnects: catch-up brings Cy's played row, and a sync from before shows the message as it is now.
    const back = await connect(ana!.token, "ana-laptop");
    await back.until((s) => s.of("new_message").some((m) => m.seq === second.seq), "cy's played after reconnecting");
    back.send({ type: "sync", conversation_id: group, after_seq: note.seq - 1, limit: 50 });
    await back.until((s) => s.of("new_message").filter((m) => m.seq === note.seq).length > 0, "the synced voice message");
    const synced = back.of("new_message").find((m) => m.seq === note.seq)!;
    expect(synced.played_by).toEqual([bo!.user.user_id, cy!.user.user_id]);
    expect(synced.state_seq).toBe(second.seq);
    expect((await messageAt(group, cy!, note.seq)).played_by).toEqual([bo!.user.user_id, cy!.user.user_id]);

    // Played rows are not messages: nothing unread for Ana, the preview stays on her last message.
    const list = await api<{ conversations: { conversation_id: string; unread_count: number; last_message: Message | null }[] }>("GET", "/api/v1/conversations", {
      token: ana!.token,
    });
    const summary = list.body.conversations.find((c) => c.conversation_id === group)!;
    expect(summary.unread_count).toBe(0);
    expect(summary.last_message).toMatchObject({ seq: words.seq });
    for (const s of [anaPhone, boPhone, cyPhone, back]) s.close();
  });

  it("played marks on archived voice messages: history keeps them, new listeners add to them, a repeat changes nothing", async () => {
    const [ana, bo, cy] = await quickUsers(3, "varch");
    const group = await createGroup(ana!, [bo!, cy!], "archive");
    const anaPhone = await connect(ana!.token, "ana-phone");
    const boPhone = await connect(bo!.token, "bo-phone");
    const { mediaId } = await uploadVoice(ana!);
    const note = await acked(anaPhone, sendVoice(group, mediaId, "v1"));
    const first = await acked(boPhone, played(group, note.server_msg_id, "p1"));
    // Push the voice message and Bo's played row out of the hot window.
    for (let batch = 0; batch < 2; batch++) {
      const frames = Array.from({ length: 70 }, (_, i) => ({ type: "send_message", conversation_id: group, ...text(`filler ${batch}-${i}`, `f${batch}-${i}`) }));
      anaPhone.send(frames);
      const last = frames.at(-1)!.client_msg_id;
      await anaPhone.until((s) => s.of("message_ack").some((a) => a.client_msg_id === last), "the filler acks");
    }
    const stub = conversationStub(group);
    const archivedSeq = async () =>
      runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ a: number }>("SELECT archived_seq AS a FROM conversations WHERE conversation_id = ?", group).one().a);
    await runAlarms(stub, async () => (await archivedSeq()) >= first.seq, 40);
    expect(await archivedSeq()).toBeGreaterThanOrEqual(first.seq);
    const oldest = async () => {
      const res = await api<{ messages: Message[] }>("GET", `/api/v1/conversations/${group}/messages?limit=10&after=0`, { token: ana!.token });
      return res.body.messages.find((m) => m.seq === note.seq)!;
    };
    expect((await oldest()).played_by).toEqual([bo!.user.user_id]);

    // Cy plays the archived message: the mark reaches Ana live and history shows both.
    const cyPhone = await connect(cy!.token, "cy-phone");
    const second = await acked(cyPhone, played(group, note.server_msg_id, "c1"));
    await anaPhone.until((s) => s.of("new_message").some((m) => m.seq === second.seq), "cy's played, live");
    expect((await oldest()).played_by).toEqual([bo!.user.user_id, cy!.user.user_id]);
    // Bo again, his first played row archived: acknowledged, and the message is as it was.
    const again = await acked(boPhone, played(group, note.server_msg_id, "p2"));
    expect(again.seq).toBeGreaterThan(second.seq);
    const after = await oldest();
    expect(after.played_by).toEqual([bo!.user.user_id, cy!.user.user_id]);
    expect(after.media).toMatchObject({ voice: true, duration_ms: voice.duration_ms, waveform: voice.waveform });
    for (const s of [anaPhone, boPhone, cyPhone]) s.close();
  });

  it("a voice message deleted for everyone loses its played marks and cannot be played", async () => {
    const [ana, bo] = await quickUsers(2, "vdel");
    const conv = await directConversation(ana!, bo!);
    const anaPhone = await connect(ana!.token, "ana-phone");
    const boPhone = await connect(bo!.token, "bo-phone");
    const { mediaId } = await uploadVoice(ana!);
    const note = await acked(anaPhone, sendVoice(conv, mediaId, "v1"));
    await acked(boPhone, played(conv, note.server_msg_id, "p1"));
    await acked(anaPhone, { type: "message_action", conversation_id: conv, client_msg_id: "d1", action: "delete", server_msg_id: note.server_msg_id });
    const gone = await messageAt(conv, bo!, note.seq);
    expect(gone).toMatchObject({ deleted: true, content: "" });
    expect(gone.played_by).toBeUndefined();
    expect(gone.media).toBeUndefined();
    expect(await answer(boPhone, played(conv, note.server_msg_id, "p2"))).toMatchObject({ type: "error", code: "message_deleted" });
    anaPhone.close();
    boPhone.close();
  });
});
