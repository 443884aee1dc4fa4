/**
 * Many users in one user object, many conversations in one conversation object (USER_SHARDS,
 * CONVERSATION_SHARDS; src/objects/homes.ts): what one shard carries at the peak, for a full-scale
 * shard count N.
 *
 * The sample is 1/2,000 of the population, so a full-scale shard of 2B/N users is a sample shard of
 * (sample users)/(N/2,000) users: the sample's users (and its conversations with traffic today) are
 * placed into N/2,000 shards with the code's own placement (shardOf, jump consistent hashing over
 * FNV-1a), under stable ids `u<index>` and `c<index>`. A shard's rates are sums of independent
 * objects' rates, so a sample shard's are a full-scale shard's, as a sampled object's are a full-scale
 * object's (docs/scaling.md, "From 1/2,000 to 2B").
 *
 * What sharding merges, where the model has what it takes:
 * - a fan-out round calls each user object it touches once (conversation/post.ts, fanout.ts), and a
 *   typing frame each other member's object once (typing.ts): a round to m members is D(m) calls,
 *   D = N·(1 − (1 − 1/N)^m), the expected number of shards m members fall in among N. It is the
 *   full-scale N that counts: in the sample, a group's members would meet in one of N/2,000 shards
 *   2,000 times as often as they do (a 500-member group in 50 sample shards touches ≤ 50), so
 *   counting distinct sample shards would overstate the saving;
 * - a user object's liveness alarm is one per object (user/presence.ts), not one per connected user:
 *   rated as the main model rates one user's, once per (Limits.deviceSilenceMs + 1 s) while any socket
 *   is open. (It is booked for when the quietest socket would pass the silence limit: with many sockets
 *   heartbeating at random phases the quietest was heard from up to a heartbeat period ago, so a busy
 *   shard's comes somewhat more often; either way a shard's alarms are a rounding error beside its
 *   other requests.)
 * Everything else is summed: each request lands on the shard as before. Not counted, so the sums are
 * upper bounds there: sends from one user object to conversations of one home merged into one call
 * (outbox.ts), rounds to one user object from several conversations of one home in the same turn
 * (post.ts), push windows of several users sharing one alarm; and, like the fan-out's, merges that
 * need two users of one exchange in one shard, rare once N is much larger than a conversation:
 * presence watches and changes (user/frames.ts, presence.ts), receipt notices (receipts.ts).
 */
import { shardOf } from "../../src/lib/placement";
import { Cloudflare, Code, StorageBytes, storedHistoryDays, type Params, type ShardCounts } from "./params";
import type { Population } from "./population";
import { num, table } from "./report";
import type { PerObject, Simulation } from "./simulate";
import { blockMaxima, extrapolateMax, quantile, summarise } from "./stats";

/** Over the sample's shards; `maxAtN` estimates the busiest of the N full-scale shards (see `maxAtN`). */
export interface ShardStats {
  mean: number;
  p50: number;
  p99: number;
  max: number;
  maxAtN: number;
}

export type LimitName = "requests in" | "sockets" | "storage";

export interface ShardRow {
  /** Full-scale shard count; null: one object per user (per conversation), as without the setting. */
  shards: number | null;
  /** Per full-scale shard: users, and of them online at the peak; or conversations, and of them with traffic today. */
  perShard: number;
  activePerShard: number;
  sampleShards: number;
  incoming: ShardStats;
  outgoing: ShardStats;
  sockets: ShardStats;
  storageBytes: ShardStats;
  /** Full scale, per second: calls into user objects that sharding merges (deliver, typing forwards), and liveness alarms. */
  fleet: { deliver: number; typingForwards: number; liveness: number; requestsIn: number };
  /** Max at N ÷ limit, per limit; the largest, and whether all are within half their limit. */
  load: Record<LimitName, number>;
  binding: LimitName;
  safe: boolean;
}

export interface ShardReport {
  /** Users at full scale, and how many times the sample's. */
  fullUsers: number;
  scale: number;
  users: ShardRow[];
  conversations: ShardRow[];
  /** The busiest single object at 2B that `maxAtN` puts in a median shard, per kind and figure. */
  busiestObject: { user?: { incoming: number; outgoing: number; storageBytes: number }; conversation?: { incoming: number; outgoing: number; liveSockets: number; storageBytes: number } };
  /** User shards the conversation rows' calls out assume (null: one user object per user). */
  conversationsAssumeUserShards: number | null;
  notes: string[];
}

