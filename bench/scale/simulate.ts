/**
 * Rates every object of a sampled population at the global peak hour, from the per-operation costs
 * in costs.ts, and adds up the fleet. Rates are expected values at the peak hour (not one random
 * second): bursts within the hour are the hot-spot scenarios' business (hotspots.ts).
 */
import { cappedPushes, conversationLoad, pushesPerSecond, r2PerMediaMessage, type ConversationLoad, type ConversationShape } from "./costs";
import { regions, type Diurnal } from "./diurnal";
import { Code, Cloudflare, type Params } from "./params";
import type { Population } from "./population";
import { blockMaxima, extrapolateMax, summarise, type Summary } from "./stats";

/** Fleet totals: requests a second by kind, queue messages, R2 operations; sockets open. */
export type Fleet = Record<(typeof FLEET_KEYS)[number], number>;

const FLEET_KEYS = [
  // into conversation objects, and what they call out
  "messages", "sendMessages", "deliver", "updateCursor", "receiptNotices", "typingRpcs", "typingForwards",
  "conversationAlarms", "catchUpHistory", "mediaDescribe", "mediaMessages", "mediaJobs", "liveSocketFrames",
  // into user objects
  "deviceAcks", "deviceSendAndTypingFrames", "connects", "subscribePresence", "presenceChanged", "presenceFrames",
  "userAlarms", "profileLookups",
  // sockets, queues, R2, totals
  "deviceSockets", "liveSockets", "watchesOfOnlineUsers", "pushMessages", "pushesBeforeCap", "r2ClassA", "r2ClassB",
  "r2ArchivePuts", "userObjectRequests", "conversationObjectRequests",
] as const;

function emptyFleet(): Fleet {
  return Object.fromEntries(FLEET_KEYS.map((k) => [k, 0])) as Fleet;
}

export interface TopConversation {
  group: boolean;
  members: number;
  messagesPerSecond: number;
  onlineMembers: number;
  incoming: ConversationLoad["incoming"];
  outgoing: ConversationLoad["outgoing"];
}

export interface TopUser {
  conversations: number;
  devicesConnected: number;
  directChats: number;
  incoming: UserIncoming;
}

export interface UserIncoming {
  deviceFrames: number;
  deliveries: number;
  typing: number;
  receipts: number;
  pushNameLookups: number;
  presence: number;
  alarms: number;
  total: number;
}

export interface Simulation {
  sample: {
    users: number;
    dailyUsers: number;
    online: number;
    directConversations: number;
    groupConversations: number;
    messagesPerDay: number;
    messagesPerSecondAtPeak: number;
    groupMessageShare: number;
    recipientsPerMessage: number;
    recipientsPerGroupMessage: number;
  };
  scale: number;
  /** Full scale: how many objects of each kind exist, and how many do anything at the peak. */
  objects: {
    directory: number;
    user: number;
    userAwakeAtPeak: number;
    conversation: number;
    conversationDirect: number;
    conversationGroup: number;
    conversationActiveAtPeak: number;
  };
  /** Full scale, per second at the peak: requests by kind, queue messages, R2 operations, sockets. */
  fleet: Fleet;
  conversationIncoming: Summary;
  conversationOutgoing: Summary;
  userIncoming: Summary;
  /** Mean maximum of samples 1, 1/2, 1/4 … 1/64 as large (users), and the trend carried to full scale. */
  growth: { users: number; conversationIn: number; conversationOut: number; userIn: number }[];
  trendMaxAtFullScale: { conversationIn: number; conversationOut: number; userIn: number; slopes: number[] };
  sockets: { userObjectMax: number; conversationLiveMax: number };
  queues: { pushMessages: number; mediaJobs: number; pushQueues: number; pushQueuesForConsumers: number; mediaQueues: number };
  top: { byIncoming: TopConversation[]; byOutgoing: TopConversation[]; users: TopUser[] };
}

/**
 * Per sampled object, what shards.ts adds up into shards (rates at the peak, one object per user
 * and per conversation as the code places them when USER_SHARDS / CONVERSATION_SHARDS are unset).
 */
