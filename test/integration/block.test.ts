import { describe, expect, it } from "vitest";
import { SystemEvent } from "../../src/protocol";
import { api, connect, directConversation, quickUsers, sendAndAck, type Account } from "../helpers/client";

/**
 * Block (issue 15): the blocked user's direct messages, typing, presence watches, adds and
 * invitations stop reaching the blocker, and nothing tells the blocked user beyond their messages
 * staying at "sent". Unblocking restores it.
 */

type Res = { status: number; body: any };
const block = (who: Account, other: Account, on = true): Promise<Res> =>
  api(on ? "POST" : "DELETE", `/api/v1/users/${other.user.user_id}/block`, { token: who.token });

async function history(conversationId: string, who: Account) {
  return (await api("GET", `/api/v1/conversations/${conversationId}/messages?after=0`, { token: who.token })).body.messages as {
    seq: number;
    content: string;
    content_type: string;
    server_msg_id: string;
  }[];
}

describe("block", () => {
  it("keeps a blocked user's direct messages from the blocker (placeholders hold the sequence), with no sign to them", async () => {
    const [ana, bo] = await quickUsers(2, "blk");
    const chat = await directConversation(ana!, bo!);
    const anaPhone = await connect(ana!.token, "phone");
    const boPhone = await connect(bo!.token, "phone");
    await sendAndAck(boPhone, chat, "before the block", "b0");
    await anaPhone.until((s) => s.of("new_message").length === 1, "the first message");

    expect((await block(ana!, bo!)).status).toBe(204);
    expect((await api("GET", "/api/v1/users/me/blocked", { token: ana!.token })).body).toEqual({ user_ids: [bo!.user.user_id] });
    const acks = [await sendAndAck(boPhone, chat, "are you there?", "b1"), await sendAndAck(boPhone, chat, "hello??", "b2")];
    expect(acks.map((a) => a.status)).toEqual(["sent", "sent"]);

    // Ana's phone gets the places, not the messages.
    await anaPhone.until((s) => s.of("new_message").length === 3, "the two placeholders");
    const placeholders = anaPhone.of("new_message").slice(1);
    expect(placeholders.map((m) => [m.seq, m.content_type, SystemEvent.parse(JSON.parse(m.content))])).toEqual(
      acks.map((a) => [a.seq, "system", { event: "withheld", actor: bo!.user.user_id }]),
    );
    expect(JSON.stringify(anaPhone.frames)).not.toContain("are you there?");
    // Her history shows the same; his shows his messages.
    expect((await history(chat, ana!)).map((m) => m.content_type)).toEqual(["text", "system", "system"]);
    expect((await history(chat, bo!)).map((m) => m.content)).toEqual(["before the block", "are you there?", "hello??"]);
    // Nothing to read for her, and her list still shows the last message she could see.
    const [summary] = (await api("GET", "/api/v1/conversations", { token: ana!.token })).body.conversations;
    expect([summary.unread_count, summary.last_message?.content]).toEqual([1, "before the block"]);

    // Her device acknowledges the places; Bo hears nothing, and his receipts say she has nothing.
    anaPhone.send({ type: "message_status", conversation_id: chat, server_msg_id: acks[1]!.server_msg_id, status: "read" });
    await anaPhone.settle();
    const receipts = await api("GET", `/api/v1/conversations/${chat}/messages/${acks[1]!.server_msg_id}/receipts`, { token: bo!.token });
    expect(receipts.body.receipts).toEqual([{ user_id: ana!.user.user_id, delivered_at: null, read_at: null }]);
    // Her read of the first message (before the block) does reach him; the withheld ones never do.
    const statuses = boPhone.of("message_status").filter((f) => f.user_id === ana!.user.user_id);
    expect(statuses.every((f) => f.seq < acks[0]!.seq)).toBe(true);

    // Unblocked: his next message reaches her as itself; the withheld ones stay withheld.
    expect((await block(ana!, bo!, false)).status).toBe(204);
    await sendAndAck(boPhone, chat, "back again", "b3");
    await anaPhone.until((s) => s.of("new_message").some((m) => m.content === "back again"), "the message after unblocking");
    expect((await history(chat, ana!)).map((m) => m.content_type)).toEqual(["text", "system", "system", "text"]);
    anaPhone.close();
    boPhone.close();
  });

  it("stops the blocked user's typing, presence watch, adds to groups and invitations, without telling them", async () => {
    const [ana, bo, cy] = await quickUsers(3, "blk2");
    const chat = await directConversation(ana!, bo!);
    await api("POST", "/api/v1/conversations", { token: cy!.token, body: { type: "group", name: "shared", member_ids: [ana!.user.user_id, bo!.user.user_id] } });
    const anaPhone = await connect(ana!.token, "phone");
    const boPhone = await connect(bo!.token, "phone");
    await block(ana!, bo!);

    // Presence: Bo sees her offline with no last seen, though she is online.
    boPhone.send({ type: "presence_subscribe", user_ids: [ana!.user.user_id] });
    const [seen] = await boPhone.next("presence");
    expect(seen).toEqual({ type: "presence", user_id: ana!.user.user_id, status: "offline", last_seen: null });
    expect((await api("GET", `/api/v1/users/${ana!.user.user_id}/presence`, { token: bo!.token })).body.status).toBe("offline");

    // Typing: his never reaches her; hers still reaches him (the block is hers).
    boPhone.send({ type: "typing", conversation_id: chat, status: "typing" });
    anaPhone.send({ type: "typing", conversation_id: chat, status: "typing" });
    await boPhone.next("typing");
    await anaPhone.settle();
    expect(anaPhone.of("typing")).toEqual([]);

    // Adds: Bo's group "invites" her (as far as he can tell), but she is not in it and has no invitation.
    const group = await api("POST", "/api/v1/conversations", { token: bo!.token, body: { type: "group", name: "sneaky", member_ids: [ana!.user.user_id] } });
    expect([group.status, group.body.invited]).toEqual([201, [ana!.user.user_id]]);
    expect(group.body.conversation.members.map((m: { user_id: string }) => m.user_id)).toEqual([bo!.user.user_id]);
    expect((await api("GET", "/api/v1/invitations", { token: ana!.token })).body.invitations).toEqual([]);
    expect(anaPhone.of("invitation")).toEqual([]);

    expect((await block(ana!, ana!)).status).toBe(400);
    expect((await api("POST", "/api/v1/users/u_nobody_here_000000/block", { token: ana!.token })).status).toBe(404);
    anaPhone.close();
    boPhone.close();
  });

  it("applies a block made before the direct chat existed from its first message", async () => {
    const [ana, bo] = await quickUsers(2, "blk3");
    await block(ana!, bo!);
    const chat = await directConversation(bo!, ana!);
    const boPhone = await connect(bo!.token, "phone");
    await sendAndAck(boPhone, chat, "hi stranger", "h1");
    expect((await history(chat, ana!)).map((m) => m.content_type)).toEqual(["system"]);
    boPhone.close();
  });
});
