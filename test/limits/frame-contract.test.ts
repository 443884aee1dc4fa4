import { describe, expect, it } from "vitest";
import { historyRateLimited, sendRateLimited } from "../../src/lib/sendRate";
import { Limits } from "../../src/protocol";
import { api, connect, directConversation, registerUser, text, type TestSocket } from "../helpers/client";

/**
 * The rate refusals of the socket contract (test/integration/frame-contract.test.ts), with the
 * production limits: both socket kinds and REST refuse with the same codes and the same words.
 */
type Kind = "device" | "live";

const open = (kind: Kind, token: string, conversationId: string): Promise<TestSocket> =>
  kind === "device" ? connect(token, "contract") : connect(token, "contract", { path: `/api/v1/conversations/${conversationId}/ws` });

describe.each<Kind>(["device", "live"])("the socket contract's rate refusals on the %s socket", (kind) => {
  it("refuses sends over the rate in the REST route's words, and holds back later sends until the refused one comes again", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const socket = await open(kind, ana.token, conversation);
    const ids = Array.from({ length: Limits.sendBurst + 2 }, (_, i) => `s${i}`);
    socket.send(ids.map((id) => ({ type: "send_message", conversation_id: conversation, ...text(id, id) })));
    await socket.until((s) => s.of("message_ack").length + s.of("error").length >= ids.length, "an answer to every send");
    // A token or two may refill while the burst is stored.
    const refused = socket.of("error");
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.map((e) => e.client_msg_id)).toEqual(ids.slice(ids.length - refused.length));
    for (const e of refused) expect({ code: e.code, message: e.message }).toEqual(sendRateLimited);
    // A later send may not overtake the first refused one, even with the rate refilled.
    await new Promise((r) => setTimeout(r, 1_000));
    socket.send({ type: "send_message", conversation_id: conversation, ...text("later", "later") });
    await socket.until((s) => s.of("error").some((e) => e.client_msg_id === "later"), "the held-back send");
    socket.send({ type: "send_message", conversation_id: conversation, ...text("again", refused[0]!.client_msg_id!) });
    await socket.until((s) => s.of("message_ack").some((a) => a.client_msg_id === refused[0]!.client_msg_id), "the refused send, stored when it comes again");
    // REST draws on the same rate: sent in a burst, some are refused, in the same words.
    const rest = await Promise.all(
      Array.from({ length: Limits.sendBurst }, (_, i) => api("POST", `/api/v1/conversations/${conversation}/messages`, { token: ana.token, body: text("over REST", `r${i}`) })),
    );
    const restRefused = rest.filter((r) => r.status === 429);
    expect(restRefused.length).toBeGreaterThan(0);
    for (const r of restRefused) expect(r.body.error).toEqual(sendRateLimited);
    socket.close();
  });

  it("refuses syncs over the history budget in the REST route's words", async () => {
    const [ana, bo] = await Promise.all([registerUser("ana"), registerUser("bo")]);
    const conversation = await directConversation(ana, bo);
    const socket = await open(kind, ana.token, conversation);
    const answers = await Promise.all(
      Array.from({ length: Limits.historyBurst + 10 }, () => api("GET", `/api/v1/conversations/${conversation}/messages?limit=1`, { token: ana.token })),
    );
    const rest = answers.find((a) => a.status === 429)!;
    expect(rest.body.error).toEqual(historyRateLimited);
    // A token or two may have refilled meanwhile, not five (and five fit the socket's sync queue).
    socket.send(Array.from({ length: 5 }, () => ({ type: "sync", conversation_id: conversation, after_seq: 0, limit: 1 })));
    const [refused] = await socket.next("error");
    expect({ code: refused!.code, message: refused!.message }).toEqual(historyRateLimited);
    socket.close();
  });
});
