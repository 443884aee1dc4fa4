/**
 * The cases a population of independent people does not produce but a real service meets: a group
 * at a live event, a user in hundreds of busy groups on ten devices, a public figure with a million
 * 1:1 chats, every socket reconnecting after a deploy. Each is priced with the same per-operation
 * costs as the simulation (costs.ts), with the inputs stated in its row.
 */
import { cappedPushes, conversationLoad, pushesPerSecond, type ConversationLoad } from "./costs";
import { Cloudflare, Code, type Params } from "./params";

export interface HotSpot {
  name: string;
  object: string;
  /** Requests a second into the object (what Cloudflare's ~1,000/s soft limit counts). */
  incoming: number;
  /** Calls a second the object makes (its own single thread pays for each). */
  outgoing: number;
  /** A fleet-wide total (spread over many objects) rather than one object's rate. */
  fleet?: boolean;
  note: string;
}

export interface GroupCase {
  members: number;
  rate: number;
  onlineShare: number;
  senders: number;
  /** Share of the group's messages from its busiest sender. */
  topSenderShare: number;
}

export interface GroupResult extends GroupCase {
  load: ConversationLoad;
  /**
   * `cursor_advances` grows by a row per cursor advance (two when a read also moves delivered) and
   * is never pruned (conversation/store.ts): bytes a day at this rate, and days until 10 GB.
   */
  cursorLogBytesPerDay: number;
  daysToStorageLimit: number;
  /** What one online member's user object receives from this group alone. */
  memberIncoming: number;
  /** What the busiest sender's user object receives from it (receipts, push name look-ups, own frames). */
  topSenderIncoming: number;
}

/** A `cursor_advances` row: user id (24 B), kind, seq, time, and SQLite's per-row and page overhead (an estimate). */
const CURSOR_ROW_BYTES = 60;

/** A group whose members are `onlineShare` online (one device each), `senders` of them talking. */
export function groupCase(c: GroupCase, p: Params): GroupResult {
  const others = (1 - c.topSenderShare) / Math.max(1, c.senders - 1);
  const hhi = c.topSenderShare ** 2 + (c.senders - 1) * others ** 2;
  const onlineRecipients = c.onlineShare * (c.members - 1);
  const opens = (p.opensPerDay * 2) / 86_400; // app opens a second per member, at about 2× the daily mean
  const load = conversationLoad(
    {
      group: true,
      members: c.members,
      rate: c.rate,
      onlineRecipients,
      senderOtherDevices: 0,
      effectiveSenders: 1 / hhi,
      catchUps: c.members * c.onlineShare * opens * (1 - Math.exp(-c.rate / opens)),
    },
    p,
  );
  const memberIncoming = load.rounds * 2 + load.typingForwards;
  const offlinePushed = (1 - c.onlineShare) * c.members * p.pushSubscribedShare;
  const pushes = offlinePushed * cappedPushes(pushesPerSecond(c.rate));
  const topSenderIncoming =
    load.receipts * c.topSenderShare + pushes * c.topSenderShare + c.rate * c.topSenderShare * (1 + p.typingFramesPerMessage) + load.rounds * 2;
  const cursorLogBytesPerDay = load.incoming.cursors * (1 + p.viewShare.group) * CURSOR_ROW_BYTES * 86_400;
  return { ...c, load, memberIncoming, topSenderIncoming, cursorLogBytesPerDay, daysToStorageLimit: Cloudflare.storagePerObjectBytes / cursorLogBytesPerDay };
}

/**
 * The same group if the fixes docs/scaling.md proposes were made: fan-out through `relays` relay
 * objects, each member's cursor sent to the conversation at most once a `cursorIntervalS`, receipt
 * notices batched per sender per second. (Typing in big groups already reaches live sockets only.)
 */