/** Headroom asked of every limit: a shard is safe when its estimated maximum is at most limit ÷ 2. */
export const HEADROOM = 2;

const LIMITS: Record<LimitName, number> = {
  "requests in": Cloudflare.requestsPerObject,
  sockets: Cloudflare.socketsPerObject,
  storage: Cloudflare.storagePerObjectBytes,
};

/** Expected shards `members` fall in among `shards` (all distinct when unsharded). */
export function distinctShards(shards: number | null, members: number): number {
  if (shards === null || members <= 0) return Math.max(0, members);
  return -shards * Math.expm1(members * Math.log1p(-1 / shards));
}

/** A user object's liveness alarms a second with `sockets` device sockets open (as simulate.ts rates one user's). */
export function livenessPerSecond(sockets: number): number {
  return sockets > 0 ? 1000 / (Code.deviceSilenceMs + 1000) : 0;
}

/**
 * The most a conversation's hot tables can hold, as the code bounds them: a full group, a full hot
 * window (with its slack), a delivered and a read cursor advance from every other member for each of
 * those messages, and the archived keys of 30 days at 1 msg/s around the clock (a busier conversation
 * is a hot spot: hotspots.ts). Hill's estimate runs past it (its power-law tail has no such end).
 */
export function conversationStorageCeiling(): number {
  const members = Code.groupMaxMembers;
  const hot = Code.hotWindow + Code.hotWindowSlack;
  return (
    StorageBytes.conversation +
    members * StorageBytes.member +
    hot * (StorageBytes.message + 2 * (members - 1) * StorageBytes.cursorAdvance) +
    Code.archivedKeyRetentionDays * 86_400 * StorageBytes.archivedKey
  );
}

/** Sample shards for N full-scale ones: N ÷ (full users ÷ sample users), which must be at least 1. */
function sampleShardsFor(n: number, scale: number, kind: string, notes: string[]): number {
  const b = n / scale;
  if (b < 1) {
    throw new Error(
      `--${kind}-shards=${n}: the sample is 1/${num(scale)} of the population, so ${n} shards would be ${b.toPrecision(2)} sample shards; ` +
        `N must be at least ${num(scale)} (or sample more users with --users)`,
    );
  }
  const rounded = Math.round(b);
  if (rounded !== b) notes.push(`${kind} shards ${shardCount(n)}: ${b.toPrecision(4)} sample shards, rounded to ${rounded}`);
  return rounded;
}

/** The busiest single object at full scale: the larger of Hill's estimate and the trend of block maxima (as the main report). */
function objectMaxAtFullScale(values: Float64Array, scale: number): number {
  const hill = summarise(values, [], scale).maxAtFullScale;
  const trend = extrapolateMax(blockMaxima(values, 6), scale).max;
  return Math.max(Number.isFinite(hill) ? hill : 0, trend);
}

/**
 * The busiest of N shards, from N ÷ 2,000 sampled: the largest of (1) the sample's busiest shard,
 * (2) a median shard that also holds the busiest single object at full scale, and (3) mean + σ·√(2 ln N),
 * how far the largest of N near-normal sums lies above their mean.
 */
function maxAtN(shardValues: Float64Array, objectMax: number, n: number): ShardStats {
  const sorted = Float64Array.from(shardValues).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const mean = sorted.length ? sum / sorted.length : 0;
  let sq = 0;
  for (const v of sorted) sq += (v - mean) ** 2;
  const sd = sorted.length > 1 ? Math.sqrt(sq / (sorted.length - 1)) : 0;
  const p50 = quantile(sorted, 0.5);
  const max = sorted[sorted.length - 1] ?? 0;
  return { mean, p50, p99: quantile(sorted, 0.99), max, maxAtN: Math.max(max, p50 + objectMax, mean + sd * Math.sqrt(2 * Math.log(n))) };
}

