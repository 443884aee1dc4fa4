import { describe, expect, inject, it } from "vitest";
import { isPendingAction, MemoryOutbox, type Message, type OutboxEntry } from "../../src/client";
import { client, directPair, startedClients, until } from "../helpers/sdk";

const baseUrl = inject("serverUrl");
const started = startedClients();

/** What Chromium's MediaRecorder writes first (a WebM EBML header), then some bytes. */
const recording = () =>
  new Blob([new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 0x01, ...new Array(400).fill(0x42)])], { type: "audio/webm;codecs=opus" });

const voice = { duration_ms: 3_400, waveform: [10, 40, 90, 100, 60, 20, 5] };

describe("voice messages through the SDK", () => {
  it("sendVoice uploads and queues a voice message; markPlayed reaches the sender's devices once, live and after a restart", async () => {
    const { alice, bob, conversationId } = await directPair(baseUrl);
    const a = started(client(baseUrl, alice, "alice-phone"));
    // Bob's outbox is watched: what his device queues for the server.
    const queued: OutboxEntry[] = [];
    const outbox = new MemoryOutbox();
    const put = outbox.put.bind(outbox);
    outbox.put = (entry) => (queued.push(entry), put(entry));
    const b = started(client(baseUrl, bob, "bob-phone", { outbox }));
    await until([a, b], () => a.connectionState === "open" && b.connectionState === "open", "both connected");

    // Metadata out of range is refused before anything is uploaded.
    const uploads: unknown[] = [];
    const off = a.on("upload", (u) => uploads.push(u));
    await expect(a.sendVoice(conversationId, recording(), { duration_ms: 0, waveform: [1] })).rejects.toMatchObject({ code: "bad_request" });
    await expect(a.sendVoice(conversationId, recording(), { duration_ms: 1_000, waveform: [150] })).rejects.toMatchObject({ code: "bad_request" });
    await expect(a.sendVoice(conversationId, recording(), { duration_ms: 1_000, waveform: new Array(65).fill(1) })).rejects.toMatchObject({ code: "bad_request" });
    expect(uploads).toEqual([]);
    off();

    const sent = await a.sendVoice(conversationId, recording(), voice);
    expect(sent).toMatchObject({ content_type: "audio", media: { content_type: "audio/webm", voice: true, ...voice } });
    await a.send(conversationId, "and some words");
    await until([b], () => b.entries(conversationId).length === 2, "bob to get both");
    const [note, words] = b.entries(conversationId);
    expect(note).toMatchObject({ content_type: "audio", own: false, media: { voice: true, duration_ms: 3_400, waveform: voice.waveform } });
    expect(note!.played_by).toBeUndefined();

    // The SDK says no before asking the server: not a voice message, or your own.
    await expect(b.markPlayed(conversationId, words!.server_msg_id!)).rejects.toMatchObject({ code: "not_voice" });
    await until([a], () => a.entries(conversationId).every((e) => e.server_msg_id !== null), "alice's messages stored");
    await expect(a.markPlayed(conversationId, note!.server_msg_id!)).rejects.toMatchObject({ code: "own_message" });

    // Bob plays it: shown at once on his side, and on Alice's phone once it arrives.
    const actions: Message[] = [];
    a.on("action", (m) => actions.push(m));
    await b.markPlayed(conversationId, note!.server_msg_id!);
    expect(b.entries(conversationId)[0]!.played_by).toEqual([bob.user.user_id]);
    await until([a], () => a.entries(conversationId)[0]?.played_by?.includes(bob.user.user_id) === true, "alice to see it played");
    // A second play queues nothing: the SDK already shows it played.
    await b.markPlayed(conversationId, note!.server_msg_id!);
    expect(queued.filter((e) => isPendingAction(e) && e.action === "played")).toHaveLength(1);
    expect(actions.filter((m) => m.content_type === "played")).toHaveLength(1);

    // Alice's laptop, started now (a new device: it loads the chat from the server), and Alice's phone
    // restarted: both show it played.
    const laptop = started(client(baseUrl, alice, "alice-laptop"));
    await until([laptop], () => laptop.connectionState === "open", "the laptop connected");
    await laptop.loadOlder(conversationId);
    await until([laptop], () => laptop.entries(conversationId)[0]?.played_by?.[0] === bob.user.user_id, "the laptop to show it played");
    a.stop();
    const again = started(client(baseUrl, alice, "alice-phone"));
    await again.loadOlder(conversationId);
    await until([again], () => again.entries(conversationId)[0]?.played_by?.[0] === bob.user.user_id, "the restarted phone to show it played");
  });
});
