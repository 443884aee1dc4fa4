/**
 * What the scale model assumes, in one place. Every number here is an assumption about people
 * (how many chats, how big the groups, how often they type) or a constant read off Parley's code;
 * docs/scaling.md says why each was chosen. Flags override them: `--users=2000000 --seed=7`.
 */
import { Limits } from "../../src/protocol/limits";

export interface Params {
  seed: number;
  /** Registered users in the simulated sample (the full system is `fullUsers`). */
  users: number;
  fullUsers: number;
  /** Share of registered users active on a given day (the seed: 500M of 2B). */
  dauShare: number;
  /** Messages a second at the global peak, full scale (the seed: 500k). */
  peakMessagesPerSecond: number;
  /** Or messages a day (the seed: 20–60B); when set, the peak follows from it instead. */
  messagesPerDay: number | null;
  /** A region's busiest hour ÷ its daily mean (diurnal.ts); the global peak factor follows from it. */
  localPeakFactor: number;
  /**
   * Recipients per message, all conversations together: WhatsApp reported 20B messages sent and 44B
   * received in one day (April 2014), 2.2 per message. The groups' share of messages is solved for
   * so that the sampled groups give this (population.ts), unless `groupMessageShare` is set.
   */
  recipientsPerMessage: number;
  groupMessageShare: number | null;

  /** 1:1 chats a daily user starts or continues today (lognormal). */
  directPerDau: { median: number; sigma: number };
  /** How unevenly people are sought out for 1:1 chats (σ of a lognormal weight): the tail is the "celebrity" with many chats. */
  popularitySigma: number;
  /** Existing 1:1 chats per chat active today (the list a client watches presence for). */
  existingDirectPerActive: number;
  /** Existing 1:1 chats besides those (lognormal; for users with none today too). */
  existingDirectBase: { median: number; sigma: number };
  /** Messages a day in a 1:1 chat active today, before normalising to the day's total. */
  directMessages: { median: number; sigma: number };
  /** Share of a chat's partners (and group members) from the same region. */
  sameRegionShare: number;
  /** Share of 1:1 partners, and of group members, drawn from today's daily users (the rest from everyone). */
  partnerDailyShare: number;
  memberDailyShare: number;

  /** Group memberships per registered user (mean); spread over users by a lognormal "groupiness". */
  groupsPerUser: number;
  groupinessSigma: number;
  /** Group sizes: P(k) ∝ k^(−alpha) on [min, Limits.groupMaxMembers]. */
  groupSize: { min: number; alpha: number };
  /** A group of k members has a message today with probability 1 − (1 − q)^k. */
  groupActiveQ: number;
  /** Messages a day in an active group: lognormal, median × (k / min)^sizeExponent. */
  groupMessages: { median: number; sigma: number; sizeExponent: number };
  /** σ of the lognormal "talkativeness" that splits a conversation's messages among its daily users. */
  senderSigma: number;

  /** P(devices = k) for k = 1..Limits.devicesPerUser (the code's cap). */
  devicePmf: number[];
  /** Share of a region's daily users connected at that region's own peak hour (scaled by the local profile elsewhere). */
  onlineAtLocalPeak: number;
  /** P(each further device of an online user is connected too). */
  extraDeviceOnline: number;
  /** App opens (device socket connects) per daily user per day. */
  opensPerDay: number;

  /** Share of online recipients with the conversation on screen when a message arrives (read acks, media shown). */
  viewShare: { direct: number; group: number };
  /** Share of online clients with some conversation on screen: each holds one live socket (the SDK opens one at a time). */
  chatOnScreen: number;
  /** Typing frames a text message costs: one a second while typing (client and server throttle), then `stopped`. */
  typingFramesPerMessage: number;
  /** Seed: 10% of messages carry media; of those, images get a thumbnail job. */
  mediaShare: number;
  imageShareOfMedia: number;
  /** Share of shown images opened full size (one more R2 read each). */
  fullViewShare: number;
  /** Share of users with a push subscription (only they are pushed to). */
  pushSubscribedShare: number;
  /** Text message size, bytes (the seed: 100). */
  messageBytes: number;

  /** A fan-out round's duration on Cloudflare: base + per member (issuing each `deliver` call costs CPU). */
  roundMs: { base: number; perMember: number };
  /** Push service answer time; the consumer sends a batch's pushes one after another. */
  pushServiceMs: number;
  /** Objects above these incoming rates are listed. */
  thresholds: number[];
}

