import { describe, expect, it } from "vitest";
import { ok, refuse, type Result } from "../../src/lib/result";
import { FrameCore, type FramePort, type FrameSocket } from "../../src/objects/frameCore";
import type { SendOutcome } from "../../src/objects/conversation/sending";
import { ErrorCode, type ServerFrame } from "../../src/protocol";
import { captureLogs } from "../helpers/logs";

/**
 * The frame core through its public surface: a real socket pair and a port that can fail. What a
 * throwing port does to either socket kind (the device and live ports are the two real ones) is
 * decided here, once: the client hears an error without the detail, naming the send if it was one,
 * and the socket keeps answering.
 */
function socketPair(batched = false) {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  client.accept();
  server.accept();
  const frames: ServerFrame[] = [];
  client.addEventListener("message", (e) => frames.push(...[JSON.parse(String(e.data))].flat()));
  const socket: FrameSocket = { ws: server, userId: "u_test", batched };
  const until = async (n: number) => {
    for (let i = 0; i < 200 && frames.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    return frames;
  };
  return { socket, frames, until };
}

/** A port that stores in place (as the live port does) and fails where `failing` says, once. */
function port(failing: Set<string>): FramePort<FrameSocket> {
  let seq = 0;
  const once = (what: string) => {
    if (failing.delete(what)) throw new Error(`secret detail: ${what} on fire`);
  };
  return {
    scope: null,
    admitSends: (_s, ids) => (once("admit"), ids.length),
    store: (_s, sends): Result<SendOutcome[]> => {
      once("store");
      return ok(
        sends.map((x) => ({
          ok: true as const,
          ack: { client_msg_id: x.message.client_msg_id, server_msg_id: `m${++seq}_x`, conversation_id: x.conversationId, seq, status: "sent" as const, timestamp: 1 },
        })),
      );
    },
    status: () => (once("status"), ok(undefined)),
    admitHistory: () => (once("admitHistory"), true),
    history: async () => (once("history"), ok({ messages: [], next_cursor: null } as never)),
    typing: () => (once("typing"), refuse(ErrorCode.notAMember, "you are not a member of this conversation")),
    presenceSubscribe: null,
  };
}

const send = (id: string) => JSON.stringify({ type: "send_message", conversation_id: "c1", content: "hi", content_type: "text", client_msg_id: id });

describe("the frame core", () => {
  it("answers a port that throws while storing with an internal error naming the send, without the detail; the resend is stored", async () => {
    const { socket, frames, until } = socketPair();
    const core = new FrameCore(port(new Set(["store"])), "live");
    const { lines } = await captureLogs(async () => {
      await core.receive(socket, send("s1"));
      await core.receive(socket, send("s1"));
      await until(2);
    });
    // The detail is logged, with the socket kind and the user.
    expect(lines.map((l) => [l.level, l.msg, l.socket, l.user_id, l.error?.message])).toEqual([["error", "send failed", "live", "u_test", "secret detail: store on fire"]]);
    expect(frames[0]).toEqual({ type: "error", code: "internal_error", message: "could not store the message; retry", client_msg_id: "s1" });
    expect(frames[1]).toMatchObject({ type: "message_ack", client_msg_id: "s1" });
    expect(JSON.stringify(frames)).not.toContain("secret");
  });

  it("answers a port that throws on a status, a sync or typing with an internal error, and keeps answering", async () => {
    const { socket, frames, until } = socketPair();
    const core = new FrameCore(port(new Set(["status", "history", "typing"])), "device");
    const { lines } = await captureLogs(async () => {
      await core.receive(socket, JSON.stringify({ type: "message_status", conversation_id: "c1", server_msg_id: "m1_x", status: "read" }));
      await core.receive(socket, JSON.stringify({ type: "sync", conversation_id: "c1", after_seq: 0 }));
      await core.receive(socket, JSON.stringify({ type: "typing", conversation_id: "c1", status: "typing" }));
      // Typing again: this time the port answers a refusal, which is passed on as it is.
      await core.receive(socket, JSON.stringify({ type: "typing", conversation_id: "c1", status: "typing" }));
      await core.receive(socket, ' {"type":"heartbeat"}');
      await until(5);
    });
    expect(lines.map((l) => l.frame)).toEqual(["message_status", "sync", "typing"]);
    expect(frames).toEqual([
      { type: "error", code: "internal_error", message: "internal error" },
      { type: "error", code: "internal_error", message: "internal error" },
      { type: "error", code: "internal_error", message: "internal error" },
      { type: "error", code: "not_a_member", message: "you are not a member of this conversation" },
      { type: "heartbeat_ack" },
    ]);
  });

  it("answers a failed rate check with a retry error for every send of the message, and stores none of them", async () => {
    const { socket, frames, until } = socketPair(true);
    const core = new FrameCore(port(new Set(["admit"])), "device");
    const { lines } = await captureLogs(async () => {
      await core.receive(socket, `[${send("a")},${send("b")}]`);
      await until(2);
    });
    expect(lines.map((l) => l.msg)).toEqual(["send rate check failed"]);
    expect(frames.map((f) => f.type === "error" && [f.code, f.client_msg_id])).toEqual([
      ["internal_error", "a"],
      ["internal_error", "b"],
    ]);
  });
});
