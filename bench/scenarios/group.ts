import type { ParleyClient } from "../../src/client";
import { WorkerInspector, type ProfileSummary } from "../inspector";
import { FanoutTimer, registerMany, Server, sleep } from "../lib";
import { findRuntime } from "../serverProcesses";

/** One timed round of sends: `messages` messages `intervalMs` apart. */
export interface GroupPhase {
  key: string;
  messages: number;
  intervalMs: number;
  /** Members also watch the group on their live socket, as a client with the group on screen does. */
  live?: boolean;
}

/**
 * 500-member fan-out: every member runs an SDK client with its device socket open; one member sends
 * each phase's messages `intervalMs` apart; for each message, the time until the last member's
 * client has it (whichever socket brought it first). The members are registered once for every
 * phase (each registration is a PBKDF2). Phases run in order; once a `live` phase starts, watching stays on.
 */
export async function groupFanout(
  server: Server,
  /** `profile`: a CPU profile of the runtime's JavaScript over the first phase's sends (BENCH_GROUP_PROFILE=1; the server needs its inspector). */
  opts: { members: number; phases: GroupPhase[]; profile?: boolean },
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
    for (const c of batch) c.on("message", onMessage);
    clients.push(...batch);
  }
  const senderClient = await server.client(sender!, "gsender");
  await sleep(12_000); // let the runtime evict the directory objects registration woke (see direct.ts)
  await senderClient.send(conversation, "warm");
  await sleep(2_000);

  const results: Record<string, unknown> = {};
  try {
    for (const [i, phase] of opts.phases.entries()) {
      if (phase.live) for (const c of clients) c.watch(conversation);
      const inspector = i === 0 && opts.profile ? await WorkerInspector.attach(findRuntime(server.base, server.pid).pid, server.base) : null;
      await inspector?.startProfile();
      const timed = await timer.run((id) => senderClient.send(conversation, id), { ...phase, recipients: others.length, prefix: `${phase.key}-` });
      // Where a round's time goes: the user objects' delivery against the conversation's fan-out.
      let profile: ProfileSummary | undefined;
      if (inspector) {
        profile = await inspector.stopProfile(25, ["deliver", "publish", "webSocketMessage", "updateCursor", "pushFrames", "sendFrames", "flushCursors"]);
        inspector.close();
      }
      results[phase.key] = {
        sockets: phase.live ? "device + live sockets" : "device sockets",
        members: opts.members,
        messages: phase.messages,
        interval_ms: phase.intervalMs,
        ...timed,
        ...(profile ? { profile } : {}),
      };
      await sleep(2_000); // the next phase starts from quiet
    }
  } finally {
    for (const c of [...clients, senderClient]) c.stop();
  }
  return results;
}
