/**
 * A sample of Parley's users and of the conversations active on one day, with the heavy tails that
 * make hot spots: a few people sought out by very many, a few people in very many groups, group
 * sizes up to the cap, message volumes spread over orders of magnitude. Deterministic for a seed.
 */
import { Code, type Params } from "./params";
import { regions, type Diurnal } from "./diurnal";
import { powerLaw, Rng, WeightedPicker } from "./random";

export interface Users {
  n: number;
  region: Uint8Array;
  dau: Uint8Array;
  /** How much of a conversation's traffic this user sends, relative to its other members. */
  talk: Float64Array;
  devices: Uint8Array;
  /** Device sockets open at the global peak hour (0 = offline: pushed to, if subscribed). */
  connected: Uint8Array;
  pushSubscribed: Uint8Array;
  /** 1:1 chats in the user's list (the web client watches each partner's presence). */
  existingDirect: Float64Array;
  /** How readily the user joins groups (lognormal, mean 1): their share of all group memberships. */
  groupiness: Float64Array;
}

/** Conversations with traffic today, members in one flat array (CSR layout). */
export interface Conversations {
  count: number;
  group: Uint8Array;
  region: Uint8Array;
  memberStart: Int32Array;
  members: Int32Array;
  /** Per member (parallel to `members`): their share of the conversation's messages today. */
  share: Float64Array;
  perDay: Float64Array;
}

export interface Population {
  users: Users;
  conversations: Conversations;
  /** Everything that exists (sampled), active today or not: conversation objects live forever. */
  existing: { direct: number; groups: number; groupMemberships: number; groupMemberSlots: number };
  /** Messages a day in the sample. */
  messagesPerDay: number;
  /** Share of them sent in groups, and recipients per message (message-weighted) in groups and overall. */
  groupMessageShare: number;
  recipientsPerGroupMessage: number;
  recipientsPerMessage: number;
}

export function generate(p: Params, diurnal: Diurnal, messagesPerDayFull: number): Population {
  const rng = new Rng(p.seed);
  const users = makeUsers(p, diurnal, rng);
  const byRegion = regionIndex(users);
  const regionPicker = new WeightedPicker(regions.map((r) => r.share));
  const pickRegion = (home: number) => (rng.chance(p.sameRegionShare) ? home : regionPicker.pick(rng));

  // Weights for who is sought out for 1:1 chats and who joins groups: lognormal, so a few are huge.
  const popularity = new Float64Array(users.n);
  const groupiness = users.groupiness;
  for (let u = 0; u < users.n; u++) {
    popularity[u] = rng.lognormal(1, p.popularitySigma);
    groupiness[u] = rng.lognormal(1, p.groupinessSigma);
  }
  // Whom people talk to today is mostly people who use the app today; groups carry more lurkers.
  const pickerOf = (weights: Float64Array, ids: Int32Array) => new WeightedPicker(Array.from(ids, (u) => weights[u]!), ids);
  const daily = byRegion.map((ids) => ids.filter((u) => users.dau[u] === 1));
  const partnerPickers = byRegion.map((ids, r) => ({ all: pickerOf(popularity, ids), daily: pickerOf(popularity, daily[r]!) }));
  const memberPickers = byRegion.map((ids, r) => ({ all: pickerOf(groupiness, ids), daily: pickerOf(groupiness, daily[r]!) }));
  const pickPartner = (r: number) => partnerPickers[r]![rng.chance(p.partnerDailyShare) ? "daily" : "all"].pick(rng);
  const pickMember = (r: number) => memberPickers[r]![rng.chance(p.memberDailyShare) ? "daily" : "all"].pick(rng);

  const group: number[] = [];
  const region: number[] = [];
  const memberStart: number[] = [0];
  const members: number[] = [];
  const share: number[] = [];
  const perDay: number[] = [];
  const activeDirect = new Int32Array(users.n);

  // 1:1 chats active today: each daily user opens a few; partners are drawn by popularity.
  const pairs = new Set<number>();
  for (let u = 0; u < users.n; u++) {
    if (!users.dau[u]) continue;
    const opened = Math.min(Math.round(rng.lognormal(p.directPerDau.median, p.directPerDau.sigma)), 1_000);
    for (let i = 0; i < opened; i++) {
      const v = pickPartner(pickRegion(users.region[u]!));
      if (v === u) continue;
      const key = Math.min(u, v) * users.n + Math.max(u, v);
      if (pairs.has(key)) continue;
      pairs.add(key);
      activeDirect[u]!++;
      activeDirect[v]!++;
      // Both talk, if both use the app today; a 1:1 chat is closer to even than a group.
      const wu = users.dau[u] ? Math.sqrt(users.talk[u]!) : 0;
      const wv = users.dau[v] ? Math.sqrt(users.talk[v]!) : 0;
      group.push(0);
      region.push(users.region[u]!);
      members.push(u, v);
      share.push(wu / (wu + wv), wv / (wu + wv));
      memberStart.push(members.length);
      perDay.push(rng.lognormal(p.directMessages.median, p.directMessages.sigma));
    }
  }
  const directCount = group.length;

  // Groups, active or not, until the memberships add up; members of active ones drawn by groupiness.
  const sizes = powerLaw(p.groupSize.min, Code.groupMaxMembers, p.groupSize.alpha);
  const targetMemberships = users.n * p.groupsPerUser;
  let memberships = 0;
  let memberSlots = 0; // Σ size²: each membership's view of its group's member list
  let groups = 0;
  const seen = new Set<number>();
  while (memberships < targetMemberships) {
    const size = sizes.pick(rng);
    const home = regionPicker.pick(rng);
    groups++;
    memberships += size;
    memberSlots += size * size;
    if (!rng.chance(1 - (1 - p.groupActiveQ) ** size)) continue;
    seen.clear();
    for (let attempt = 0; seen.size < size && attempt < 4 * size; attempt++) seen.add(pickMember(pickRegion(home)));
    let talkSum = 0;
    for (const m of seen) if (users.dau[m]) talkSum += users.talk[m]!;
    if (seen.size < 2 || talkSum === 0) continue; // nobody here uses the app today: no traffic
    group.push(1);
    region.push(home);
    for (const m of seen) {
      members.push(m);
      share.push(users.dau[m] ? users.talk[m]! / talkSum : 0);
    }
    memberStart.push(members.length);
    const median = p.groupMessages.median * (seen.size / p.groupSize.min) ** p.groupMessages.sizeExponent;
    perDay.push(rng.lognormal(median, p.groupMessages.sigma));
  }

  // Scale the day's volume to the target, split between 1:1 chats and groups so that a message has
  // `recipientsPerMessage` recipients on average: 1 in a 1:1 chat, (members − 1) in a group.
  let weighted = 0;
  let volume = 0;
  for (let c = directCount; c < perDay.length; c++) {
    weighted += perDay[c]! * (memberStart[c + 1]! - memberStart[c]! - 1);
    volume += perDay[c]!;
  }
  const recipientsPerGroupMessage = volume > 0 ? weighted / volume : 1;
  const groupMessageShare =
    p.groupMessageShare ?? Math.min(0.9, Math.max(0, (p.recipientsPerMessage - 1) / Math.max(1e-9, recipientsPerGroupMessage - 1)));
  const messagesPerDay = (messagesPerDayFull * users.n) / p.fullUsers;
  normalise(perDay, 0, directCount, messagesPerDay * (1 - groupMessageShare));
  normalise(perDay, directCount, perDay.length, messagesPerDay * groupMessageShare);

  // The 1:1 chats in each user's list: those active today and older ones.
  for (let u = 0; u < users.n; u++) {
    users.existingDirect[u] = activeDirect[u]! * p.existingDirectPerActive + rng.lognormal(p.existingDirectBase.median, p.existingDirectBase.sigma);
  }
  let existingDirect = 0;
  for (let u = 0; u < users.n; u++) existingDirect += users.existingDirect[u]!;

  return {
    users,
    conversations: {
      count: group.length,
      group: Uint8Array.from(group),
      region: Uint8Array.from(region),
      memberStart: Int32Array.from(memberStart),
      members: Int32Array.from(members),
      share: Float64Array.from(share),
      perDay: Float64Array.from(perDay),
    },
    existing: { direct: existingDirect / 2, groups, groupMemberships: memberships, groupMemberSlots: memberSlots },
    messagesPerDay,
    groupMessageShare,
    recipientsPerGroupMessage,
    recipientsPerMessage: 1 - groupMessageShare + groupMessageShare * recipientsPerGroupMessage,
  };
}

