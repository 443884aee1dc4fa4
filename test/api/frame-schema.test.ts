import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, inject, it } from "vitest";
import { FRAME_SCHEMA_PATH, frameJsonSchema, Subprotocol, type ClientFrame, type ServerFrame } from "../../src/protocol";

/**
 * The socket protocol's JSON Schema (src/protocol/frameSchema.ts, served at FRAME_SCHEMA_PATH and
 * kept in docs/frames.schema.json) against a recorded session on a real server: every socket message
 * each side sent, on both socket kinds, validates, and the session holds every frame type.
 */
const baseUrl = inject("serverUrl");

type Kind = "device" | "live";

/** A real socket that records both directions, raw, as they crossed the wire. */
class RecordedSocket {
  readonly sent: string[] = [];
  readonly received: string[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    readonly kind: Kind,
    private readonly ws: WebSocket,
  ) {
    ws.addEventListener("message", (e) => {
      this.received.push(String(e.data));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(kind: Kind, token: string, path: string, subprotocol: string): Promise<RecordedSocket> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}${path}`, [subprotocol, `bearer.${token}`]);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`${kind} socket did not open`)), { once: true });
    });
    return new RecordedSocket(kind, ws);
  }

  send(message: ClientFrame | ClientFrame[] | string) {
    const raw = typeof message === "string" ? message : JSON.stringify(message);
    this.sent.push(raw);
    this.ws.send(raw);
  }

  frames(): ServerFrame[] {
    return this.received.flatMap((raw) => JSON.parse(raw) as ServerFrame | ServerFrame[]);
  }

  async until(done: (frames: ServerFrame[]) => boolean, what: string, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.frames())) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.kind} socket: timed out waiting for ${what}; got ${this.received.slice(-5).join(" ")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
  }

  has(type: ServerFrame["type"], where: (f: any) => boolean = () => true) {
    return (frames: ServerFrame[]) => frames.some((f) => f.type === type && where(f));
  }

  close() {
    this.ws.close(1000, "done");
  }
}

async function call<T = any>(method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const res = await fetch(`${baseUrl}/api/v1${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

const register = (name: string) =>
  call<{ token: string; user: { user_id: string } }>("POST", "/auth/register", null, {
    username: `${name}_${Math.random().toString(36).slice(2, 10)}`,
    password: "correct horse battery",
  });

describe("the socket protocol's JSON Schema", () => {
  it("is served, and docs/frames.schema.json is the same document (npm run schemas writes it)", async () => {
    const served = await (await fetch(`${baseUrl}${FRAME_SCHEMA_PATH}`)).json();
    expect(served).toEqual(frameJsonSchema());
    expect(JSON.parse(readFileSync(new URL("../../docs/frames.schema.json", import.meta.url), "utf8"))).toEqual(frameJsonSchema());
  });

  it("validates a recorded session holding every frame type, both directions, on both socket kinds", async () => {
    const [alice, bob, carol] = await Promise.all([register("alice"), register("bob"), register("carol")]);
    // Carol's consent is needed to add her: the add becomes an invitation frame.
    await call("PATCH", "/users/me", carol.token, { groups_add: "nobody" });
    const { conversation } = await call("POST", "/conversations", alice.token, { type: "group", name: "schema", member_ids: [bob.user.user_id] });
    const conv: string = conversation.conversation_id;

    const aliceDevice = await RecordedSocket.open("device", alice.token, "/api/v1/ws?device_id=alice-phone", Subprotocol.batched);
    const bobDevice = await RecordedSocket.open("device", bob.token, "/api/v1/ws?device_id=bob-phone", Subprotocol.single);
    const carolDevice = await RecordedSocket.open("device", carol.token, "/api/v1/ws?device_id=carol-phone", Subprotocol.batched);
    const bobLive = await RecordedSocket.open("live", bob.token, `/api/v1/conversations/${conv}/ws`, Subprotocol.batched);
    const aliceLive = await RecordedSocket.open("live", alice.token, `/api/v1/conversations/${conv}/ws`, Subprotocol.single);
    const sockets = [aliceDevice, bobDevice, carolDevice, bobLive, aliceLive];

    // Device sockets: every client frame, and what they bring back.
    aliceDevice.send({ type: "presence_subscribe", user_ids: [bob.user.user_id] });
    await aliceDevice.until(aliceDevice.has("presence"), "presence");
    aliceDevice.send([
      { type: "send_message", conversation_id: conv, content: "one", content_type: "text", client_msg_id: "d1" },
      { type: "send_message", conversation_id: conv, content: "two", content_type: "text", client_msg_id: "d2" },
    ]);
    await aliceDevice.until(aliceDevice.has("message_ack", (f) => f.client_msg_id === "d2"), "acks");
    await bobDevice.until(bobDevice.has("new_message", (f) => f.content === "two"), "the messages");
    const two = bobDevice.frames().find((f) => f.type === "new_message" && f.content === "two") as Extract<ServerFrame, { type: "new_message" }>;
    bobDevice.send({ type: "message_status", conversation_id: conv, server_msg_id: two.server_msg_id, status: "read" });
    await aliceDevice.until(aliceDevice.has("message_status", (f) => f.status === "read"), "the read receipt");
    // Replies, mentions, actions and forwards: rows of the sequence with their relations.
    bobDevice.send({
      type: "send_message",
      conversation_id: conv,
      content: "@alice yes",
      content_type: "text",
      client_msg_id: "r1",
      reply_to: two.server_msg_id,
      mentions: [{ user_id: alice.user.user_id, offset: 0, length: 6 }],
    });
    bobDevice.send({ type: "message_action", conversation_id: conv, client_msg_id: "x1", action: "reaction", server_msg_id: two.server_msg_id, content: "👍" });
    bobDevice.send({ type: "forward_message", conversation_id: conv, client_msg_id: "f1", from: { conversation_id: conv, server_msg_id: two.server_msg_id } });
    await aliceDevice.until(aliceDevice.has("new_message", (f) => f.forwarded === 1), "the forward");
    aliceDevice.send({ type: "message_action", conversation_id: conv, client_msg_id: "e1", action: "edit", server_msg_id: two.server_msg_id, content: "two!" });
    await bobDevice.until(bobDevice.has("new_message", (f) => f.content_type === "edit"), "the edit");
    await call("POST", `/conversations/${conv}/messages/${two.server_msg_id}/star`, bob.token);
    await bobDevice.until(bobDevice.has("marks"), "the marks frame");
    await call("PATCH", `/conversations/${conv}/settings`, bob.token, { muted_until: "always", pinned: true });
    await bobDevice.until(bobDevice.has("conversation_settings"), "the conversation_settings frame");
    await call("PATCH", "/users/me", bob.token, { about: "on holiday" });
    await bobDevice.until(bobDevice.has("profile"), "the profile frame");
    bobDevice.send({ type: "typing", conversation_id: conv, status: "typing" });
    await aliceDevice.until(aliceDevice.has("typing"), "typing");
    bobDevice.send({ type: "sync", conversation_id: conv, after_seq: 0, limit: 10 });
    bobDevice.send({ type: "heartbeat" });
    await bobDevice.until(bobDevice.has("heartbeat_ack"), "heartbeat_ack");
    bobDevice.send({ type: "sync", conversation_id: "g_nothing_here_000000", after_seq: 0 } as ClientFrame);
    await bobDevice.until(bobDevice.has("error"), "an error");
    await call("POST", `/conversations/${conv}/members`, alice.token, { user_ids: [carol.user.user_id] });
    await carolDevice.until(carolDevice.has("invitation"), "the invitation");

    // Live sockets: the same client frames, and what they bring back.
    bobLive.send({ type: "send_message", conversation_id: conv, content: "live", content_type: "text", client_msg_id: "l1" });
    await bobLive.until(bobLive.has("message_ack"), "the live ack");
    await aliceLive.until(aliceLive.has("new_message", (f) => f.content === "live"), "the live message");
    const live = aliceLive.frames().find((f) => f.type === "new_message" && f.content === "live") as Extract<ServerFrame, { type: "new_message" }>;
    aliceLive.send({ type: "message_status", conversation_id: conv, server_msg_id: live.server_msg_id, status: "delivered" });
    aliceLive.send({ type: "message_action", conversation_id: conv, client_msg_id: "lx1", action: "reaction", server_msg_id: live.server_msg_id, content: "🎉" });
    aliceLive.send({ type: "forward_message", conversation_id: conv, client_msg_id: "lf1", from: { conversation_id: conv, server_msg_id: live.server_msg_id } });
    await bobLive.until(bobLive.has("new_message", (f) => f.content_type === "reaction"), "the live reaction");
    aliceLive.send({ type: "typing", conversation_id: conv, status: "typing" });
    await bobLive.until(bobLive.has("typing"), "typing on the live socket");
    aliceLive.send({ type: "sync", conversation_id: conv, after_seq: 0, limit: 5 });
    aliceLive.send(' {"type":"heartbeat"}');
    aliceLive.send({ type: "presence_subscribe", user_ids: [bob.user.user_id] });
    await aliceLive.until(aliceLive.has("error"), "the presence refusal");
    await aliceLive.until(aliceLive.has("heartbeat_ack"), "heartbeat_ack");
    aliceLive.send("{not json");
    await aliceLive.until((f) => f.filter((x) => x.type === "error").length >= 2, "the invalid_json error");

    const ajv = new Ajv2020({ strict: true, allErrors: true });
    ajv.addSchema(frameJsonSchema());
    const clientMessage = ajv.getSchema(`${FRAME_SCHEMA_PATH}#/$defs/ClientMessage`)!;
    const serverMessage = ajv.getSchema(`${FRAME_SCHEMA_PATH}#/$defs/ServerMessage`)!;
    const seen = { device: { client: new Set<string>(), server: new Set<string>() }, live: { client: new Set<string>(), server: new Set<string>() } };
    for (const socket of sockets) {
      for (const raw of socket.sent) {
        if (raw === "{not json") continue; // sent to be refused: not JSON, so no schema could hold it
        const message = JSON.parse(raw);
        if (!clientMessage(message)) throw new Error(`${socket.kind} client message ${raw} fails the schema: ${ajv.errorsText(clientMessage.errors)}`);
        for (const f of [message].flat()) seen[socket.kind].client.add(f.type);
      }
      for (const raw of socket.received) {
        const message = JSON.parse(raw);
        if (!serverMessage(message)) throw new Error(`${socket.kind} server message ${raw} fails the schema: ${ajv.errorsText(serverMessage.errors)}`);
        for (const f of [message].flat()) seen[socket.kind].server.add(f.type);
      }
    }
    const clientTypes = ["send_message", "message_action", "forward_message", "message_status", "sync", "heartbeat", "typing", "presence_subscribe"];
    expect([...seen.device.client].sort()).toEqual([...clientTypes].sort());
    expect([...seen.live.client].sort()).toEqual([...clientTypes].sort());
    // Every server frame type on the device socket; on the live socket, all but what only the device
    // socket carries (receipts to senders, presence, invitations, the user's own marks and settings).
    expect([...seen.device.server].sort()).toEqual(["conversation_settings", "error", "heartbeat_ack", "invitation", "marks", "message_ack", "message_status", "new_message", "presence", "profile", "typing"]);
    expect([...seen.live.server].sort()).toEqual(["error", "heartbeat_ack", "message_ack", "new_message", "typing"]);
    // And the schema is not a rubber stamp: a frame with a wrong field fails it.
    expect(serverMessage({ type: "message_ack", client_msg_id: "x" })).toBe(false);
    expect(clientMessage({ type: "send_message", conversation_id: conv, content: "x", content_type: "gif", client_msg_id: "x" })).toBe(false);
    for (const s of sockets) s.close();
  });
});
