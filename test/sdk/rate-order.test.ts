import { afterAll, describe, expect, it } from "vitest";
import type { ClientFrame, ParleyClient } from "../../src/client";
import { DevServer } from "../helpers/devServer";
import { account, client, until } from "../helpers/sdk";

/**
 * A burst past the send limit, from the SDK against a real server with a small limit: every message
 * is stored once and in the order it was sent, including messages sent while the refused ones wait.
 */
const BURST = 10;
const PER_SECOND = 5;
const server = new DevServer(undefined, { SEND_BURST: String(BURST), SEND_PER_SECOND: String(PER_SECOND) });
afterAll(() => server.stop("SIGKILL"));

describe("sending faster than the server allows", () => {
  it("stores a burst past the limit, and sends made while it waits, once each and in send order", async () => {
    await server.start();
    const base = server.url;
    const [alice, bob] = await Promise.all([account(base, "ro"), account(base, "ro")]);
    const { conversation } = await client(base, alice, "setup").rest.call("createConversation", { body: { type: "direct", member_ids: [bob.user.user_id] } });
    const conversationId = conversation.conversation_id;

    const sentFrames: ClientFrame[] = [];
    let refusals = 0;
    const a: ParleyClient = client(base, alice, "alice-phone", {
      createSocket: (url, protocols) => {
        const ws = new WebSocket(url, protocols);
        const send = ws.send.bind(ws);
        ws.send = (data: string) => {
          const parsed = JSON.parse(data) as ClientFrame | ClientFrame[];
          sentFrames.push(...(Array.isArray(parsed) ? parsed : [parsed]));
          send(data);
        };
        ws.addEventListener("message", (e) => {
          const frames = [JSON.parse(String(e.data))].flat() as { type: string; code?: string }[];
          refusals += frames.filter((f) => f.type === "error" && f.code === "rate_limited").length;
        });
        return ws;
      },
    });
    void a.start();
    try {
      await until([a], () => a.connectionState === "open", "alice connected");
      const order: string[] = [];
      const send = async (text: string) => {
        order.push(text);
        await a.send(conversationId, text);
      };
      // Three times the burst in one go: the first BURST are stored, the rest refused and held.
      await Promise.all(Array.from({ length: BURST * 3 }, (_, i) => send(`burst ${i + 1}`)));
      await until([a], () => refusals > 0, "the first refusal");
      // Sends made while the refused ones wait must not overtake them, though tokens refill meanwhile.
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 1; i <= 5; i++) await send(`later ${i}`);
      await until([a], () => a.pending(conversationId).length === 0, "every message acknowledged", 60_000);

      const history = await a.rest.call("history", { conversation_id: conversationId, query: { after: 0, limit: 100 } });
      const stored = history.messages.filter((m) => m.content_type === "text").map((m) => m.content);
      expect(stored).toEqual(order);
      expect(refusals).toBeGreaterThan(0); // the limit was really hit
      // Each message went out at least once more than it was stored only because it was refused.
      const sends = sentFrames.filter((f) => f.type === "send_message");
      expect(new Set(sends.map((f) => f.type === "send_message" && f.client_msg_id)).size).toBe(order.length);
    } finally {
      a.stop();
    }
  });
});