/** One object each: the per-object distribution (non-zero objects, as the main report), its maximum carried to full scale. */
function perObjectStats(values: Float64Array, scale: number, cap = Infinity): ShardStats {
  const s = summarise(values, [], scale);
  return { mean: s.mean, p50: s.p50, p99: s.p99, max: s.max, maxAtN: Math.min(cap, Math.max(s.max, objectMaxAtFullScale(values, scale))) };
}

function verdict(incoming: ShardStats, sockets: ShardStats, storage: ShardStats) {
  const load: Record<LimitName, number> = {
    "requests in": incoming.maxAtN / LIMITS["requests in"],
    sockets: sockets.maxAtN / LIMITS.sockets,
    storage: storage.maxAtN / LIMITS.storage,
  };
  const binding = (Object.keys(load) as LimitName[]).reduce((a, b) => (load[b] > load[a] ? b : a));
  return { load, binding, safe: load[binding] <= 1 / HEADROOM };
}

/** Storage a user takes in its user object (bytes; StorageBytes). */
function userStorage(pop: Population): Float64Array {
  const { users, existing } = pop;
  let groupinessSum = 0;
  for (let u = 0; u < users.n; u++) groupinessSum += users.groupiness[u]!;
  // A user's group memberships ∝ their groupiness; each lists its group's members, a group of k
  // members seen by k of them: k²/k, so the mean list a membership carries is Σk²/Σk.
  const listedPerGroup = existing.groupMemberships > 0 ? existing.groupMemberSlots / existing.groupMemberships : 0;
  const out = new Float64Array(users.n);
  for (let u = 0; u < users.n; u++) {
    const direct = users.existingDirect[u]!;
    const groups = (existing.groupMemberships * users.groupiness[u]!) / groupinessSum;
    const conversations = direct + groups;
    const devices = users.devices[u]!;
    out[u] =
      StorageBytes.user +
      conversations * StorageBytes.inboxRow +
      (direct * 2 + groups * listedPerGroup) * StorageBytes.listedMember +
      devices * conversations * StorageBytes.deliveryCursor +
      devices * StorageBytes.device +
      direct * StorageBytes.watcher;
  }
  return out;
}

/** Storage a conversation with traffic today takes in its conversation object (bytes; StorageBytes). */
function conversationStorage(pop: Population, o: PerObject["conversation"], p: Params): Float64Array {
  const cv = pop.conversations;
  const out = new Float64Array(cv.count);
  for (let c = 0; c < cv.count; c++) {
    const members = cv.memberStart[c + 1]! - cv.memberStart[c]!;
    const stored = cv.perDay[c]! * storedHistoryDays;
    const hot = Math.min(stored, Code.hotWindow + Code.hotWindowSlack);
    const viewShare = cv.group[c] ? p.viewShare.group : p.viewShare.direct;
    // cursor_advances: a row per cursor move (two when a read moves delivered too), pruned with the archive.
    const advancesPerMessage = o.rate[c]! > 0 ? (o.cursors[c]! / o.rate[c]!) * (1 + viewShare) : 0;
    const archivedKeys = stored > Code.hotWindow ? Math.min(cv.perDay[c]! * Code.archivedKeyRetentionDays, stored - Code.hotWindow) : 0;
    out[c] =
      StorageBytes.conversation +
      members * StorageBytes.member +
      hot * (StorageBytes.message + advancesPerMessage * StorageBytes.cursorAdvance) +
      archivedKeys * StorageBytes.archivedKey;
  }
  return out;
}

