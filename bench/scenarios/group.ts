import type { ParleyClient } from "../../src/client";
import { WorkerInspector, type ProfileSummary } from "../inspector";
import { FanoutTimer, registerMany, Server, sleep } from "../lib";
import { findServerProcesses } from "../serverProcesses";

/**
 * 500-member fan-out: every member runs an SDK client with its device socket open (with `live`, also
 * watching the group on its live socket, as a client with the group on screen does); one member
 * sends `messages` messages `intervalMs` apart; for each message, the time until the last member's
 * client has it (whichever socket brought it first).
 */
export async function groupFanout(
  server: Server,
  /** `profile`: a CPU profile of the runtime's JavaScript over the timed sends (BENCH_GROUP_PROFILE=1). */
  opts: { members: number; messages: number; intervalMs: number; live: boolean; profile?: boolean },
) {
  const users = await registerMany(server, opts.members, "g");
  const [sender, ...others] = users;
  const created = await server.rest(sender!).call("createConversation", {
    body: { type: "group", name: "bench", member_ids: others.map((u) => u.user.user_id) },
  });
  const conversation = created.conversation.conversation_id;

  const timer = new FanoutTimer();
  const onMessage = (m: { content: string }) => timer.note(m.content);
  const clients: ParleyClient[] = [];
  for (let i = 0; i < others.length; i += 50) {
    const batch = await Promise.all(others.slice(i, i + 50).map((u, k) => server.client(u, `gd${i + k}`)));
    for (const c of batch) {
      c.on("message", onMessage);
      if (opts.live) c.watch(conversation);
    }
    clients.push(...batch);
  }
  const senderClient = await server.client(sender!, "gsender");
  await sleep(12_000); // let the runtime evict the directory objects registration woke (see direct.ts)
  await senderClient.send(conversation, "warm");
  await sleep(2_000);

  const runtime = opts.profile ? findServerProcesses(server.base).find((p) => p.role === "runtime") : undefined;
  const inspector = runtime ? await WorkerInspector.attach(runtime.pid, server.base) : null;
  await inspector?.startProfile();
  const timed = await timer.run((id) => senderClient.send(conversation, id), { ...opts, recipients: others.length });
  // Where a round's time goes: the user objects' delivery against the conversation's fan-out.
  let profile: ProfileSummary | undefined;
  if (inspector) {
    profile = await inspector.stopProfile(25, ["deliver", "publish", "webSocketMessage", "updateCursor", "pushFrames", "sendFrames", "flushCursors"]);
    inspector.close();
  }
  for (const c of [...clients, senderClient]) c.stop();
  return {
    sockets: opts.live ? "device + live sockets" : "device sockets",
    members: opts.members,
    messages: opts.messages,
    ...timed,
    ...(profile ? { profile } : {}),
  };
}
