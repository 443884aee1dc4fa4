/** The printed tables (the JSON carries everything, unrounded). */
import type { Diurnal } from "./diurnal";
import type { hotSpots } from "./hotspots";
import { Cloudflare, Code, type Params } from "./params";
import type { Fleet, Simulation } from "./simulate";
import type { Summary } from "./stats";

/** 3 significant figures, thousands separated; billions and millions spelled short. */
export function num(n: number): string {
  if (!Number.isFinite(n)) return "—";
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toPrecision(3)}B`;
  if (a >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (a >= 1000) return Math.round(n).toLocaleString("en-US");
  if (a >= 10) return n.toFixed(0);
  if (a >= 1) return n.toFixed(1);
  if (a === 0) return "0";
  return n.toPrecision(2);
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const FLEET_ROWS: [keyof Fleet, string][] = [
  ["messages", "messages stored (sendMessages)"],
  ["deliver", "fan-out deliver calls"],
  ["deviceAcks", "delivered/read acks (device frames)"],
  ["updateCursor", "updateCursor calls"],
  ["receiptNotices", "receipt notices (pushFrames)"],
  ["typingRpcs", "typing frames → conversation"],
  ["typingForwards", "typing forwards (pushFrames)"],
  ["conversationAlarms", "conversation alarms"],
  ["catchUpHistory", "catch-up history calls"],
  ["connects", "device socket connects"],
  ["subscribePresence", "subscribePresence calls"],
  ["presenceChanged", "presenceChanged calls"],
  ["userAlarms", "user alarms (liveness, pushes)"],
  ["profileLookups", "push name look-ups (profile)"],
  ["mediaDescribe", "media view checks (describe)"],
  ["userObjectRequests", "all requests into UserObjects"],
  ["conversationObjectRequests", "all requests into ConversationObjects"],
];

function summaryRow(name: string, s: Summary, scale: number, thresholds: number[]): string[] {
  return [
    name,
    num(s.mean),
    num(s.p50),
    num(s.p99),
    num(s.p9999),
    num(s.max),
    num(s.maxAtFullScale),
    ...thresholds.map((t) => num((s.above[String(t)] ?? 0) * scale)),
  ];
}

export function printReport(
  p: Params,
  diurnal: Diurnal,
  main: Simulation,
  upper: Simulation,
  upperPerDay: number,
  spots: ReturnType<typeof hotSpots>,
): void {
  const out: string[] = [];
  const s = main.sample;
  const upperName = `${(upperPerDay / 1e9).toFixed(0)}B/day`;
  out.push(`Parley scale model — seed ${p.seed}, ${num(s.users)} users sampled (1/${num(main.scale)} of ${num(p.fullUsers)})`);
  out.push(
    `Day: a region's busiest hour is ${diurnal.localPeakFactor.toFixed(2)}× its mean; the world's is ${diurnal.globalPeakFactor.toFixed(2)}× (at ${hhmm(diurnal.peakUtcHour)} UTC).`,
  );
  out.push(
    `Peak ${num(s.messagesPerSecondAtPeak * main.scale)} msg/s ⇔ ${((s.messagesPerDay * main.scale) / 1e9).toFixed(1)}B messages/day. ${(100 * s.groupMessageShare).toFixed(0)}% of messages in groups (${s.recipientsPerGroupMessage.toFixed(1)} recipients each), ${s.recipientsPerMessage.toFixed(1)} recipients per message overall.`,
  );
  out.push(`Sample: ${num(s.dailyUsers)} daily users, ${num(s.online)} online at the peak, ${num(s.directConversations)} 1:1 chats and ${num(s.groupConversations)} groups with traffic today.\n`);

  const o = main.objects;
  out.push(
    section("Objects at full scale", ["kind", "count", "what"], [
      ["DirectoryObject", num(o.directory), "one per username"],
      ["UserObject", num(o.user), `one per user; ${num(main.fleet.deviceSockets)} device sockets open at the peak`],
      ["ConversationObject", num(o.conversation), `${num(o.conversationDirect)} 1:1 + ${num(o.conversationGroup)} groups; ${num(o.conversationActiveAtPeak)} with traffic today`],
    ]),
  );

  const msgs = main.fleet.messages;
  out.push(
    section(
      "Requests at the peak, full scale (/s)",
      ["operation", "per second", "per message", `at ${upperName}`],
      FLEET_ROWS.map(([key, label]) => [label, num(main.fleet[key]), num(main.fleet[key] / msgs), num(upper.fleet[key])]),
    ),
  );

  const th = p.thresholds;
  const flagged = [main.conversationIncoming, main.conversationOutgoing, main.userIncoming, upper.conversationIncoming, upper.conversationOutgoing, upper.userIncoming]
    .map((x) => x.above[String(th[0])] ?? 0)
    .reduce((a, b) => a + b, 0);
  out.push(
    section(
      "Per-object rates at the peak (incoming requests unless said; Cloudflare's soft limit is ~1,000/s)",
      ["requests/s per object", "mean", "p50", "p99", "p99.99", "max (sample)", "max (2B, Hill)", ...th.map((t) => `≥${num(t)} (2B)`)],
      [
        summaryRow("ConversationObject in", main.conversationIncoming, main.scale, th),
        summaryRow("ConversationObject calls out", main.conversationOutgoing, main.scale, th),
        summaryRow("UserObject in", main.userIncoming, main.scale, th),
        summaryRow(`… ${upperName}: Conversation in`, upper.conversationIncoming, upper.scale, th),
        summaryRow(`… ${upperName}: Conversation out`, upper.conversationOutgoing, upper.scale, th),
        summaryRow(`… ${upperName}: User in`, upper.userIncoming, upper.scale, th),
      ],
      flagged === 0
        ? `Flagged: no sampled object at or above ${num(th[0]!)}/s, in either case.`
        : `Flagged: ${flagged} sampled objects at or above ${num(th[0]!)}/s (see the JSON's top lists).`,
    ),
  );

  const t = main.trendMaxAtFullScale;
  out.push(
    section(
      "How the busiest object grows with the population (mean maximum of interleaved sub-samples; last rows: carried to 2B)",
      ["users", "Conversation in", "Conversation out", "User in"],
      [
        ...main.growth.map((g) => [num(g.users), num(g.conversationIn), num(g.conversationOut), num(g.userIn)]),
        [`${num(p.fullUsers)} (trend)`, num(t.conversationIn), num(t.conversationOut), num(t.userIn)],
        [`${num(p.fullUsers)} (Hill)`, num(main.conversationIncoming.maxAtFullScale), num(main.conversationOutgoing.maxAtFullScale), num(main.userIncoming.maxAtFullScale)],
        ["slope (log max / log users)", ...t.slopes.map((x) => x.toFixed(2))],
      ],
    ),
  );

  const q = main.queues;
  const sockets = `Cloudflare ${num(Cloudflare.socketsPerObject)}`;
  out.push(
    section("Sockets, queues, R2 at the peak (full scale)", ["what", "value", "against"], [
      ["device sockets per UserObject, max", String(main.sockets.userObjectMax), `code cap ${Code.devicesPerUser}; ${sockets}`],
      ["live sockets per ConversationObject, max (expected)", num(main.sockets.conversationLiveMax), `code cap ${Code.liveSocketsPerUser} per user; ${sockets}`],
      ["device sockets, all", num(main.fleet.deviceSockets), "spread over the online users' objects"],
      ["push queue messages/s", num(q.pushMessages), `${q.pushQueues} queues at 5,000/s; ${q.pushQueuesForConsumers} for consumers sending ${Code.pushSendConcurrency} at a time (shards: PUSH_JOBS_1 … bindings; wrangler.toml has 1)`],
      ["thumbnail jobs/s", num(q.mediaJobs), `${q.mediaQueues} queues at 5,000/s (shards: MEDIA_JOBS_1 … bindings; wrangler.toml has 1)`],
      ["R2 class A (writes, lists)/s", num(main.fleet.r2ClassA), "media records, bytes, grants, thumbnails, view-URL grant lists"],
      ["R2 class B (reads)/s", num(main.fleet.r2ClassB), "media reads and checks"],
      ["R2 archive segment PUTs/s, at most", num(main.fleet.r2ArchivePuts), "1 per 1,000 messages once a conversation passes its hot window"],
    ]),
  );

  out.push("Busiest objects in the sample");
  out.push(
    table(
      ["ConversationObject", "members", "msg/s", "in/s", "cursors", "typing", "out/s", "deliver", "typing out"],
      main.top.byOutgoing.slice(0, 3).map((c) => [
        c.group ? "group" : "1:1",
        String(c.members),
        ...[c.messagesPerSecond, c.incoming.total, c.incoming.cursors, c.incoming.typing, c.outgoing.total, c.outgoing.deliver, c.outgoing.typing].map(num),
      ]),
    ),
  );
  out.push(
    section(
      null,
      ["UserObject", "in/s", "device", "deliver", "typing", "receipts", "push names", "presence", "convs", "1:1 chats"],
      main.top.users.slice(0, 3).map((u, i) => [
        `#${i + 1} (${u.devicesConnected} dev online)`,
        ...[u.incoming.total, u.incoming.deviceFrames, u.incoming.deliveries, u.incoming.typing, u.incoming.receipts, u.incoming.pushNameLookups, u.incoming.presence].map(num),
        String(u.conversations),
        num(u.directChats),
      ]),
    ),
  );

  out.push("Hot spots (same per-operation costs, inputs in bench/scale/hotspots.ts)");
  out.push(
    table(
      ["group", "msg/s", "in/s", "out/s", "deliver out", "typing out", "member in", "top sender in", "cursor log GB/day", "days to 10 GB"],
      spots.groups.map((g) => [
        `${g.members} members, ${Math.round(g.onlineShare * 100)}% online`,
        ...[g.rate, g.load.incoming.total, g.load.outgoing.total, g.load.outgoing.deliver, g.load.outgoing.typing, g.memberIncoming, g.topSenderIncoming].map(num),
        (g.cursorLogBytesPerDay / 1e9).toPrecision(2),
        num(g.daysToStorageLimit),
      ]),
    ),
  );
  const f = spots.fixed;
  out.push(
    `The first group with the proposed fixes (10 relays, cursors ≤ 1/s per member): ${num(f.incoming)}/s in, ${num(f.outgoing)}/s out; each relay ${num(f.relayIncoming)}/s in, ${num(f.relayOutgoing)}/s out; top sender ${num(f.topSenderIncoming)}/s in.`,
  );
  out.push(
    `A ${Code.groupMaxMembers}-member group reaches 1,000 requests/s in at ${num(spots.groupRateForLimit.incoming)} msg/s, 1,000 calls/s out at ${num(spots.groupRateForLimit.outgoing)} msg/s.`,
  );
  out.push(
    `Code caps: a conversation stores at most members × ${Code.sendPerSecond} msg/s (the per-user send rate), ${num(Code.groupMaxMembers * Code.sendPerSecond)} msg/s for ${Code.groupMaxMembers} members; a user object holds at most ${Code.devicesPerUser} device sockets.`,
  );
  out.push(
    table(
      ["user in N groups", "msg/s each", "devices", "in/s"],
      spots.busyMembers.map((b) => [String(b.groups), num(b.rate), String(b.devices), num(b.incoming)]),
    ),
  );
  const ib = spots.inbox;
  out.push(
    `Public figure, ${num(ib.chats)} 1:1 chats (${Math.round(ib.partnersOnline * 100)}% of partners online): ${num(ib.incoming)} requests/s in (${num(ib.subscribes)} presence watches, ${num(ib.deliveries)} deliveries); each online/offline change → ${num(ib.presenceFanOut)} presenceChanged calls; watches alone reach 1,000/s at ${num(ib.chatsAtLimit)} chats.`,
  );
  out.push(
    table(
      ["case", "object", "in/s", "out/s", "against ~1,000/s"],
      spots.rows.map((r) => [r.name, r.object, num(r.incoming), num(r.outgoing), r.fleet ? "fleet total, spread" : verdict(r.incoming, r.outgoing)]),
    ),
  );
  console.log(out.join("\n"));
}

/** A titled table and a blank line after it (and a line of its own under the table, if given). */
function section(title: string | null, header: string[], rows: string[][], after?: string): string {
  return [...(title ? [title] : []), table(header, rows), ...(after ? [after] : []), ""].join("\n");
}

function verdict(incoming: number, outgoing: number): string {
  const limit = Cloudflare.requestsPerObject;
  const parts: string[] = [];
  if (incoming >= limit) parts.push(`in ${(incoming / limit).toFixed(incoming >= 10 * limit ? 0 : 1)}× over`);
  else if (incoming >= limit / 2) parts.push("in near");
  if (outgoing >= limit) parts.push("calls out > 1,000/s");
  return parts.join("; ") || (Number.isNaN(incoming) ? "depends on N" : "within");
}

function hhmm(h: number): string {
  const m = Math.round(h * 60);
  return `${String(Math.floor(m / 60) % 24).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}
