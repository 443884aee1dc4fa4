/**
 * What each operation costs, in requests into objects, as Parley's code does it today. A "request"
 * is anything that runs the object: an RPC, a socket message, an alarm, a socket upgrade. Heartbeats
 * are not: the runtime answers them without waking the object (setWebSocketAutoResponse).
 *
 * Per message in a conversation of n members (src/objects/…):
 *   sender's device → its user object           1 socket message  (user/frames.ts send → outbox)
 *   user object → conversation `sendMessages`    1 RPC per flush   (one flush per burst of one socket)
 *   conversation → every member's `deliver`      n RPCs per round  (conversation/fanout.ts; the sender's own object too)
 *   each connected device → its user object      1 ack per round, at most 1 a second (SDK: `delivered`, or `read` if on screen)
 *   user object → conversation `updateCursor`    1 RPC per such ack, when the user's cursor moves (user/frames.ts status)
 *   conversation → sender's `pushFrames`         notices coalesced: ≤ 1 RPC per sender per 200 ms (conversation/receipts.ts)
 *   conversation → every member's `confirmDelivered`  n RPCs after a burst ends (fanout.ts confirm; replies carry it while traffic flows)
 *   conversation alarm                           ≤ 1 per 5 s of activity (fan-out safety net, typing expiry)
 *   typing: device → user → conversation         1 RPC per typing frame (≤ 1/s per member, client and server)
 *   typing: conversation → every other member    n − 1 `pushFrames` RPCs per forwarded frame, only when n ≤ 32
 *                                                 (Limits.typingToDevicesMaxMembers); bigger groups: live sockets only (conversation/typing.ts)
 *   offline member with a push subscription      a queue message per subscribed device, coalesced per 30 s (user/push.ts)
 *                                                 and a `profile` RPC into the sender's object for the notification's title
 */
import { Code, type Params } from "./params";

/** What the model needs to know of one conversation at the peak. */
export interface ConversationShape {
  group: boolean;
  members: number;
  /** Messages a second. */
  rate: number;
  /** Σ over members of P(online) × (1 − their share of sending): who acknowledges a message. */
  onlineRecipients: number;
  /** Σ share × [sender has another device connected]: that device acknowledges its own user's message. */
  senderOtherDevices: number;
  /** 1 / Σ share²: how many people effectively do the talking. */
  effectiveSenders: number;
  /** Catch-up `history` calls a second from members reconnecting while behind. */
  catchUps: number;
}

export interface ConversationLoad {
  rate: number;
  /** Fan-out rounds a second and messages per round (a round carries what was stored meanwhile). */
  rounds: number;
  perRound: number;
  incoming: { sends: number; cursors: number; typing: number; alarms: number; catchUps: number; mediaChecks: number; total: number };
  outgoing: { deliver: number; receipts: number; typing: number; total: number };
  /** Receipt notices a second, all senders together (split among them by their share). */
  receipts: number;
  /** Typing frames forwarded to user objects a second (each reaches every other member's); 0 above 32 members. */
  typingForwards: number;
  /** Live conversation sockets open (members with the conversation on screen). */
  liveSockets: number;
  mediaMessages: number;
  images: number;
}

/** A round takes one `deliver` round trip, plus the CPU to issue n calls. */
export function roundSeconds(members: number, p: Params): number {
  return (p.roundMs.base + p.roundMs.perMember * members) / 1000;
}