/** Rates every requested shard count, users and conversations. */
export function rateShards(p: Params, pop: Population, main: Simulation, o: PerObject, counts: ShardCounts): ShardReport {
  const scale = main.scale;
  const notes: string[] = [];
  const { users, conversations: cv } = pop;
  const userBytes = userStorage(pop);
  const convBytes = conversationStorage(pop, o.conversation, p);
  const userIds = Array.from({ length: users.n }, (_, u) => `u${u}`);
  const convIds = Array.from({ length: cv.count }, (_, c) => `c${c}`);

  // ---- users ----
  const userRows: ShardRow[] = [];
  const busiestObject: ShardReport["busiestObject"] = {};
  if (counts.users.length > 0) {
    const sockets = Float64Array.from(users.connected);
    let deliverEach = 0;
    let typingEach = 0;
    let livenessEach = 0;
    let requestsEach = 0;
    for (let c = 0; c < cv.count; c++) {
      const m = cv.memberStart[c + 1]! - cv.memberStart[c]!;
      deliverEach += o.conversation.rounds[c]! * m;
      typingEach += o.conversation.typingForwards[c]! * (m - 1);
    }
    for (let u = 0; u < users.n; u++) {
      livenessEach += o.user.liveness[u]!;
      requestsEach += o.user.incoming[u]!;
    }
    const incoming = perObjectStats(o.user.incoming, scale);
    const socketStats = perObjectStats(sockets, scale, Code.devicesPerUser);
    const storage = perObjectStats(userBytes, scale);
    userRows.push({
      shards: null,
      perShard: 1,
      activePerShard: 1,
      sampleShards: users.n,
      incoming,
      outgoing: perObjectStats(o.user.outgoing, scale),
      sockets: socketStats,
      storageBytes: storage,
      fleet: { deliver: deliverEach * scale, typingForwards: typingEach * scale, liveness: livenessEach * scale, requestsIn: requestsEach * scale },
      ...verdict(incoming, socketStats, storage),
    });

    const outMax = objectMaxAtFullScale(o.user.outgoing, scale);
    const storageMax = objectMaxAtFullScale(userBytes, scale);
    busiestObject.user = { incoming: incoming.maxAtN, outgoing: outMax, storageBytes: storageMax };
    for (const n of counts.users) {
      const b = sampleShardsFor(n, scale, "user", notes);
      // Per user, requests in with this N's merging, without the liveness alarm (the shard's, below).
      const base = new Float64Array(users.n);
      for (let u = 0; u < users.n; u++) {
        base[u] = Math.max(0, o.user.incoming[u]! - o.user.deliver[u]! - o.user.typing[u]! - o.user.liveness[u]!);
      }
      let deliver = 0;
      let typing = 0;
      for (let c = 0; c < cv.count; c++) {
        const m = cv.memberStart[c + 1]! - cv.memberStart[c]!;
        const dm = distinctShards(n, m);
        const dt = distinctShards(n, m - 1);
        const rounds = o.conversation.rounds[c]!;
        const forwards = o.conversation.typingForwards[c]!;
        deliver += rounds * dm;
        typing += forwards * dt;
        // Each member's object gets its round merged with those of the other members in its shard:
        // D(m) calls among m members; a typing frame D(m − 1) calls among the m − 1 others.
        const perMember = m > 0 ? (rounds * dm) / m : 0;
        const perOther = m > 1 ? dt / (m - 1) : 0;
        for (let j = cv.memberStart[c]!; j < cv.memberStart[c + 1]!; j++) {
          base[cv.members[j]!]! += perMember + forwards * (1 - cv.share[j]!) * perOther;
        }
      }
      const shardIn = new Float64Array(b);
      const shardOut = new Float64Array(b);
      const shardSockets = new Float64Array(b);
      const shardBytes = new Float64Array(b);
      for (let u = 0; u < users.n; u++) {
        const k = shardOf(userIds[u]!, b);
        shardIn[k]! += base[u]!;
        shardOut[k]! += o.user.outgoing[u]!;
        shardSockets[k]! += users.connected[u]!;
        shardBytes[k]! += userBytes[u]!;
      }
      let liveness = 0;
      for (let k = 0; k < b; k++) {
        const alarms = livenessPerSecond(shardSockets[k]!);
        shardIn[k]! += alarms;
        liveness += alarms;
      }
      let requests = 0;
      for (let k = 0; k < b; k++) requests += shardIn[k]!;
      // The busiest user object at 2B, with this N's merges and its own liveness alarm, in a median shard.
      const alone = new Float64Array(users.n);
      for (let u = 0; u < users.n; u++) alone[u] = base[u]! + o.user.liveness[u]!;
      const inStats = maxAtN(shardIn, objectMaxAtFullScale(alone, scale), n);
      const socketStats = maxAtN(shardSockets, Code.devicesPerUser, n);
      const storageStats = maxAtN(shardBytes, storageMax, n);
      userRows.push({
        shards: n,
        perShard: p.fullUsers / n,
        activePerShard: (main.sample.online * scale) / n,
        sampleShards: b,
        incoming: inStats,
        outgoing: maxAtN(shardOut, outMax, n),
        sockets: socketStats,
        storageBytes: storageStats,
        fleet: { deliver: deliver * scale, typingForwards: typing * scale, liveness: liveness * scale, requestsIn: requests * scale },
        ...verdict(inStats, socketStats, storageStats),
      });
    }
  }

  // ---- conversations ----
  const convRows: ShardRow[] = [];
  const assumeUsers = counts.users.length === 1 ? counts.users[0]! : null;
  if (counts.conversations.length > 0) {
    // Calls out: each round one `deliver` per user object touched, a typing frame one call per other
    // member's object touched, receipt notices to senders.
    const out = new Float64Array(cv.count);
    for (let c = 0; c < cv.count; c++) {
      const m = cv.memberStart[c + 1]! - cv.memberStart[c]!;
      out[c] =
        o.conversation.rounds[c]! * distinctShards(assumeUsers, m) +
        o.conversation.receipts[c]! +
        o.conversation.typingForwards[c]! * distinctShards(assumeUsers, m - 1);
    }
    const all = pop.existing.direct + pop.existing.groups;
    let activeMembers = 0;
    for (let c = 0; c < cv.count; c++) activeMembers += cv.memberStart[c + 1]! - cv.memberStart[c]!;
    // Conversations without traffic today exist too: their rows and members, spread evenly. Their
    // messages are in the active ones' year of history (params.ts, storedHistoryDays).
    const idleConversations = Math.max(0, all - cv.count);
    const idleMembers = Math.max(0, 2 * pop.existing.direct + pop.existing.groupMemberships - activeMembers);
    const idleBytes = idleConversations * StorageBytes.conversation + idleMembers * StorageBytes.member;

    const incoming = perObjectStats(o.conversation.incoming, scale);
    const sockets = perObjectStats(o.conversation.liveSockets, scale);
    const ceiling = conversationStorageCeiling();
    const storage = perObjectStats(convBytes, scale, ceiling);
    convRows.push({
      shards: null,
      perShard: 1,
      activePerShard: cv.count / all,
      sampleShards: cv.count,
      incoming,
      outgoing: perObjectStats(out, scale),
      sockets,
      storageBytes: storage,
      fleet: { deliver: 0, typingForwards: 0, liveness: 0, requestsIn: sumOf(o.conversation.incoming) * scale },
      ...verdict(incoming, sockets, storage),
    });
    const inMax = objectMaxAtFullScale(o.conversation.incoming, scale);
    const outMax = objectMaxAtFullScale(out, scale);
    const socketMax = objectMaxAtFullScale(o.conversation.liveSockets, scale);
    busiestObject.conversation = { incoming: inMax, outgoing: outMax, liveSockets: socketMax, storageBytes: 0 };
    const storageEstimate = objectMaxAtFullScale(convBytes, scale);
    const storageMax = Math.min(storageEstimate, ceiling);
    busiestObject.conversation.storageBytes = storageMax;
    if (storageEstimate > ceiling) {
      notes.push(
        `the largest conversation's storage at ${num(p.fullUsers)} users, ${bytes(storageEstimate)} by Hill's estimate, is held to ${bytes(ceiling)}, the most the code lets a conversation keep (shards.ts conversationStorageCeiling)`,
      );
    }
    for (const n of counts.conversations) {
      const b = sampleShardsFor(n, scale, "conversation", notes);
      const shardIn = new Float64Array(b);
      const shardOut = new Float64Array(b);
      const shardSockets = new Float64Array(b);
      const shardBytes = new Float64Array(b).fill(idleBytes / b);
      for (let c = 0; c < cv.count; c++) {
        const k = shardOf(convIds[c]!, b);
        shardIn[k]! += o.conversation.incoming[c]!;
        shardOut[k]! += out[c]!;
        shardSockets[k]! += o.conversation.liveSockets[c]!;
        shardBytes[k]! += convBytes[c]!;
      }
      const inStats = maxAtN(shardIn, inMax, n);
      const socketStats = maxAtN(shardSockets, socketMax, n);
      const storageStats = maxAtN(shardBytes, storageMax, n);
      convRows.push({
        shards: n,
        perShard: (all * scale) / n,
        activePerShard: (cv.count * scale) / n,
        sampleShards: b,
        incoming: inStats,
        outgoing: maxAtN(shardOut, outMax, n),
        sockets: socketStats,
        storageBytes: storageStats,
        fleet: { deliver: 0, typingForwards: 0, liveness: 0, requestsIn: sumOf(shardIn) * scale },
        ...verdict(inStats, socketStats, storageStats),
      });
    }
  }
  return { fullUsers: p.fullUsers, scale, users: userRows, conversations: convRows, busiestObject, conversationsAssumeUserShards: assumeUsers, notes };
}