function makeUsers(p: Params, diurnal: Diurnal, rng: Rng): Users {
  const n = p.users;
  const users: Users = {
    n,
    region: new Uint8Array(n),
    dau: new Uint8Array(n),
    talk: new Float64Array(n),
    devices: new Uint8Array(n),
    connected: new Uint8Array(n),
    pushSubscribed: new Uint8Array(n),
    existingDirect: new Float64Array(n),
    groupiness: new Float64Array(n),
  };
  const regionPicker = new WeightedPicker(regions.map((r) => r.share));
  const devicePicker = new WeightedPicker(p.devicePmf.slice(0, Code.devicesPerUser));
  for (let u = 0; u < n; u++) {
    const r = regionPicker.pick(rng);
    users.region[u] = r;
    users.dau[u] = rng.chance(p.dauShare) ? 1 : 0;
    users.talk[u] = rng.lognormal(1, p.senderSigma);
    const devices = devicePicker.pick(rng) + 1;
    users.devices[u] = devices;
    users.pushSubscribed[u] = rng.chance(p.pushSubscribedShare) ? 1 : 0;
    // Who is connected at the global peak: daily users, more of them where it is evening.
    if (users.dau[u] && rng.chance(p.onlineAtLocalPeak * diurnal.awake[r]!)) {
      users.connected[u] = 1 + rng.binomial(devices - 1, p.extraDeviceOnline);
    }
  }
  return users;
}

function regionIndex(users: Users): Int32Array[] {
  const lists: number[][] = regions.map(() => []);
  for (let u = 0; u < users.n; u++) lists[users.region[u]!]!.push(u);
  return lists.map((l) => Int32Array.from(l));
}

function normalise(values: number[], from: number, to: number, total: number) {
  let sum = 0;
  for (let i = from; i < to; i++) sum += values[i]!;
  if (sum === 0) return;
  for (let i = from; i < to; i++) values[i] = (values[i]! * total) / sum;
}
