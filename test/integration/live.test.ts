import { describe, expect, it } from "vitest";
import { Limits } from "../../src/protocol";
import { api, connect, createGroup, openSocket, quickUsers, registerUser, text, type TestSocket } from "../helpers/client";

const live = (token: string, conv: string) => connect(token, "live", { path: `/api/v1/conversations/${conv}/ws` });

describe("the live conversation socket", () => {
  it("refuses non-members and bad tokens before accepting", async () => {
    const [a, b, stranger] = await quickUsers(3, "lv");
    const conv = await createGroup(a!, [b!]);
    const refused = await openSocket(stranger!.token, "x", { path: `/api/v1/conversations/${conv}/ws` });
    expect(refused.status).toBe(403);
    expect(refused.webSocket).toBeNull();
    const badToken = await openSocket("nope", "x", { path: `/api/v1/conversations/${conv}/ws` });
    expect(badToken.status).toBe(401);
    const unknown = await openSocket(a!.token, "x", { path: `/api/v1/conversations/g_doesnotexist0000000/ws` });
    expect(unknown.status).toBe(404);
  });

  it("sends and receives the conversation's messages, once per socket, beside the device sockets", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const res = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "direct", member_ids: [b.user.user_id] } });
    const conv = res.body.conversation.conversation_id;
    const aLive = await live(a.token, conv);
    const bLive = await live(b.token, conv);
    const bDevice = await connect(b.token, "b-phone");
    const aDevice = await connect(a.token, "a-phone");

    aLive.send({ type: "send_message", conversation_id: conv, ...text("over the live socket", "l1") });
    const [ack] = await aLive.next("message_ack");
    expect(ack).toMatchObject({ seq: 1, client_msg_id: "l1" });
    const [onLive] = await bLive.next("new_message");
    const [onDevice] = await bDevice.next("new_message");
    expect(onLive).toEqual(onDevice);
    // The sender's other devices get it; the sending live socket has its ack instead.
    await aDevice.next("new_message");
    await api("POST", `/api/v1/conversations/${conv}/messages`, { token: b.token, body: text("reply", "r1") });
    await aLive.next("new_message");
    await aLive.settle();
    expect(aLive.of("new_message").map((m) => m.seq)).toEqual([2]);

    // Sync and receipts work here too; the sender's devices hear of the read.
    bLive.send({ type: "sync", conversation_id: conv, after_seq: 0 });
    await bLive.until((s) => s.of("new_message").length >= 3, "the synced page");
    bLive.send({ type: "message_status", conversation_id: conv, server_msg_id: ack!.server_msg_id, status: "read" });
    const [status] = await aDevice.next("message_status");
    expect(status).toMatchObject({ user_id: b.user.user_id, status: "read", seq: 1 });
    await expect.poll(async () => (await api("GET", "/api/v1/conversations", { token: b.token })).body.conversations[0].unread_count).toBe(0);

    // Only this conversation.
    bLive.send({ type: "send_message", conversation_id: "d_someotherconversation", ...text("x", "x1") });
    const [err] = await bLive.next("error");
    expect(err).toMatchObject({ code: "bad_request", client_msg_id: "x1" });
    for (const s of [aLive, bLive, aDevice, bDevice]) s.close();
  });

  it(`keeps at most ${Limits.liveSocketsPerUser} live sockets per user: one more closes the oldest`, async () => {
    const [alice, bob] = await quickUsers(2, "lc");
    const conv = await createGroup(alice!, [bob!]);
    const sockets: TestSocket[] = [];
    for (let i = 0; i <= Limits.liveSocketsPerUser; i++) {
      sockets.push(await live(bob!.token, conv));
      await new Promise((r) => setTimeout(r, 2)); // distinct open times
    }
    await sockets[0]!.until((s) => s.closed !== null, "the oldest to close");
    expect(sockets[0]!.closed!.code).toBe(4001);
    // The other ten still get the conversation's messages; Alice's own sockets are not counted.
    const aliceLive = await live(alice!.token, conv);
    aliceLive.send({ type: "send_message", conversation_id: conv, ...text("still here", "lc1") });
    for (const s of sockets.slice(1)) await s.until((x) => x.of("new_message").some((m) => m.content === "still here"), "the message");
    expect(sockets.slice(1).every((s) => s.closed === null)).toBe(true);
    expect(aliceLive.closed).toBeNull();
    for (const s of [...sockets, aliceLive]) s.close();
  });

  it("drops a member removed mid-session, after the message that records it", async () => {
    const [admin, bob] = await quickUsers(2, "lrm");
    const conv = await createGroup(admin!, [bob!]);
    const bobLive = await live(bob!.token, conv);
    expect((await api("DELETE", `/api/v1/conversations/${conv}/members/${bob!.user.user_id}`, { token: admin!.token })).status).toBe(200);
    await bobLive.until((s) => s.closed !== null, "the socket to close");
    expect(bobLive.closed!.code).toBe(4003);
    expect(bobLive.of("new_message").map((m) => JSON.parse(m.content).event)).toEqual(["member_removed"]);
  });
});