function sumOf(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** 1e5, 2.5e6, 2e9: a shard count as it would be written on the command line. */
export function shardCount(n: number | null): string {
  if (n === null) return "each (unset)";
  if (n < 10_000) return String(n);
  const e = Math.floor(Math.log10(n));
  const m = n / 10 ** e;
  return `${Number(m.toPrecision(3))}e${e}`;
}

export function bytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)} kB`;
  return `${Math.round(n)} B`;
}

function statCells(s: ShardStats, f: (n: number) => string = num): string[] {
  return [f(s.mean), f(s.p50), f(s.p99), f(s.max), f(s.maxAtN)];
}

function smallestSafe(rows: ShardRow[]): string {
  const safe = rows.filter((r) => r.shards !== null && r.safe).sort((a, b) => a.shards! - b.shards!)[0];
  const tried = rows.filter((r) => r.shards !== null);
  if (!safe) return `none of ${tried.map((r) => shardCount(r.shards)).join(", ")} keeps every shard within 1/${HEADROOM} of each limit.`;
  const below = tried.filter((r) => r.shards! < safe.shards!).sort((a, b) => b.shards! - a.shards!)[0];
  const why = below ? `; at ${shardCount(below.shards)}, ${below.binding} reaches ${(below.load[below.binding] * 100).toFixed(0)}% of its limit` : "";
  return `${shardCount(safe.shards)} (binding: ${safe.binding}, ${(safe.load[safe.binding] * 100).toFixed(0)}% of its limit${why}).`;
}

const maxAtNLine = (full: string) =>
  `max at N: the largest of the sample's busiest shard; a median shard that also holds the busiest single object at ${full} (Hill's or the trend's estimate, whichever is larger); and mean + σ·√(2 ln N), the largest of N near-normal sums.`;

