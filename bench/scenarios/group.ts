import type { ServerFrame } from "../../src/protocol";
import { round, Server, sleep, summarize, waitFor, type Account } from "../lib";

/** Registers `count` users, `concurrency` at a time (each costs a 100,000-iteration PBKDF2). */
async function registerMany(server: Server, count: number, prefix: string, concurrency = 8): Promise<Account[]> {
  const out: Account[] = [];
  for (let i = 0; i < count; i += concurrency) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(concurrency, count - i) }, (_, k) => server.register(`${prefix}${i + k}`)))));
  }
  return out;
}

/**
 * 500-member fan-out: every member has its device socket open (or, with `live`, the group's live
 * socket, as a client with the group on screen does); one member sends `messages` messages
 * `intervalMs` apart; for each message, the time until the last member has it.
 */
export async function groupFanout(
  server: Server,
  opts: { members: number; messages: number; intervalMs: number; live: boolean },
) {
  const users = await registerMany(server, opts.members, "g");
  const [sender, ...others] = users;
  const created = await server.call("POST", "/api/v1/conversations", { type: "group", name: "bench", member_ids: others.map((u) => u.user.user_id) }, sender!.token);
  const conversation: string = created.conversation.conversation_id;

  const sentAt = new Map<string, number>();
  const arrivals = new Map<string, number[]>();
  const onFrame = (f: ServerFrame) => {
    if (f.type !== "new_message" || !sentAt.has(f.content)) return;
    const list = arrivals.get(f.content) ?? [];
    list.push(performance.now());
    arrivals.set(f.content, list);
  };
  const sockets: WebSocket[] = [];
  for (let i = 0; i < others.length; i += 50) {
    const path = opts.live ? `/api/v1/conversations/${conversation}/ws` : "/api/v1/ws";
    sockets.push(...(await Promise.all(others.slice(i, i + 50).map((u, k) => server.socket(u.token, `gd${i + k}`, onFrame, path)))));
  }
  const senderSocket = await server.socket(sender!.token, "gsender", () => {});
  await sleep(12_000); // let the runtime evict the directory objects registration woke (see direct.ts)
  senderSocket.send(JSON.stringify({ type: "send_message", conversation_id: conversation, content: "warm", content_type: "text", client_msg_id: "warm" }));
  await sleep(2_000);

  for (let n = 0; n < opts.messages; n++) {
    const id = `g${n}`;
    sentAt.set(id, performance.now());
    senderSocket.send(JSON.stringify({ type: "send_message", conversation_id: conversation, content: id, content_type: "text", client_msg_id: id }));
    await sleep(opts.intervalMs);
  }
  const recipients = others.length;
  await waitFor(() => [...sentAt.keys()].every((id) => (arrivals.get(id)?.length ?? 0) >= recipients), 120_000, "every member to have every message");
  const toLast = [...sentAt.entries()].map(([id, t0]) => Math.max(...arrivals.get(id)!) - t0);
  const toFirst = [...sentAt.entries()].map(([id, t0]) => Math.min(...arrivals.get(id)!) - t0);
  const spanSeconds = (Math.max(...[...arrivals.values()].flat()) - Math.min(...sentAt.values())) / 1000;
  for (const s of [...sockets, senderSocket]) s.close();
  return {
    sockets: opts.live ? "live conversation sockets" : "device sockets",
    members: opts.members,
    messages: opts.messages,
    to_last_member_ms: summarize(toLast),
    to_first_member_ms: summarize(toFirst),
    deliveries_per_s: round((opts.messages * recipients) / spanSeconds, 0),
  };
}