export interface PerObject {
  conversation: {
    /** Requests a second in (as `conversationIncoming`). */
    incoming: Float64Array;
    /** Fan-out rounds a second (each a `deliver` to every member's object), typing frames forwarded to members' objects. */
    rounds: Float64Array;
    typingForwards: Float64Array;
    /** Receipt notices a second (`pushFrames` into senders' objects). */
    receipts: Float64Array;
    /** `updateCursor` calls a second, messages a second. */
    cursors: Float64Array;
    rate: Float64Array;
    /** Live conversation sockets (expected). */
    liveSockets: Float64Array;
  };
  user: {
    /** Requests a second in (as `userIncoming`), and of them: `deliver` calls, typing forwards, liveness alarms. */
    incoming: Float64Array;
    deliver: Float64Array;
    typing: Float64Array;
    liveness: Float64Array;
    /**
     * Calls a second the object makes: `sendMessages`, `updateCursor`, typing and catch-up `history`
     * into conversations; `subscribePresence`, `presenceChanged` and push `profile` look-ups into
     * other users' objects; push queue messages.
     */
    outgoing: Float64Array;
  };
}

/**
 * `volume` multiplies every conversation's traffic (the same people, a busier day). `onObjects`,
 * if given, receives the per-object figures (shards.ts); nothing else changes.
 */