export const defaults: Params = {
  seed: 20261129,
  users: 1_000_000,
  fullUsers: 2_000_000_000,
  dauShare: 0.25,
  peakMessagesPerSecond: 500_000,
  messagesPerDay: null,
  localPeakFactor: 2.3,
  recipientsPerMessage: 2.2,
  groupMessageShare: null,

  directPerDau: { median: 2.5, sigma: 0.9 },
  popularitySigma: 1.6,
  existingDirectPerActive: 6,
  existingDirectBase: { median: 12, sigma: 1.0 },
  directMessages: { median: 12, sigma: 1.2 },
  sameRegionShare: 0.85,
  partnerDailyShare: 0.9,
  memberDailyShare: 0.5,

  groupsPerUser: 6,
  groupinessSigma: 1.0,
  groupSize: { min: 3, alpha: 2.6 },
  groupActiveQ: 0.05,
  groupMessages: { median: 6, sigma: 1.5, sizeExponent: 0 },
  senderSigma: 1.2,

  devicePmf: [0.55, 0.3, 0.08, 0.03, 0.015, 0.01, 0.006, 0.004, 0.003, 0.002],
  onlineAtLocalPeak: 0.5,
  extraDeviceOnline: 0.5,
  opensPerDay: 30,

  viewShare: { direct: 0.5, group: 0.15 },
  chatOnScreen: 0.5,
  typingFramesPerMessage: 4,
  mediaShare: 0.1,
  imageShareOfMedia: 0.7,
  fullViewShare: 0.3,
  pushSubscribedShare: 0.9,
  messageBytes: 100,

  roundMs: { base: 10, perMember: 0.06 },
  pushServiceMs: 150,
  thresholds: [100, 500, 1_000],
};

/**
 * Constants of Parley's code the model depends on. Those in src/protocol are imported; the rest
 * are copied from src/objects (which needs the Workers runtime types) and named with their source.
 */
export const Code = {
  groupMaxMembers: Limits.groupMaxMembers,
  devicesPerUser: Limits.devicesPerUser,
  liveSocketsPerUser: Limits.liveSocketsPerUser,
  sendPerSecond: Limits.sendPerSecond,
  pushCoalesceMs: Limits.pushCoalesceMs,
  pushPerMinute: Limits.pushPerMinute,
  pushSubscriptionsPerUser: Limits.pushSubscriptionsPerUser,
  presenceSubscriptionMs: Limits.presenceSubscriptionMs,
  /** src/client/presence.ts PRESENCE_RENEW_MS: the SDK renews every watch at half the subscription's life. */
  presenceRenewMs: Limits.presenceSubscriptionMs / 2,
  deviceSilenceMs: Limits.deviceSilenceMs,
  typingToDevicesMaxMembers: Limits.typingToDevicesMaxMembers,
  /** src/objects/conversation/fanout.ts FANOUT_RETRY_MS: the safety alarm armed with a send. */
  fanoutAlarmMs: 5_000,
  /** src/queues/push.ts PUSH_CONCURRENCY: pushes a consumer invocation has in flight at once. */
  pushSendConcurrency: 6,
  /** src/objects/conversation/fanout.ts FANOUT_BATCH: messages per `deliver` call. */
  fanoutBatch: 200,
  /** src/client/client.ts deliveredAckIntervalMs: while messages stream, a device acks `delivered` at most this often. */
  deliveredAckIntervalMs: 1_000,
  /** src/objects/conversation/receipts.ts NOTICE_WINDOW_MS: status notices to one sender gather this long. */
  noticeWindowMs: 200,
  /** src/objects/conversation/archive.ts: messages per archive segment (at most). */
  segmentMessages: 1_000,
  /** src/objects/conversation/archive.ts DEFAULT_HOT_WINDOW, and the slack past it before a pass archives (min(1,000, window/10)). */
  hotWindow: 10_000,
  hotWindowSlack: 1_000,
  /** src/objects/conversation/archive.ts ARCHIVED_KEY_RETENTION_MS: an archived message's idempotency key is kept 30 days. */
  archivedKeyRetentionDays: 30,
};

/**
 * Storage estimates for the shard tables (shards.ts): bytes per SQLite row, each the typical size of
 * its columns (ids ~24 characters, a text message's encoded frame ~300 bytes) plus SQLite's per-row,
 * key and index overhead. Estimates, not measurements; the schemas are in src/objects/user/migrations.ts
 * and src/objects/conversation/migrations.ts.
 */
export const StorageBytes = {
  /** UserObject, per user: its `users` row (id, username, display name, counters). */
  user: 200,
  /**
   * Per conversation in a user's list: the `conversations` row carrying the last message's encoded
   * frame, and the user's `inbox` row (docs/scaling.md, "Storage per object": ~500 bytes a row).
   */
  inboxRow: 500,
  /**
   * Per member of each conversation in a user's list: its entry in `conversation_members` (JSON,
   * ~52 bytes: ~26 KB for 500 members) and its `conversation_member_ids` row. Kept once per object,
   * so shared by members of one conversation in the same shard (rare at these shard counts: not
   * counted).
   */
  listedMember: 110,
  /** `delivery_cursors`: one per device and conversation (upper: every device in every conversation). */
  deliveryCursor: 80,
  /** Per device: its `devices` row, and its `push_subscriptions` row (endpoint URL, keys). */
  device: 500,
  /** `presence_subscribers`: one per 1:1 partner watching the user (upper: every partner). */
  watcher: 70,
  /** ConversationObject, per conversation: its `conversations` row. */
  conversation: 200,
  /** Per member: its `members_by_conversation` row (cursors, role, join). */
  member: 120,
  /** Per message in the hot window: ids, sender, client id, the 100-byte text as stored (JSON), type, time, key, idempotency index. */
  message: 300,
  /** `cursor_advances` row: hotspots.ts's 60 bytes plus the conversation id the sharded table adds. Pruned with the archive. */
  cursorAdvance: 90,
  /** `archived_keys` row: kept `archivedKeyRetentionDays` after its message leaves the hot window. */
  archivedKey: 100,
};

