import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { Limits } from "../../src/protocol";
import { api, connect, createGroup, quickUsers, text } from "../helpers/client";
import { conversationStub, runAlarms } from "../helpers/objects";

const live = (token: string, conv: string) => connect(token, "live", { path: `/api/v1/conversations/${conv}/ws` });

describe("typing indicators", () => {
  it("reach the other members' live and device sockets, and never their own", async () => {
    const [alice, bob] = await quickUsers(2, "ty");
    const conv = await createGroup(alice!, [bob!]);
    const aliceDevice = await connect(alice!.token, "a");
    const bobLive = await live(bob!.token, conv);
    const bobDevice = await connect(bob!.token, "b");
    aliceDevice.send({ type: "typing", conversation_id: conv, status: "typing" });
    const expected = { type: "typing", conversation_id: conv, user_id: alice!.user.user_id, status: "typing" };
    expect((await bobLive.next("typing"))[0]).toEqual(expected);
    expect((await bobDevice.next("typing"))[0]).toEqual(expected);
    // Bob types on his live socket; Alice's device hears it.
    bobLive.send({ type: "typing", conversation_id: conv, status: "typing" });
    expect((await aliceDevice.next("typing"))[0]).toMatchObject({ user_id: bob!.user.user_id, status: "typing" });
    aliceDevice.send({ type: "typing", conversation_id: conv, status: "stopped" });
    await bobLive.until((s) => s.of("typing").some((f) => f.status === "stopped"), "stopped");
    await aliceDevice.settle();
    expect(aliceDevice.of("typing").every((f) => f.user_id === bob!.user.user_id)).toBe(true);

    // Never stored.
    const h = await api("GET", `/api/v1/conversations/${conv}/messages`, { token: bob!.token });
    expect(h.body.messages.map((m: { content_type: string }) => m.content_type)).toEqual(["system"]);
    for (const s of [aliceDevice, bobLive, bobDevice]) s.close();
  });

  it(`in a group of more than ${Limits.typingToDevicesMaxMembers} members, reach live sockets only`, async () => {
    const size = Limits.typingToDevicesMaxMembers + 1;
    const [alice, bob, ...rest] = await quickUsers(size, "tb");
    const conv = await createGroup(alice!, [bob!, ...rest]);
    const bobLive = await live(bob!.token, conv);
    const bobDevice = await connect(bob!.token, "b");
    const aliceLive = await live(alice!.token, conv);
    aliceLive.send({ type: "typing", conversation_id: conv, status: "typing" });
    expect((await bobLive.next("typing"))[0]).toMatchObject({ user_id: alice!.user.user_id, status: "typing" });
    // A message after the typing frame is the barrier: fan-out reaches Bob's device after any typing would have.
    aliceLive.send({ type: "send_message", conversation_id: conv, ...text("hi", "big1") });
    await bobDevice.until((s) => s.of("new_message").some((m) => m.content === "hi"), "the message");
    await bobDevice.settle();
    expect(bobDevice.of("typing")).toEqual([]);

    // One member fewer and the same frame reaches device sockets as well.
    const smaller = await createGroup(alice!, [bob!, ...rest.slice(1)]);
    const aliceDevice = await connect(alice!.token, "a");
    aliceDevice.send({ type: "typing", conversation_id: smaller, status: "typing" });
    expect((await bobDevice.next("typing"))[0]).toMatchObject({ conversation_id: smaller, user_id: alice!.user.user_id });
    for (const s of [aliceLive, aliceDevice, bobLive, bobDevice]) s.close();
  });

  it("forwards at most one typing frame per user per second", async () => {
    const [alice, bob] = await quickUsers(2, "tr");
    const conv = await createGroup(alice!, [bob!]);
    const bobLive = await live(bob!.token, conv);
    const aliceLive = await live(alice!.token, conv);
    for (let i = 0; i < 5; i++) aliceLive.send({ type: "typing", conversation_id: conv, status: "typing" });
    // A message after the burst is the barrier: the live socket gets frames in the order sent.
    aliceLive.send({ type: "send_message", conversation_id: conv, ...text("hi", "t1") });
    await bobLive.until((s) => s.of("new_message").some((m) => m.content === "hi"), "the message");
    expect(bobLive.of("typing")).toHaveLength(1);
    for (const s of [aliceLive, bobLive]) s.close();
  });

  it("alternating typing/stopped as fast as a client can is forwarded as one typing and its stopped, on both sockets", async () => {
    const [alice, bob] = await quickUsers(2, "ta");
    const conv = await createGroup(alice!, [bob!]);
    const bobLive = await live(bob!.token, conv);
    const aliceLive = await live(alice!.token, conv);
    const aliceDevice = await connect(alice!.token, "a");
    const fromAlice = () => bobLive.of("typing").filter((f) => f.user_id === alice!.user.user_id);
    const burst = (socket: typeof aliceLive, barrier: string) => {
      for (let i = 0; i < 100; i++) {
        socket.send({ type: "typing", conversation_id: conv, status: "typing" });
        socket.send({ type: "typing", conversation_id: conv, status: "stopped" });
      }
      // A message after the burst is the barrier: it reaches Bob's live socket after the typing frames.
      socket.send({ type: "send_message", conversation_id: conv, ...text(barrier, barrier) });
      return bobLive.until((s) => s.of("new_message").some((m) => m.content === barrier), barrier);
    };
    // On the live socket: 200 frames in, one typing and one stopped out.
    await burst(aliceLive, "after-live-burst");
    expect(fromAlice().map((f) => f.status)).toEqual(["typing", "stopped"]);
    // After the interval a typing is shown again (the limit is a rate, not a block)…
    await new Promise((r) => setTimeout(r, Limits.typingMinIntervalMs + 100));
    // …and the same burst through the device socket (the user object's path) adds one pair, not 200 frames.
    await burst(aliceDevice, "after-device-burst");
    // (Typing and messages take different calls from the user object: allow the stopped to trail the barrier.)
    await expect.poll(() => fromAlice().map((f) => f.status)).toEqual(["typing", "stopped", "typing", "stopped"]);
    for (const s of [aliceLive, aliceDevice, bobLive]) s.close();
  });

  it("ends by itself when no stopped comes", async () => {
    const [alice, bob] = await quickUsers(2, "te");
    const conv = await createGroup(alice!, [bob!]);
    const bobLive = await live(bob!.token, conv);
    const aliceLive = await live(alice!.token, conv);
    aliceLive.send({ type: "typing", conversation_id: conv, status: "typing" });
    await bobLive.next("typing");
    // The object's alarm, run as when its booked time comes, stands in for the ~5 s (the first may be
    // the fan-out task booked when the group was created; typing expiry is the next).
    await runAlarms(conversationStub(conv), async () => {
      await bobLive.settle();
      return bobLive.of("typing").some((f) => f.status === "stopped");
    });
    const frames = await bobLive.next("typing", 2, 1_000);
    expect(frames.map((f) => f.status)).toEqual(["typing", "stopped"]);
    for (const s of [aliceLive, bobLive]) s.close();
  });

  it("is refused to non-members", async () => {
    const [alice, bob, stranger] = await quickUsers(3, "tn");
    const conv = await createGroup(alice!, [bob!]);
    const s = await connect(stranger!.token, "s");
    s.send({ type: "typing", conversation_id: conv, status: "typing" });
    expect((await s.next("error"))[0]!.code).toBe("not_a_member");
    s.close();
  });
});