export function simulate(pop: Population, diurnal: Diurnal, p: Params, volume = 1, onObjects?: (o: PerObject) => void): Simulation {
  const { users, conversations: cv } = pop;
  const scale = p.fullUsers / users.n;
  const W = Code.pushCoalesceMs / 1000;
  const opensRate = (u: number) => (users.dau[u] ? (p.opensPerDay * diurnal.multiplier[users.region[u]!]!) / 86_400 : 0);

  const convIn = new Float64Array(cv.count);
  const convOut = new Float64Array(cv.count);
  const u = {
    device: new Float64Array(users.n),
    deliver: new Float64Array(users.n),
    typing: new Float64Array(users.n),
    receipts: new Float64Array(users.n),
    profile: new Float64Array(users.n),
    presence: new Float64Array(users.n),
    alarms: new Float64Array(users.n),
    liveness: new Float64Array(users.n),
    pushRaw: new Float64Array(users.n),
    out: new Float64Array(users.n),
    conversations: new Int32Array(users.n),
  };
  const perConversation = {
    rounds: new Float64Array(cv.count),
    typingForwards: new Float64Array(cv.count),
    receipts: new Float64Array(cv.count),
    cursors: new Float64Array(cv.count),
    rate: new Float64Array(cv.count),
    liveSockets: new Float64Array(cv.count),
  };
  const fleet = emptyFleet();

  const shapeOf = (c: number): ConversationShape => {
    const rate = ((cv.perDay[c]! * volume) / 86_400) * diurnal.multiplier[cv.region[c]!]!;
    let onlineRecipients = 0;
    let senderOtherDevices = 0;
    let hhi = 0;
    let catchUps = 0;
    for (let j = cv.memberStart[c]!; j < cv.memberStart[c + 1]!; j++) {
      const m = cv.members[j]!;
      const share = cv.share[j]!;
      const conn = users.connected[m]!;
      if (conn > 0) onlineRecipients += 1 - share;
      if (conn > 1) senderOtherDevices += share;
      hhi += share * share;
      const rho = opensRate(m);
      // A member who opens the app while this conversation moved on pages through it (delivery.ts replay).
      if (rho > 0) catchUps += rho * (1 - Math.exp(-rate / rho));
    }
    return {
      group: cv.group[c] === 1,
      members: cv.memberStart[c + 1]! - cv.memberStart[c]!,
      rate,
      onlineRecipients,
      senderOtherDevices,
      effectiveSenders: 1 / hhi,
      catchUps,
    };
  };

  let liveMax = 0;
  for (let c = 0; c < cv.count; c++) {
    const shape = shapeOf(c);
    const load = conversationLoad(shape, p);
    convIn[c] = load.incoming.total;
    convOut[c] = load.outgoing.total;
    liveMax = Math.max(liveMax, load.liveSockets);
    perConversation.rounds[c] = load.rounds;
    perConversation.typingForwards[c] = load.typingForwards;
    perConversation.receipts[c] = load.receipts;
    perConversation.cursors[c] = load.incoming.cursors;
    perConversation.rate[c] = load.rate;
    perConversation.liveSockets[c] = load.liveSockets;
    // Each acknowledging member's `updateCursor` calls a second (costs.ts: cursors ÷ acknowledgers).
    const ackers = shape.onlineRecipients + shape.senderOtherDevices;
    const cursorsPerAcker = ackers > 0 ? load.incoming.cursors / ackers : 0;
    fleet.messages += load.rate;
    fleet.sendMessages += load.incoming.sends;
    fleet.deliver += load.outgoing.deliver;
    fleet.updateCursor += load.incoming.cursors;
    fleet.receiptNotices += load.receipts;
    fleet.typingRpcs += load.incoming.typing;
    fleet.typingForwards += load.outgoing.typing;
    fleet.conversationAlarms += load.incoming.alarms;
    fleet.catchUpHistory += load.incoming.catchUps;
    fleet.mediaDescribe += load.incoming.mediaChecks;
    fleet.mediaMessages += load.mediaMessages;
    fleet.mediaJobs += load.images;
    fleet.liveSocketFrames += load.liveSockets * load.rate;
    const viewers = shape.onlineRecipients * (shape.group ? p.viewShare.group : p.viewShare.direct);
    const r2 = r2PerMediaMessage(p, viewers);
    fleet.r2ClassA += load.mediaMessages * r2.a;
    fleet.r2ClassB += load.mediaMessages * r2.b;

    let pushes = 0;
    for (let j = cv.memberStart[c]!; j < cv.memberStart[c + 1]!; j++) {
      const m = cv.members[j]!;
      const share = cv.share[j]!;
      const conn = users.connected[m]!;
      u.conversations[m]!++;
      u.deliver[m]! += load.rounds;
      // Each connected device acknowledges each round (the sending device excepted), and sends
      // its own messages and typing frames.
      const acks = load.rounds * (conn * (1 - share) + share * Math.max(0, conn - 1));
      const own = load.rate * share * (1 + p.typingFramesPerMessage * (1 - p.mediaShare));
      u.device[m]! += acks + own;
      fleet.deviceAcks += acks;
      fleet.deviceSendAndTypingFrames += own;
      u.typing[m]! += load.typingForwards * (1 - share);
      u.receipts[m]! += load.receipts * share;
      // What this member's object calls: its sends, cursor moves and typing into the conversation,
      // and a `history` page when a device reconnects behind (as in shapeOf's catchUps).
      const rho = opensRate(m);
      const catchUp = rho > 0 ? rho * (1 - Math.exp(-load.rate / rho)) : 0;
      u.out[m]! +=
        load.incoming.sends * share +
        cursorsPerAcker * ((conn > 0 ? 1 - share : 0) + (conn > 1 ? share : 0)) +
        load.incoming.typing * share +
        catchUp;
      if (conn === 0 && users.pushSubscribed[m]) {
        const lambda = load.rate * (1 - share);
        const pr = pushesPerSecond(lambda);
        u.pushRaw[m]! += pr;
        u.out[m]! += pr; // the `profile` look-up of the sender, for the notification's title
        // Coalesced pushes go from the user object's alarm.
        u.alarms[m]! += pr * (1 - Math.exp(-lambda * W));
        pushes += pr;
      }
    }
    // Each push names the sender: a `profile` call into the sender's object (cached only in memory).
    for (let j = cv.memberStart[c]!; j < cv.memberStart[c + 1]!; j++) u.profile[cv.members[j]!]! += pushes * cv.share[j]!;
  }

  // Presence, connects, alarms: per user.
  const onlineShare = regions.map(() => ({ online: 0, all: 0 }));
  for (let i = 0; i < users.n; i++) {
    const s = onlineShare[users.region[i]!]!;
    s.all++;
    if (users.connected[i]! > 0) s.online++;
  }
  const regionOnline = onlineShare.map((s) => (s.all ? s.online / s.all : 0));
  const mixOnline = regions.reduce((sum, r, i) => sum + r.share * regionOnline[i]!, 0);
  const renew = 1000 / Code.presenceRenewMs;
  const userIn = new Float64Array(users.n);
  let userMaxSockets = 0;
  let online = 0;
  let dailyUsers = 0;
  for (let i = 0; i < users.n; i++) {
    const r = users.region[i]!;
    const conn = users.connected[i]!;
    const K = users.existingDirect[i]!;
    const partnersOnline = p.sameRegionShare * regionOnline[r]! + (1 - p.sameRegionShare) * mixOnline;
    const partnerOpens = (p.dauShare * p.opensPerDay * diurnal.multiplier[r]!) / 86_400;
    const rho = opensRate(i);
    if (users.dau[i]) dailyUsers++;
    if (conn > 0) online++;
    userMaxSockets = Math.max(userMaxSockets, conn);
    // The web client watches every 1:1 partner's presence: a `subscribePresence` into each partner's
    // object when it connects and at half the subscription's life while connected (src/client/presence.ts).
    const subscribeIn = K * partnersOnline * renew + K * partnerOpens;
    // Each partner's online/offline change reaches this object while this user watches (is online),
    // and once more after this user's app went away, if the partner changes before the watch lapses:
    // the answer "no device" drops the watch (user/presence.ts).
    const partnerChanges = partnerOpens * 2;
    const staleChanges = rho * K * (1 - Math.exp(-partnerChanges * (Code.presenceSubscriptionMs / 1000)));
    const changedIn = (conn > 0 ? K * partnerChanges : 0) + staleChanges;
    const subscribeFrames = Math.ceil(K / 100) * ((conn > 0 ? renew : 0) + rho);
    // The liveness alarm: booked for when the quietest socket would pass 60 s of silence (presence.ts).
    const presenceAlarm = conn > 0 ? 1000 / (Code.deviceSilenceMs + 1000) : 0;
    u.presence[i] = subscribeIn + changedIn + subscribeFrames;
    u.alarms[i]! += presenceAlarm;
    u.liveness[i] = presenceAlarm;
    // Calls out, the mirror of the above: this user's watches of every partner, and each of its own
    // online/offline changes to the partners watching (online ones, and those whose app closed within
    // a watch's life: one wasted call each). Summed over users these are not the totals in: those take
    // a user's watchers as its partners × the population's online share, these each online user's own
    // list, longer for daily users (their chats today are mostly with daily users).
    const watchesOut = (conn > 0 ? K * renew : 0) + K * rho;
    const changesOut = 2 * rho * K * partnersOnline + K * partnerOpens * (1 - Math.exp(-2 * rho * (Code.presenceSubscriptionMs / 1000)));
    u.out[i]! += watchesOut + changesOut;
    u.device[i]! += rho; // the socket upgrade itself
    fleet.subscribePresence += subscribeIn;
    fleet.presenceChanged += changedIn;
    fleet.presenceFrames += subscribeFrames;
    fleet.userAlarms += u.alarms[i]!;
    fleet.connects += rho;
    fleet.profileLookups += u.profile[i]!;
    fleet.deviceSockets += conn;
    if (conn > 0) fleet.liveSockets += p.chatOnScreen;
    if (conn > 0) fleet.watchesOfOnlineUsers += K;
    const pushes = cappedPushes(u.pushRaw[i]!) * Math.min(users.devices[i]!, Code.pushSubscriptionsPerUser);
    u.out[i]! += pushes; // queue messages
    fleet.pushMessages += pushes;
    fleet.pushesBeforeCap += u.pushRaw[i]! * Math.min(users.devices[i]!, Code.pushSubscriptionsPerUser);
    userIn[i] = u.device[i]! + u.deliver[i]! + u.typing[i]! + u.receipts[i]! + u.profile[i]! + u.presence[i]! + u.alarms[i]!;
  }

  onObjects?.({
    conversation: { incoming: convIn, ...perConversation },
    user: { incoming: userIn, deliver: u.deliver, typing: u.typing, liveness: u.liveness, outgoing: u.out },
  });

  // Archive: at most one segment PUT per 1,000 messages, once a conversation passes its hot window
  // (archive.ts); the upper bound counts every message.
  fleet.r2ArchivePuts += fleet.messages / Code.segmentMessages;
  const userRequests =
    fleet.deviceAcks +
    fleet.deviceSendAndTypingFrames +
    fleet.connects +
    fleet.deliver +
    fleet.typingForwards +
    fleet.receiptNotices +
    fleet.profileLookups +
    fleet.subscribePresence +
    fleet.presenceChanged +
    fleet.presenceFrames +
    fleet.userAlarms;
  const conversationRequests =
    fleet.sendMessages +
    fleet.updateCursor +
    fleet.typingRpcs +
    fleet.conversationAlarms +
    fleet.catchUpHistory +
    fleet.mediaDescribe;
  fleet.userObjectRequests = userRequests;
  fleet.conversationObjectRequests = conversationRequests;
  for (const key of Object.keys(fleet) as (keyof Fleet)[]) fleet[key] *= scale;

  const pushMessages = fleet.pushMessages;
  const mediaJobs = fleet.mediaJobs;
  // The push consumer keeps `pushSendConcurrency` pushes of a batch in flight: 250 concurrent
  // consumers each finish that many per push-service round trip.
  const consumerCeiling = Math.min(Cloudflare.queueMessagesPerSecond, (Cloudflare.queueConsumers * Code.pushSendConcurrency * 1000) / p.pushServiceMs);

  const thresholds = p.thresholds;
  const top = topIndices(convIn, 5);
  const topOut = topIndices(convOut, 5);
  const topUsers = topIndices(userIn, 5);
  const describe = (c: number): TopConversation => {
    const shape = shapeOf(c);
    const load = conversationLoad(shape, p);
    return {
      group: shape.group,
      members: shape.members,
      messagesPerSecond: shape.rate,
      onlineMembers: shape.onlineRecipients + shape.senderOtherDevices,
      incoming: load.incoming,
      outgoing: load.outgoing,
    };
  };
  let active = 0;
  for (let c = 0; c < cv.count; c++) if (convIn[c]! > 0) active++;
  let awake = 0;
  for (let i = 0; i < users.n; i++) if (userIn[i]! > 0) awake++;
  let groupsToday = 0;
  for (let c = 0; c < cv.count; c++) groupsToday += cv.group[c]!;

  const levels = 6;
  const gIn = blockMaxima(convIn, levels);
  const gOut = blockMaxima(convOut, levels);
  const gUser = blockMaxima(userIn, levels);
  const trend = [gIn, gOut, gUser].map((g) => extrapolateMax(g, scale));

  return {
    growth: gIn.map((g, i) => ({ users: g.share * users.n, conversationIn: g.max, conversationOut: gOut[i]!.max, userIn: gUser[i]!.max })),
    trendMaxAtFullScale: { conversationIn: trend[0]!.max, conversationOut: trend[1]!.max, userIn: trend[2]!.max, slopes: trend.map((t) => t.slope) },
    sample: {
      users: users.n,
      dailyUsers,
      online,
      directConversations: cv.count - groupsToday,
      groupConversations: groupsToday,
      messagesPerDay: pop.messagesPerDay * volume,
      messagesPerSecondAtPeak: fleet.messages / scale,
      groupMessageShare: pop.groupMessageShare,
      recipientsPerMessage: pop.recipientsPerMessage,
      recipientsPerGroupMessage: pop.recipientsPerGroupMessage,
    },
    scale,
    objects: {
      directory: p.fullUsers,
      user: p.fullUsers,
      userAwakeAtPeak: awake * scale,
      conversation: (pop.existing.direct + pop.existing.groups) * scale,
      conversationDirect: pop.existing.direct * scale,
      conversationGroup: pop.existing.groups * scale,
      conversationActiveAtPeak: active * scale,
    },
    fleet,
    conversationIncoming: summarise(convIn, thresholds, scale),
    conversationOutgoing: summarise(convOut, thresholds, scale),
    userIncoming: summarise(userIn, thresholds, scale),
    sockets: { userObjectMax: userMaxSockets, conversationLiveMax: liveMax },
    queues: {
      pushMessages,
      mediaJobs,
      pushQueues: Math.ceil(pushMessages / Cloudflare.queueMessagesPerSecond),
      pushQueuesForConsumers: Math.ceil(pushMessages / consumerCeiling),
      mediaQueues: Math.ceil(mediaJobs / Cloudflare.queueMessagesPerSecond),
    },
    top: {
      byIncoming: top.map(describe),
      byOutgoing: topOut.map(describe),
      users: topUsers.map((i) => ({
        conversations: u.conversations[i]!,
        devicesConnected: users.connected[i]!,
        directChats: Math.round(users.existingDirect[i]!),
        incoming: {
          deviceFrames: u.device[i]!,
          deliveries: u.deliver[i]!,
          typing: u.typing[i]!,
          receipts: u.receipts[i]!,
          pushNameLookups: u.profile[i]!,
          presence: u.presence[i]!,
          alarms: u.alarms[i]!,
          total: userIn[i]!,
        },
      })),
    },
  };
}

function topIndices(values: Float64Array, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (best.length < k || values[i]! > values[best[best.length - 1]!]!) {
      best.push(i);
      best.sort((a, b) => values[b]! - values[a]!);
      if (best.length > k) best.pop();
    }
  }
  return best;
}