export function groupWithFixes(g: GroupResult, relays: number, cursorIntervalS: number) {
  const onlineRecipients = g.onlineShare * (g.members - 1);
  const cursors = Math.min(g.load.incoming.cursors, onlineRecipients / cursorIntervalS);
  const incoming = g.load.incoming.sends + cursors + g.load.incoming.typing + g.load.incoming.alarms + g.load.incoming.catchUps + g.load.incoming.mediaChecks;
  const deliver = relays * g.load.rounds;
  const receipts = Math.min(g.load.receipts, g.senders);
  return {
    incoming,
    outgoing: deliver + receipts,
    /** Each relay: one call in per round, a `deliver` per member of its share out. */
    relayIncoming: g.load.rounds,
    relayOutgoing: (g.members / relays) * g.load.rounds,
    topSenderIncoming: g.topSenderIncoming - g.load.receipts * g.topSenderShare + Math.min(1, g.load.receipts * g.topSenderShare),
  };
}

/** The message rate at which a `members`-member group's incoming (or outgoing) requests reach `limit`. */
export function groupRateAt(limit: number, members: number, side: "incoming" | "outgoing", p: Params): number {
  let lo = 0;
  let hi = 100_000;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    const r = groupCase({ members, rate: mid, onlineShare: 0.5, senders: 20, topSenderShare: 0.2 }, p).load[side].total;
    if (r < limit) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** One user's object, member of `groups` groups each at `rate` msg/s, with `devices` connected. */
export function busyMember(groups: number, rate: number, devices: number, p: Params): number {
  // Per group: a `deliver` per round, an ack from each device per round, the others' typing frames
  // (as in groups of up to 32; bigger groups' typing stays on their live sockets).
  const perGroup = rate * (1 + devices) + rate * p.typingFramesPerMessage * (1 - p.mediaShare);
  return groups * perGroup + 1000 / (Code.deviceSilenceMs + 1000);
}

export interface InboxCase {
  /** 1:1 chats in the user's list (the code caps only the chats a user starts, at 5,000). */
  chats: number;
  /** Messages a day each partner sends to this user. */
  perPartnerPerDay: number;
  /** Share of the partners online at the peak, and the region's peak multiplier. */
  partnersOnline: number;
  peakMultiplier: number;
  devices: number;
}

/** A public figure's user object: their 1:1 chats' deliveries, acks, and the presence watches on them. */
export function celebrityInbox(c: InboxCase, p: Params) {
  const deliveries = (c.chats * c.perPartnerPerDay * c.peakMultiplier) / 86_400;
  const acks = deliveries * c.devices;
  const renew = 1000 / Code.presenceRenewMs;
  const subscribes = c.chats * c.partnersOnline * renew;
  const incoming = deliveries + acks + subscribes;
  return {
    deliveries,
    acks,
    subscribes,
    incoming,
    /** Each online/offline change of this user: one `presenceChanged` per watching partner. */
    presenceFanOut: c.chats * c.partnersOnline,
    /** Its own online/offline changes a second (two per app open). */
    changesPerSecond: (2 * p.opensPerDay * c.peakMultiplier) / 86_400,
    /** On each connect the client watches every partner: that many `subscribePresence` calls. */
    subscribesOnConnect: c.chats,
    /** Chats at which presence watches alone reach the soft limit. */
    chatsAtLimit: Cloudflare.requestsPerObject / (c.partnersOnline * renew),
  };
}

export function hotSpots(p: Params, fleet: { deviceSockets: number; watchesOfOnlineUsers: number }): {
  groups: GroupResult[];
  fixed: ReturnType<typeof groupWithFixes>;
  groupRateForLimit: { incoming: number; outgoing: number };
  busyMembers: { groups: number; rate: number; devices: number; incoming: number }[];
  inbox: ReturnType<typeof celebrityInbox> & InboxCase;
  rows: HotSpot[];
} {
  const groups = [
    { members: 500, rate: 10, onlineShare: 0.5, senders: 20, topSenderShare: 0.2 },
    { members: 500, rate: 1, onlineShare: 0.5, senders: 20, topSenderShare: 0.2 },
    { members: 500, rate: 0.1, onlineShare: 0.5, senders: 20, topSenderShare: 0.2 },
    { members: 100, rate: 2, onlineShare: 0.5, senders: 10, topSenderShare: 0.3 },
  ].map((c) => groupCase(c, p));
  const groupRateForLimit = {
    incoming: groupRateAt(Cloudflare.requestsPerObject, Code.groupMaxMembers, "incoming", p),
    outgoing: groupRateAt(Cloudflare.requestsPerObject, Code.groupMaxMembers, "outgoing", p),
  };
  const busyMembers = [
    { groups: 50, rate: 0.05, devices: 1 },
    { groups: 300, rate: 0.05, devices: 1 },
    { groups: 300, rate: 0.05, devices: 10 },
    { groups: 200, rate: 0.5, devices: 3 },
  ].map((b) => ({ ...b, incoming: busyMember(b.groups, b.rate, b.devices, p) }));
  const inboxCase: InboxCase = { chats: 1_000_000, perPartnerPerDay: 0.2, partnersOnline: 0.33, peakMultiplier: 2.2, devices: 3 };
  const inbox = { ...inboxCase, ...celebrityInbox(inboxCase, p) };

  const g10 = groups[0]!;
  // After a deploy every socket reconnects within the first backoff step (250–500 ms, connection.ts).
  const reconnectWindow = 0.375;
  const rows: HotSpot[] = [
    {
      name: "live-event group: 500 members, 10 msg/s, half online",
      object: "ConversationObject",
      incoming: g10.load.incoming.total,
      outgoing: g10.load.outgoing.total,
      note: `in: ${fmt(g10.load.incoming.cursors)} updateCursor + ${fmt(g10.load.incoming.typing)} typing; out: ${fmt(g10.load.outgoing.deliver)} deliver + ${fmt(g10.load.outgoing.typing)} typing pushFrames`,
    },
    {
      name: "its busiest sender (20% of its messages)",
      object: "UserObject",
      incoming: g10.topSenderIncoming,
      outgoing: 0,
      note: "receipt notices from every acking member, push name look-ups from offline members' objects",
    },
    {
      name: "user in 300 groups at 0.05 msg/s, 10 devices",
      object: "UserObject",
      incoming: busyMember(300, 0.05, 10, p),
      outgoing: 0,
      note: "one deliver per round per group, one ack per device per round, everyone's typing",
    },
    {
      name: "public figure with 1M 1:1 chats",
      object: "UserObject",
      incoming: inbox.incoming,
      outgoing: inbox.presenceFanOut * inbox.changesPerSecond,
      note: `${fmt(inbox.subscribes)}/s presence watches (every online partner renews every 5 min); each online/offline change calls ${fmt(inbox.presenceFanOut)} watchers at once`,
    },
    {
      name: "same, in the second after a deploy",
      object: "UserObject",
      incoming: (inboxCase.chats * inboxCase.partnersOnline) / reconnectWindow,
      outgoing: 0,
      note: "every online partner reconnects within 250–500 ms and re-watches at once",
    },
    {
      name: "all device sockets after a deploy",
      object: "all UserObjects",
      fleet: true,
      incoming: fleet.deviceSockets / reconnectWindow,
      outgoing: 0,
      note: "Cloudflare: code updates disconnect all WebSockets; each reconnect also replays and re-watches",
    },
    {
      name: "presence re-watches after a deploy",
      object: "all UserObjects",
      fleet: true,
      incoming: fleet.watchesOfOnlineUsers / reconnectWindow,
      outgoing: 0,
      note: "every reconnecting client sends presence_subscribe for all its 1:1 partners (client.ts onOpen)",
    },
    {
      name: "one username looked up N/s (GET /users?username=)",
      object: "DirectoryObject",
      incoming: NaN,
      outgoing: 0,
      note: "uncached: every look-up is a request into the one object for that name; logins are capped at 10/min per name",
    },
  ];
  return { groups, fixed: groupWithFixes(g10, 10, 1), groupRateForLimit, busyMembers, inbox, rows };
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toPrecision(2);
}