export function conversationLoad(s: ConversationShape, p: Params): ConversationLoad {
  const r = s.rate;
  const T = roundSeconds(s.members, p);
  // Messages stored during a round go out together in the next (fanout.ts): rounds saturate at 1/T.
  const rounds = r / (1 + r * T);
  const perRound = rounds > 0 ? Math.min(r / rounds, Code.fanoutBatch) : 0;
  const viewShare = s.group ? p.viewShare.group : p.viewShare.direct;

  // Each acknowledging device moves its user's cursor once per round, but the SDK acks at most once
  // a second while messages stream: one `updateCursor` each.
  const acksPerDevice = Math.min(rounds, 1000 / Code.deliveredAckIntervalMs);
  const cursors = (s.onlineRecipients + s.senderOtherDevices) * acksPerDevice;
  // Each of those tells every sender it passed; notices to one sender go together per 200 ms window.
  const distinctSenders = s.effectiveSenders * (1 - (1 - 1 / Math.max(1, s.effectiveSenders)) ** perRound);
  const noticesPerSecond = s.onlineRecipients * acksPerDevice * Math.max(1, distinctSenders);
  const receipts = Math.min(noticesPerSecond, Math.max(1, distinctSenders) * (1000 / Code.noticeWindowMs));
  const typingRpcs = r * (1 - p.mediaShare) * p.typingFramesPerMessage;
  // The conversation forwards at most one `typing` per member per second; clients send no more. Big
  // groups forward it to live sockets only (a `ws.send` each, no call).
  const typingForwards = s.members <= Code.typingToDevicesMaxMembers ? typingRpcs : 0;
  // One alarm per burst of activity: armed by a send or a typing frame, 5 s out (fanout.ts, typing.ts).
  const alarms = r / (1 + r * (Code.fanoutAlarmMs / 1000));
  const mediaMessages = r * p.mediaShare;
  // A shown media message costs its viewer a `/media/:id/url`, which asks the conversation `describe`.
  const mediaChecks = mediaMessages * s.onlineRecipients * viewShare;

  const incoming = {
    sends: r,
    cursors,
    typing: typingRpcs,
    alarms,
    catchUps: s.catchUps,
    mediaChecks,
    total: 0,
  };
  incoming.total = incoming.sends + incoming.cursors + incoming.typing + incoming.alarms + incoming.catchUps + incoming.mediaChecks;
  const outgoing = { deliver: s.members * rounds, receipts, typing: typingForwards * (s.members - 1), total: 0 };
  outgoing.total = outgoing.deliver + outgoing.receipts + outgoing.typing;
  return {
    rate: r,
    rounds,
    perRound,
    incoming,
    outgoing,
    receipts,
    typingForwards,
    liveSockets: (s.onlineRecipients + s.senderOtherDevices) * viewShare,
    mediaMessages,
    images: mediaMessages * p.imageShareOfMedia,
  };
}

/**
 * Pushes a second to one offline member for one conversation whose others send `lambda` messages a
 * second (Poisson). The first message of a quiet spell is pushed at once and opens a 30 s window; if
 * more arrive in it, one coalesced push goes when it ends and opens the next (user/push.ts).
 * Renewal argument: a chain of windows continues with p = P(≥1 arrival in W), so it carries
 * 1/(1 − p) pushes over W/(1 − p) seconds, then waits 1/λ for the next message.
 */
export function pushesPerSecond(lambda: number): number {
  if (lambda <= 0) return 0;
  const W = Code.pushCoalesceMs / 1000;
  const p = 1 - Math.exp(-lambda * W);
  return 1 / (W + (1 - p) / lambda);
}

/** The per-user cap: at most `pushPerMinute` pushes a minute, whatever the conversations. */
export function cappedPushes(raw: number): number {
  return Math.min(raw, Code.pushPerMinute / 60);
}

/**
 * R2 operations a media message costs (src/routes/media.ts, src/media/records.ts, src/queues/media.ts).
 * Class A: writes and lists; class B: reads and heads.
 *   upload:   meta PUT (pending), bytes PUT                                          A 2
 *   complete: HEAD, ranged GET (type sniff), meta PUT (ready)                        A 1, B 2
 *   send:     meta GET, grant PUT (conversations/…, before the message is stored)    A 1, B 1
 *   image:    thumbnail job: meta GET, bytes GET, thumb PUT, meta PUT               A 2, B 2
 * Per viewer: `/url` meta GET + grants LIST (+ `describe` on the conversation);
 *   the thumbnail (images) meta GET + GET; a full view meta GET + GET.
 */
export function r2PerMediaMessage(p: Params, viewers: number): { a: number; b: number } {
  const img = p.imageShareOfMedia;
  const a = 4 + 2 * img + viewers * 1;
  const b = 3 + 2 * img + viewers * (1 + img * 2 + p.fullViewShare * 2);
  return { a, b };
}