export function printShards(report: ShardReport): void {
  const out: string[] = [];
  const full = num(report.fullUsers);
  const perSample = `N/${num(report.scale)}`;
  const limitCells = (r: ShardRow) => [
    ...(["requests in", "sockets", "storage"] as LimitName[]).map((l) => `${(r.load[l] * 100).toFixed(l === "requests in" ? 0 : 1)}%`),
    r.binding,
    r.safe ? "yes" : "no",
  ];
  if (report.users.length > 0) {
    const rows = report.users;
    const each = rows[0]!;
    out.push(
      `\nUser shards (USER_SHARDS=N at ${full} users): the sample's users placed by shardOf into ${perSample} shards of ${full}/N users each; per-shard figures are full scale`,
    );
    out.push(
      table(
        ["N", "users/shard", "online/shard", "sample shards", "in/s mean", "p50", "p99", "max", "max at N", "out/s mean", "p50", "p99", "max", "max at N"],
        rows.map((r) => [
          shardCount(r.shards),
          num(r.perShard),
          r.shards === null ? "—" : num(r.activePerShard),
          num(r.sampleShards),
          ...statCells(r.incoming),
          ...statCells(r.outgoing),
        ]),
      ),
    );
    out.push(maxAtNLine(full));
    const b = report.busiestObject.user!;
    out.push(
      `Busiest user object at ${full} users: ${num(b.incoming)}/s in, ${num(b.outgoing)}/s out, ${bytes(b.storageBytes)}. Out: sendMessages, updateCursor, typing, history, subscribePresence, presenceChanged, push profile look-ups and queue messages.`,
    );
    out.push(
      "\n" +
        table(
          ["N", "sockets mean", "p50", "p99", "max", "max at N", "storage mean", "p50", "p99", "max", "max at N", "in ÷ 1,000/s", "sockets ÷ 32,768", "storage ÷ 10 GB", "binding", `within 1/${HEADROOM}`],
          rows.map((r) => [shardCount(r.shards), ...statCells(r.sockets), ...statCells(r.storageBytes, bytes), ...limitCells(r)]),
        ),
    );
    out.push(
      "\n" +
        table(
          ["N", "deliver calls/s (fleet)", "vs each", "typing forwards/s", "vs each", "liveness alarms/s", "vs each", "requests into user objects/s"],
          rows.map((r) => [
            shardCount(r.shards),
            num(r.fleet.deliver),
            r.shards === null ? "—" : saved(r.fleet.deliver, each.fleet.deliver),
            num(r.fleet.typingForwards),
            r.shards === null ? "—" : saved(r.fleet.typingForwards, each.fleet.typingForwards),
            num(r.fleet.liveness),
            r.shards === null ? "—" : saved(r.fleet.liveness, each.fleet.liveness),
            num(r.fleet.requestsIn),
          ]),
        ),
    );
    out.push(`Smallest user shard count here with every shard's max at N within 1/${HEADROOM} of each limit: ${smallestSafe(rows)}`);
  }
  if (report.conversations.length > 0) {
    const rows = report.conversations;
    const assumed = report.conversationsAssumeUserShards;
    out.push(
      `\nConversation shards (CONVERSATION_SHARDS=N): the sample's conversations with traffic today placed by shardOf into ${perSample} shards; calls out assume ${assumed === null ? "one user object per user" : `USER_SHARDS=${shardCount(assumed)}`}`,
    );
    out.push(
      table(
        ["N", "conversations/shard", "with traffic today", "sample shards", "in/s mean", "p50", "p99", "max", "max at N", "out/s mean", "p50", "p99", "max", "max at N"],
        rows.map((r) => [
          shardCount(r.shards),
          num(r.perShard),
          r.shards === null ? `${(r.activePerShard * 100).toFixed(0)}% of them` : num(r.activePerShard),
          num(r.sampleShards),
          ...statCells(r.incoming),
          ...statCells(r.outgoing),
        ]),
      ),
    );
    out.push(maxAtNLine(full) + " Each (unset): per conversation with traffic today.");
    const b = report.busiestObject.conversation!;
    out.push(
      `Busiest conversation object at ${full} users: ${num(b.incoming)}/s in, ${num(b.outgoing)}/s out (deliver, receipt notices, typing), ${num(b.liveSockets)} live sockets, ${bytes(b.storageBytes)}.`,
    );
    out.push(
      "\n" +
        table(
          ["N", "live sockets mean", "p50", "p99", "max", "max at N", "storage mean", "p50", "p99", "max", "max at N", "in ÷ 1,000/s", "sockets ÷ 32,768", "storage ÷ 10 GB", "binding", `within 1/${HEADROOM}`],
          rows.map((r) => [shardCount(r.shards), ...statCells(r.sockets), ...statCells(r.storageBytes, bytes), ...limitCells(r)]),
        ),
    );
    out.push(
      `Storage: ${storedHistoryDays} days of each conversation's traffic at today's rate, up to the hot window (${num(Code.hotWindow)} + ${num(Code.hotWindowSlack)} slack), at ${StorageBytes.message} B a message; its cursor advances; members; archived keys (params.ts StorageBytes).`,
    );
    out.push(`Smallest conversation shard count here with every shard's max at N within 1/${HEADROOM} of each limit: ${smallestSafe(rows)}`);
  }
  for (const note of report.notes) out.push(`Note: ${note}`);
  console.log(out.join("\n"));
}

function saved(value: number, each: number): string {
  if (each <= 0) return "—";
  const change = (value / each - 1) * 100;
  if (change === 0) return "0";
  const a = Math.abs(change);
  if (a < 0.001) return `${change > 0 ? "+" : "−"}<0.001%`;
  return `${change > 0 ? "+" : "−"}${a >= 10 ? a.toFixed(1) : a.toPrecision(2)}%`;
}
