import { describe, expect, it } from "vitest";
import { Limits, Subprotocol } from "../../src/protocol";
import { connect, createGroup, quickUsers, text, type TestSocket } from "../helpers/client";

/**
 * One contract, two sockets: the device socket (user object) and the live conversation socket
 * (conversation object) answer the same frames the same way, because both run the one frame core
 * (src/objects/frameCore.ts). Every case here runs on both, as Hono runs one suite on every router.
 * Where the kinds differ by design (which conversations a socket serves, presence) the case says so.
 */
type Kind = "device" | "live";

async function open(kind: Kind, token: string, conversationId: string, subprotocol: string = Subprotocol.single): Promise<TestSocket> {
  const device = `contract-${crypto.randomUUID().slice(0, 8)}`;
  return kind === "device" ? connect(token, device, { subprotocol }) : connect(token, device, { subprotocol, path: `/api/v1/conversations/${conversationId}/ws` });
}

const send = (conversationId: string, content: string, id: string) => ({ type: "send_message", conversation_id: conversationId, ...text(content, id) });

describe.each<Kind>(["device", "live"])("the socket contract on the %s socket", (kind) => {
  it("acks a send with its seq and id, and a resend with the same id gets the same ack and stores nothing", async () => {
    const [a, b] = await quickUsers(2, `fc${kind[0]}a`);
    const conv = await createGroup(a!, [b!]);
    const socket = await open(kind, a!.token, conv);
    socket.send(send(conv, "hello", "c1"));
    const [ack] = await socket.next("message_ack");
    expect(ack).toMatchObject({ type: "message_ack", client_msg_id: "c1", conversation_id: conv, status: "sent" });
    expect(ack!.server_msg_id).toMatch(/\S/);
    socket.send(send(conv, "hello", "c1"));
    const acks = await socket.next("message_ack", 2);
    expect(acks[1]).toEqual(ack);
    socket.send(send(conv, "next", "c2"));
    const [, , next] = await socket.next("message_ack", 3);
    expect(next!.seq).toBe(ack!.seq + 1);
  });

  it("takes replies, actions and forwards like sends: in order with them, acked, refused with the same codes, resent once", async () => {
    const [a, b] = await quickUsers(2, `fc${kind[0]}x`);
    const conv = await createGroup(a!, [b!]);
    const socket = await open(kind, a!.token, conv);
    const [first] = await (socket.send(send(conv, "first", "x0")), socket.next("message_ack"));
    const target = first!.server_msg_id;
    socket.send([
      { ...send(conv, "replying", "x1"), reply_to: target },
      { type: "message_action", conversation_id: conv, client_msg_id: "x2", action: "reaction", server_msg_id: target, content: "👍" },
      { type: "message_action", conversation_id: conv, client_msg_id: "x3", action: "edit", server_msg_id: target, content: "first!" },
      { type: "forward_message", conversation_id: conv, client_msg_id: "x4", from: { conversation_id: conv, server_msg_id: target } },
      { type: "message_action", conversation_id: conv, client_msg_id: "x5", action: "reaction", server_msg_id: target, content: "not an emoji" },
    ]);
    await socket.until((s) => s.of("message_ack").length >= 5 && s.of("error").length >= 1, "four acks and a refusal");
    const acks = socket.of("message_ack").slice(1);
    expect(acks.map((x) => x.client_msg_id)).toEqual(["x1", "x2", "x3", "x4"]);
    expect(acks.map((x) => x.seq - first!.seq)).toEqual([1, 2, 3, 4]);
    expect(socket.of("error")[0]).toMatchObject({ code: "invalid_reaction", client_msg_id: "x5" });
    // A resend of an action is answered with its original ack.
    socket.send({ type: "message_action", conversation_id: conv, client_msg_id: "x3", action: "edit", server_msg_id: target, content: "first!" });
    const again = await socket.next("message_ack", 6);
    expect(again[5]).toEqual(acks[2]);
  });

  it("stores the sends of one socket message in order and, on parley.v2, acks them in one socket message", async () => {
    const [a, b] = await quickUsers(2, `fc${kind[0]}b`);
    const conv = await createGroup(a!, [b!]);
    const socket = await open(kind, a!.token, conv, Subprotocol.batched);
    // Socket messages carrying acks (a device socket's catch-up on connect may arrive meanwhile).
    const ackMessages: string[] = [];
    socket.ws.addEventListener("message", (e) => void (String(e.data).includes('"message_ack"') && ackMessages.push(String(e.data))));
    socket.send(["b1", "b2", "b3", "b4"].map((id) => send(conv, id, id)));
    const acks = await socket.next("message_ack", 4);
    expect(acks.map((x) => x.client_msg_id)).toEqual(["b1", "b2", "b3", "b4"]);
    expect(acks.map((x) => x.seq - acks[0]!.seq)).toEqual([0, 1, 2, 3]);
    expect(ackMessages).toHaveLength(1);
    expect(JSON.parse(ackMessages[0]!)).toHaveLength(4);
  });

  it("answers a sync with the page in order, as one socket message on parley.v2 and a message per frame on parley.v1", async () => {
    const [a, b] = await quickUsers(2, `fc${kind[0]}c`);
    const conv = await createGroup(a!, [b!]);
    const readers = { [Subprotocol.batched]: await open(kind, b!.token, conv, Subprotocol.batched), [Subprotocol.single]: await open(kind, b!.token, conv, Subprotocol.single) };
    const writer = await open(kind, a!.token, conv);
    writer.send(["s1", "s2", "s3"].map((id) => send(conv, `page ${id}`, id)));
    const acks = await writer.next("message_ack", 3);
    for (const [subprotocol, reader] of Object.entries(readers)) {
      // Live delivery (and, on a device socket, the catch-up on connect) comes first and is not counted.
      await reader.until((s) => s.of("new_message").some((m) => m.content === "page s3"), "the messages live");
      await reader.settle();
      const [messagesBefore, framesBefore] = [reader.messages, reader.frames.length];
      reader.send({ type: "sync", conversation_id: conv, after_seq: acks[0]!.seq - 1, limit: 3 });
      await reader.until((s) => s.frames.length >= framesBefore + 3, "the synced page");
      const page = reader.frames.slice(framesBefore);
      expect(page.map((m) => m.type === "new_message" && m.content)).toEqual(["page s1", "page s2", "page s3"]);
      expect(page.map((m) => m.type === "new_message" && m.seq)).toEqual(acks.map((x) => x.seq));
      await reader.settle();
      // The page, then the settle's heartbeat_ack.
      expect(reader.messages - messagesBefore).toBe(subprotocol === Subprotocol.batched ? 2 : 4);
    }
  });

  it("refuses frames it cannot read with the same error codes, echoing the client_msg_id when it can be read", async () => {
    const [a, b] = await quickUsers(2, `fc${kind[0]}d`);
    const conv = await createGroup(a!, [b!]);
    const socket = await open(kind, a!.token, conv);
    socket.send("{not json");
    socket.send({ type: "send_message", conversation_id: conv, content: "x", content_type: "nope", client_msg_id: "bad-type" });
    socket.send({ type: "no_such_frame" });
    socket.send(send(conv, "y".repeat(Limits.maxContentBytes + 1), "too-big"));
    socket.send([]);
    const errors = await socket.next("error", 5);
    expect(errors.map((e) => [e.code, e.client_msg_id])).toEqual([
      ["invalid_json", undefined],
      ["invalid_frame", "bad-type"],
      ["invalid_frame", undefined],
      ["content_too_large", "too-big"],
      ["invalid_frame", undefined],
    ]);
    // The socket is still usable.
    socket.send(send(conv, "still fine", "ok1"));
    expect((await socket.next("message_ack"))[0]!.client_msg_id).toBe("ok1");
  });

  it("answers a heartbeat that reaches the object, and carries typing to the other members", async () => {
    const [a, b] = await quickUsers(2, `fc${kind[0]}e`);
    const conv = await createGroup(a!, [b!]);
    const socket = await open(kind, a!.token, conv);
    const watcher = await open(kind, b!.token, conv);
    await watcher.settle();
    socket.send(' {"type":"heartbeat"}');
    await socket.next("heartbeat_ack");
    socket.send({ type: "typing", conversation_id: conv, status: "typing" });
    const [typing] = await watcher.next("typing");
    expect(typing).toMatchObject({ conversation_id: conv, user_id: a!.user.user_id, status: "typing" });
  });

  it("moves a read cursor on message_status and tells the sender, and refuses a status for a message that does not exist", async () => {
    const [a, b] = await quickUsers(2, `fc${kind[0]}f`);
    const conv = await createGroup(a!, [b!]);
    const sender = await open(kind, a!.token, conv);
    const reader = await open(kind, b!.token, conv);
    // Senders hear of receipts on their device socket, whichever socket the reader used.
    const senderDevice = kind === "device" ? sender : await open("device", a!.token, conv);
    sender.send(send(conv, "read me", "r1"));
    const [ack] = await sender.next("message_ack");
    reader.send({ type: "message_status", conversation_id: conv, server_msg_id: ack!.server_msg_id, status: "read" });
    await senderDevice.until((s) => s.of("message_status").some((m) => m.status === "read" && m.user_id === b!.user.user_id), "the read receipt");
    const beyond = `m${(ack!.seq + 1000).toString(36)}_nothing`;
    reader.send({ type: "message_status", conversation_id: conv, server_msg_id: beyond, status: "read" });
    const [refused] = await reader.next("error");
    expect(refused!.code).toBe("message_not_found");
  });

  it("refuses a send to a conversation it does not serve, naming the send", async () => {
    const [a, b, c] = await quickUsers(3, `fc${kind[0]}g`);
    const conv = await createGroup(a!, [b!]);
    const elsewhere = await createGroup(b!, [c!]);
    const socket = await open(kind, a!.token, conv);
    socket.send(send(elsewhere, "not here", "x1"));
    const [refused] = await socket.next("error");
    expect(refused!.client_msg_id).toBe("x1");
    // A device socket serves every conversation of its user, so it is refused as a non-member; a
    // live socket serves only its own conversation.
    expect(refused!.code).toBe(kind === "device" ? "not_a_member" : "bad_request");
  });

  it(kind === "device" ? "serves presence watches" : "sends presence watches to the device socket", async () => {
    const [a, b] = await quickUsers(2, `fc${kind[0]}h`);
    const conv = await createGroup(a!, [b!]);
    const socket = await open(kind, a!.token, conv);
    socket.send({ type: "presence_subscribe", user_ids: [b!.user.user_id] });
    if (kind === "device") {
      const [presence] = await socket.next("presence");
      expect(presence).toMatchObject({ user_id: b!.user.user_id, status: "offline" });
    } else {
      const [refused] = await socket.next("error");
      expect(refused).toMatchObject({ code: "bad_request", message: "subscribe to presence on the device socket" });
    }
  });
});
