import { describe, expect, it } from "vitest";
import { Limits } from "../../src/protocol";
import { api, connect, directConversation, registerUser, text } from "../helpers/client";

describe("non-members", () => {
  it("are refused on every conversation route and every socket action", async () => {
    const [a, b, stranger] = [await registerUser(), await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const sent = await api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, body: text("private", "p1") });
    expect(sent.status).toBe(201);

    const routes: [string, string, unknown?][] = [
      ["GET", `/api/v1/conversations/${conv}`],
      ["GET", `/api/v1/conversations/${conv}/messages`],
      ["GET", `/api/v1/conversations/${conv}/messages?after=0`],
      ["POST", `/api/v1/conversations/${conv}/messages`, text("intruder", "x1")],
    ];
    for (const [method, path, body] of routes) {
      const res = await api(method, path, { token: stranger.token, body });
      expect([403, 404], `${method} ${path}`).toContain(res.status);
      expect(res.body.error).toMatchObject({ code: expect.any(String), message: expect.any(String) });
    }
    const list = await api("GET", "/api/v1/conversations", { token: stranger.token });
    expect(list.body.conversations).toEqual([]);

    const s = await connect(stranger.token, "s1");
    s.send({ type: "send_message", conversation_id: conv, ...text("intruder", "x2") });
    s.send({ type: "message_status", conversation_id: conv, server_msg_id: sent.body.server_msg_id, status: "read" });
    s.send({ type: "sync", conversation_id: conv, after_seq: 0 });
    const errors = await s.next("error", 3);
    expect(errors.map((e) => e.code).sort()).toEqual(["not_a_member", "not_a_member", "not_a_member"]);
    expect(errors.find((e) => e.client_msg_id === "x2")).toBeTruthy();
    expect(s.of("new_message")).toEqual([]);

    // Nothing the stranger tried reached the conversation.
    const history = await api("GET", `/api/v1/conversations/${conv}/messages`, { token: a.token });
    expect(history.body.messages.map((m: { content: string }) => m.content)).toEqual(["private"]);
    s.close();
  });

  it("get a plain 404 for conversation ids that are not ours", async () => {
    const a = await registerUser();
    for (const id of ["nope", "d_" + "x".repeat(22), "../../etc"]) {
      const res = await api("GET", `/api/v1/conversations/${encodeURIComponent(id)}/messages`, { token: a.token });
      expect(res.status).toBe(404);
    }
  });
});

describe("malformed input", () => {
  it("answers bad frames with an error frame and keeps the socket working", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const s = await connect(a.token, "a1");
    const bad: [unknown, string][] = [
      ["{not json", "invalid_json"],
      ["[]", "invalid_frame"],
      [{ type: "no_such_frame" }, "invalid_frame"],
      [{ type: "send_message", conversation_id: conv }, "invalid_frame"],
      [{ type: "send_message", conversation_id: conv, content: 42, content_type: "text", client_msg_id: "n1" }, "invalid_frame"],
      [{ type: "send_message", conversation_id: conv, content: "x", content_type: "system", client_msg_id: "n2" }, "invalid_frame"],
      [{ type: "send_message", conversation_id: conv, content: "  ", content_type: "text", client_msg_id: "n3" }, "bad_request"],
      [{ type: "send_message", conversation_id: conv, content: "é".repeat(Limits.maxContentBytes / 2 + 1), content_type: "text", client_msg_id: "n4" }, "content_too_large"],
      [{ type: "heartbeat", pad: "x".repeat(Limits.maxFrameBytes) }, "frame_too_large"],
      ["x".repeat(Limits.maxBatchBytes + 1), "frame_too_large"],
      [{ type: "sync", conversation_id: conv, after_seq: -1 }, "invalid_frame"],
      [{ type: "message_status", conversation_id: conv, server_msg_id: "bogus", status: "read" }, "message_not_found"],
      [{ type: "message_status", conversation_id: conv, server_msg_id: "m1_x", status: "seen" }, "invalid_frame"],
    ];
    for (const [frame] of bad) s.send(frame);
    const errors = await s.next("error", bad.length);
    expect(errors.map((e) => e.code)).toEqual(bad.map(([, code]) => code));
    for (const e of errors) expect(e.message.length).toBeGreaterThan(0);
    expect(errors[4]!.client_msg_id).toBe("n1");
    expect(errors[7]!.client_msg_id).toBe("n4");
    expect(errors[8]!.code).toBe("frame_too_large");

    // Still usable, and nothing bad was stored.
    s.send({ type: "send_message", conversation_id: conv, ...text("still here", "ok1") });
    const [ack] = await s.next("message_ack");
    expect(ack!.seq).toBe(1);
    const exact = "é".repeat(Limits.maxContentBytes / 2);
    s.send({ type: "send_message", conversation_id: conv, ...text(exact, "ok2") });
    await s.next("message_ack", 2);
    const history = await api("GET", `/api/v1/conversations/${conv}/messages`, { token: b.token });
    expect(history.body.messages.map((m: { client_msg_id?: string; seq: number }) => m.seq)).toEqual([1, 2]);
    expect(history.body.messages[1].content).toBe(exact);
    s.close();
  });

  it("answers bad bodies with 400 and the error shape", async () => {
    const [a, b] = [await registerUser(), await registerUser()];
    const conv = await directConversation(a, b);
    const post = (rawBody: string) => api("POST", `/api/v1/conversations/${conv}/messages`, { token: a.token, rawBody });
    const cases: [string, number, string][] = [
      ["{", 400, "invalid_json"],
      ["{}", 400, "bad_request"],
      [JSON.stringify({ content: "x", content_type: "text" }), 400, "bad_request"],
      [JSON.stringify({ content: "x", content_type: "sticker", client_msg_id: "c" }), 400, "bad_request"],
      [JSON.stringify(text("x".repeat(Limits.maxContentBytes + 1), "big")), 413, "content_too_large"],
      [JSON.stringify({ ...text("x", "c"), client_msg_id: "c".repeat(129) }), 400, "bad_request"],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body);
      expect(res.status, body.slice(0, 60)).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    const create = await api("POST", "/api/v1/conversations", { token: a.token, body: { type: "channel", member_ids: [] } });
    expect(create.status).toBe(400);
    const unknownRoute = await api("GET", "/api/v1/nothing-here", { token: a.token });
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body.error.code).toBe("not_found");
    const history = await api("GET", `/api/v1/conversations/${conv}/messages`, { token: a.token });
    expect(history.body.messages).toEqual([]);
  });

  it("refuses a socket without a valid device id, or without an upgrade", async () => {
    const a = await registerUser();
    const { openSocket } = await import("../helpers/client");
    const res = await openSocket(a.token, "bad device id!");
    expect(res.status).toBe(400);
    const plain = await api("GET", `/api/v1/ws?device_id=d1`, { token: a.token });
    expect(plain.status).toBe(400);
  });
});