/**
 * How much history a conversation holds (shards.ts, storage): one with traffic today is taken to have
 * talked at today's rate for this many days, up to its hot window. Summed over the conversations with
 * traffic today that is this many days of the whole service's messages (a conversation that talks
 * one day in three is among today's one day in three), so the history of those quiet today is in it.
 * Below the window, storage grows in proportion to it.
 */
export const storedHistoryDays = 365;

/** Cloudflare's published limits the model compares against (docs/scaling.md cites the pages). */
export const Cloudflare = {
  /** "An individual Object has a soft limit of 1,000 requests per second." */
  requestsPerObject: 1_000,
  /** "The WebSocket Hibernation API permits a maximum of 32,768 WebSocket connections per Durable Object." */
  socketsPerObject: 32_768,
  /** Queues: "Per-queue message throughput: 5,000 messages per second". */
  queueMessagesPerSecond: 5_000,
  /** Queues: concurrent consumer invocations (push-based). */
  queueConsumers: 250,
  /** SQLite-backed Durable Objects: storage per object. */
  storagePerObjectBytes: 10e9,
};

/** Full-scale shard counts to rate (shards.ts); empty: one object per user / per conversation only. */
export interface ShardCounts {
  users: number[];
  conversations: number[];
}

/**
 * `--name=value` flags over the defaults (numbers only), `--json[=file]`, `--quiet`, and
 * `--user-shards=N[,N…]` / `--conversation-shards=N[,N…]` (full-scale shard counts, e.g. 1e6).
 */
export function parseArgs(
  argv: string[],
  base: Params = defaults,
): { params: Params; json: string | null; quiet: boolean; shards: ShardCounts } {
  const params: Params = structuredClone(base);
  let json: string | null = null;
  let quiet = false;
  const shards: ShardCounts = { users: [], conversations: [] };
  const counts = (name: string, value: string) =>
    value.split(",").map((v) => {
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes whole numbers of shards, comma-separated (e.g. 1e5,1e6); got "${v}"`);
      return n;
    });
  const numeric: Record<string, (v: number) => void> = {
    seed: (v) => (params.seed = v),
    users: (v) => (params.users = v),
    "full-users": (v) => (params.fullUsers = v),
    "dau-share": (v) => (params.dauShare = v),
    "messages-per-day": (v) => (params.messagesPerDay = v),
    "peak-messages-per-second": (v) => ((params.peakMessagesPerSecond = v), (params.messagesPerDay = null)),
    "local-peak-factor": (v) => (params.localPeakFactor = v),
    "group-message-share": (v) => (params.groupMessageShare = v),
    "recipients-per-message": (v) => (params.recipientsPerMessage = v),
    "online-at-local-peak": (v) => (params.onlineAtLocalPeak = v),
    "typing-frames": (v) => (params.typingFramesPerMessage = v),
    "media-share": (v) => (params.mediaShare = v),
    "push-service-ms": (v) => (params.pushServiceMs = v),
  };
  for (const arg of argv) {
    const [name, value = ""] = arg.replace(/^--/, "").split("=", 2) as [string, string?];
    if (name === "json") json = value || "bench/results/scale.json"; // bench/results/*.json is git-ignored
    else if (name === "quiet") quiet = true;
    else if (name === "user-shards") shards.users.push(...counts(name, value));
    else if (name === "conversation-shards") shards.conversations.push(...counts(name, value));
    else if (name in numeric) {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got "${value}"`);
      numeric[name]!(n);
    } else throw new Error(`unknown flag --${name} (see bench/scale/params.ts)`);
  }
  if (!Number.isInteger(params.users) || params.users < 1_000 || params.users > 20_000_000) {
    throw new Error("--users must be an integer between 1,000 and 20,000,000");
  }
  // Each full-scale shard is a sample shard of the same size: there must be at least one.
  const scale = params.fullUsers / params.users;
  for (const [kind, list] of [["user", shards.users], ["conversation", shards.conversations]] as const) {
    const few = list.find((n) => n < scale);
    if (few !== undefined) {
      throw new Error(
        `--${kind}-shards=${few}: the sample is 1/${scale.toLocaleString("en-US")} of the population, so that is ${(few / scale).toPrecision(2)} sample shards; N must be at least ${scale.toLocaleString("en-US")} (or sample more users with --users)`,
      );
    }
  }
  return { params, json, quiet, shards };
}
