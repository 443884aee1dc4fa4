import type { Env } from "../../env";
import { randomToken } from "../../lib/ids";
import { log } from "../../lib/log";
import { queueFor } from "../../queues/shards";
import { ok, refuse, type Result } from "../../lib/result";
import { ErrorCode, Limits, type PushPayload, type PushSubscriptionBody } from "../../protocol";
import type { PushJob } from "../../queues/push";
import type { TaskKind } from "../alarms";
import type { ObjectContext } from "../context";
import type { DeliveredMessage } from "../delivery";
import { userHome } from "../homes";
import { signingSecret } from "../../auth/tokens";
import { viewPath } from "../../media/uploadToken";
import type { ConversationSettingsStore } from "./conversationSettings";
import type { InboxStore } from "./inbox";
import type { Profiles } from "./profiles";
import type { DeviceSessions } from "./sessions";

type WindowRow = {
  user_id: string;
  conversation_id: string;
  last_sent_at: number;
  pending: number;
  pending_sender: string | null;
  pending_preview: string | null;
  /** The highest seq already counted: a message delivered again is not counted again. */
  counted_seq: number;
  /** The highest seq already pushed: those counted after it are pending. */
  sent_seq: number;
};

type SubscriptionRow = {
  device_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
};

/**
 * Web Push for users with no device connected (each user of the object on their own). Pushes are coalesced per conversation: the first
 * message of a quiet spell is pushed at once; what arrives in the next 30 s waits and goes as one
 * push ("3 new messages") when the window ends; a per-user cap per minute bounds a busy day. Nothing
 * is pushed while any device is connected. The object only decides and enqueues; the queue consumer
 * (src/queues/push.ts) encrypts and delivers, so no message waits for a push service.
 */
type OutboxRow = {
  id: number;
  push_id: string | null;
  user_id: string;
  conversation_id: string;
  count: number;
  sender_id: string | null;
  latest: string | null;
  attempts: number;
};

/**
 * How soon the alarm looks at an outbox row that was not taken off (a crash, or the queue failing).
 * Booked with every row, so long enough that a user pushed to often books one alarm a minute, not
 * one per push; the drain after the commit normally empties the row long before.
 */
const OUTBOX_RETRY_MS = 60_000;
/** A push the queue keeps refusing is dropped after this many tries (about an hour and a half at the retry pace). */
const OUTBOX_MAX_ATTEMPTS = 100;

/** How long a sender's name and photo are kept before they are asked for again. */
const SENDER_TTL_MS = 5 * 60_000;
const SENDERS_KEPT = 10_000;
/** A push's icon URL works this long: a phone that was off may show the notification hours later. */
const PUSH_ICON_TTL_MS = 24 * 3_600_000;

export class PushNotifier {
  /** Senders as recipients here may see them (name, photo), kept a few minutes: profiles change. */
  private readonly senders = new Map<string, { name: string; photo: string | null; until: number }>();
  /** The drain running now, and whether rows were added while it ran. */
  private draining: Promise<void> | null = null;
  private drainAgain = false;
  private readonly env: Env;
  /** The alarm task that sends coalesced pushes when their window ends, and retries the outbox. */
  private readonly flushes: TaskKind;

  constructor(
    private readonly object: ObjectContext,
    private readonly profiles: Profiles,
    private readonly inbox: InboxStore,
    private readonly sessions: DeviceSessions,
    private readonly settings: Pick<ConversationSettingsStore, "muted">,
  ) {
    this.env = object.env;
    this.flushes = object.alarms.define("push", (now) => this.flushDue(now));
  }

  private get sql() {
    return this.object.storage.sql;
  }

  subscribe(userId: string, body: PushSubscriptionBody, now: number, sessionId: string | null = null): Result<void> {
    const p256dh = base64urlBytes(body.keys.p256dh);
    if (p256dh?.length !== 65 || p256dh[0] !== 0x04) {
      return refuse(ErrorCode.badRequest, "keys.p256dh must be an uncompressed P-256 public key");
    }
    if (!endpointAllowed(body.endpoint, this.env.ENVIRONMENT, this.env.PUSH_ENDPOINT_HOSTS)) {
      return refuse(ErrorCode.badRequest, "endpoint must be an https URL of a known push service (PUSH_ENDPOINT_HOSTS)");
    }
    const existing = this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_subscriptions WHERE user_id = ? AND device_id != ?", userId, body.device_id)
      .one().n;
    if (existing >= Limits.pushSubscriptionsPerUser) {
      return refuse(ErrorCode.rateLimited, `at most ${Limits.pushSubscriptionsPerUser} devices can receive notifications`);
    }
    this.sql.exec(
      `INSERT INTO push_subscriptions (user_id, device_id, endpoint, p256dh, auth, created_at, session_id) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (user_id, device_id) DO UPDATE SET endpoint = excluded.endpoint, p256dh = excluded.p256dh, auth = excluded.auth,
         created_at = excluded.created_at, session_id = excluded.session_id`,
      userId,
      body.device_id,
      body.endpoint,
      body.keys.p256dh,
      body.keys.auth,
      now,
      sessionId,
    );
    return ok(undefined);
  }

  /** Logged out everywhere: no device of the user gets pushes until it subscribes again after a login. */
  unsubscribeAll(userId: string): void {
    this.sql.exec("DELETE FROM push_subscriptions WHERE user_id = ?", userId);
    this.sql.exec("DELETE FROM push_outbox WHERE user_id = ?", userId);
  }

  /** A session ended: the subscriptions its devices made go with it. */
  unsubscribeSession(userId: string, sessionId: string): void {
    this.sql.exec("DELETE FROM push_subscriptions WHERE user_id = ? AND session_id = ?", userId, sessionId);
  }

  unsubscribe(userId: string, deviceId: string): boolean {
    return this.sql.exec("DELETE FROM push_subscriptions WHERE user_id = ? AND device_id = ?", userId, deviceId).rowsWritten > 0;
  }

  /** The push service said the subscription is gone (404/410); a newer one for the device stays. */
  forgetEndpoint(userId: string, deviceId: string, endpoint: string): void {
    this.sql.exec("DELETE FROM push_subscriptions WHERE user_id = ? AND device_id = ? AND endpoint = ?", userId, deviceId, endpoint);
  }

  subscriptionCount(userId: string): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_subscriptions WHERE user_id = ?", userId).one().n;
  }

  /** Messages reached the user while none of their devices was connected. */
  noteUndelivered(userId: string, conversationId: string, messages: DeliveredMessage[], now: number): void {
    if (messages.length === 0 || this.subscriptionCount(userId) === 0) return;
    let row = this.window(userId, conversationId);
    // Only seqs past what this window already counted: a delivery may repeat messages that an
    // evicted object had counted but not yet written to its inbox.
    const fresh = messages.filter((m) => m.seq > (row?.counted_seq ?? 0));
    // A delete for everyone takes its message out of what is still to be pushed.
    const deleted = new Set<number>();
    for (const m of fresh) {
      if (m.action?.kind !== "delete") continue;
      deleted.add(m.action.target_seq);
      if (this.dropPending(userId, conversationId, m.action.target_seq, m.action.target_sender)) row = this.window(userId, conversationId);
    }
    let notable = fresh.filter((m) => m.sender_id !== userId && m.system === undefined && !deleted.has(m.seq) && notifies(m, userId));
    // A muted conversation pushes only what mentions the user.
    if (notable.length > 0 && this.settings.muted(userId, conversationId, now)) notable = notable.filter((m) => m.mentioned?.includes(userId));
    if (notable.length === 0) return;
    const last = notable[notable.length - 1]!;
    const pending = (row?.pending ?? 0) + notable.length;
    const windowEnds = (row?.last_sent_at ?? 0) + Limits.pushCoalesceMs;
    // A mention is pushed at once, not held for the window (and despite a mute).
    const mentioned = notable.some((m) => m.mentioned?.includes(userId));
    if ((now >= windowEnds || mentioned) && this.takeRateSlot(userId, now)) {
      this.sql.exec(
        `INSERT INTO push_windows (user_id, conversation_id, last_sent_at, pending, counted_seq, sent_seq) VALUES (?, ?, ?, 0, ?, ?)
         ON CONFLICT (user_id, conversation_id) DO UPDATE SET last_sent_at = excluded.last_sent_at, pending = 0, pending_sender = NULL,
           pending_preview = NULL, counted_seq = excluded.counted_seq, sent_seq = excluded.sent_seq`,
        userId,
        conversationId,
        now,
        last.seq,
        last.seq,
      );
      this.queuePush(userId, conversationId, pending, last.sender_id, preview(last), now, last.seq);
      return;
    }
    this.sql.exec(
      `INSERT INTO push_windows (user_id, conversation_id, last_sent_at, pending, pending_sender, pending_preview, counted_seq) VALUES (?, ?, 0, ?, ?, ?, ?)
       ON CONFLICT (user_id, conversation_id) DO UPDATE SET pending = excluded.pending, pending_sender = excluded.pending_sender,
         pending_preview = excluded.pending_preview, counted_seq = excluded.counted_seq`,
      userId,
      conversationId,
      pending,
      last.sender_id,
      preview(last),
      last.seq,
    );
    this.flushes.book(Math.max(windowEnds, this.nextRateSlot(userId, now)));
  }

  /**
   * Message `seq` was deleted for everyone: if it is still waiting to be pushed (in the window, or
   * in the outbox), it no longer is, and its text goes with it. Returns whether anything changed.
   */
  private dropPending(userId: string, conversationId: string, seq: number, senderId: string): boolean {
    if (senderId === userId) return false; // your own messages are never pushed to you
    let changed = false;
    const row = this.window(userId, conversationId);
    if (row && row.pending > 0 && seq > row.sent_seq && seq <= row.counted_seq) {
      const pending = row.pending - 1;
      this.sql.exec(
        `UPDATE push_windows SET pending = ?,
           pending_sender = CASE WHEN ? = 0 THEN NULL ELSE pending_sender END,
           pending_preview = CASE WHEN ? = 0 OR ? = counted_seq THEN NULL ELSE pending_preview END
         WHERE user_id = ? AND conversation_id = ?`,
        pending,
        pending,
        pending,
        seq,
        userId,
        conversationId,
      );
      changed = true;
    }
    const outbox = this.sql.exec(
      "DELETE FROM push_outbox WHERE user_id = ? AND conversation_id = ? AND last_seq = ? AND count <= 1",
      userId,
      conversationId,
      seq,
    );
    this.sql.exec(
      "UPDATE push_outbox SET count = count - 1, latest = NULL WHERE user_id = ? AND conversation_id = ? AND last_seq = ? AND count > 1",
      userId,
      conversationId,
      seq,
    );
    return changed || outbox.rowsWritten > 0;
  }

  /** A device of the user connected: what was waiting is being read now, not pushed. */
  deviceConnected(userId: string): void {
    this.sql.exec("UPDATE push_windows SET pending = 0, pending_sender = NULL, pending_preview = NULL, sent_seq = counted_seq WHERE user_id = ? AND pending > 0", userId);
  }

  /**
   * A push is decided: it goes into the outbox in the same transaction as its window, and to the
   * queue from there once that is committed. The alarm is the safety net for a crash in between.
   */
  private queuePush(userId: string, conversationId: string, count: number, senderId: string | null, latest: string | null, now: number, lastSeq: number): void {
    this.sql.exec(
      "INSERT INTO push_outbox (user_id, conversation_id, count, sender_id, latest, created_at, push_id, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      userId,
      conversationId,
      count,
      senderId,
      latest,
      now,
      randomToken(12),
      lastSeq,
    );
    this.flushes.book(now + OUTBOX_RETRY_MS);
    this.object.waitUntil(this.drainOutbox());
  }

  /**
   * Puts what the outbox holds on the queue, oldest first, deleting each row once the queue took it.
   * A row whose enqueue fails stays for the next drain (the alarm); one that keeps failing is dropped
   * after OUTBOX_MAX_ATTEMPTS. A crash after the queue took a push but before its row is deleted
   * sends it again: the push service replaces it (same topic), so the user sees one notification.
   */
  drainOutbox(): Promise<void> {
    if (this.draining) {
      this.drainAgain = true;
      return this.draining;
    }
    this.draining = (async () => {
      do {
        this.drainAgain = false;
        const rows = this.sql.exec<OutboxRow>("SELECT * FROM push_outbox ORDER BY id").toArray();
        for (const row of rows) {
          const sent = await this.enqueue(row.user_id, row.conversation_id, row.count, row.sender_id, row.latest, row.push_id ?? `row-${row.id}`);
          if (sent || row.attempts + 1 >= OUTBOX_MAX_ATTEMPTS) {
            if (!sent) log.error("push dropped after retries", { user_id: row.user_id, conversation_id: row.conversation_id });
            this.sql.exec("DELETE FROM push_outbox WHERE id = ?", row.id);
          } else {
            this.sql.exec("UPDATE push_outbox SET attempts = attempts + 1 WHERE id = ?", row.id);
          }
        }
      } while (this.drainAgain);
    })().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  /** Sends the coalesced pushes whose window has ended; returns when to look again, if ever. */
  private flushDue(now: number): number | null {
    const waiting = this.sql.exec<WindowRow>("SELECT * FROM push_windows WHERE pending > 0").toArray();
    let next: number | null = this.sql.exec("SELECT 1 FROM push_outbox LIMIT 1").toArray().length > 0 ? now + OUTBOX_RETRY_MS : null;
    if (next !== null) this.object.waitUntil(this.drainOutbox());
    for (const row of waiting) {
      if (this.sessions.online(row.user_id)) {
        this.deviceConnected(row.user_id);
        continue;
      }
      const due = row.last_sent_at + Limits.pushCoalesceMs;
      if (now < due || !this.takeRateSlot(row.user_id, now)) {
        const at = Math.max(due, this.nextRateSlot(row.user_id, now));
        next = next === null ? at : Math.min(next, at);
        continue;
      }
      this.sql.exec(
        "UPDATE push_windows SET last_sent_at = ?, pending = 0, pending_sender = NULL, pending_preview = NULL, sent_seq = counted_seq WHERE user_id = ? AND conversation_id = ?",
        now,
        row.user_id,
        row.conversation_id,
      );
      this.queuePush(row.user_id, row.conversation_id, row.pending, row.pending_sender, row.pending_preview, now, row.counted_seq);
    }
    return next;
  }

  /** Whether this push already reached this device (the queue had it twice): the consumer sends it once. */
  pushAlreadySent(userId: string, pushId: string, deviceId: string): boolean {
    return this.sql.exec("SELECT 1 FROM push_sent WHERE user_id = ? AND push_id = ? AND device_id = ?", userId, pushId, deviceId).toArray().length > 0;
  }

  /** The push service took this push for this device. */
  notePushSent(userId: string, pushId: string, deviceId: string, now: number): void {
    this.sql.exec("INSERT OR IGNORE INTO push_sent (user_id, push_id, device_id, at) VALUES (?, ?, ?, ?)", userId, pushId, deviceId, now);
    this.sql.exec("DELETE FROM push_sent WHERE at < ?", now - 24 * 60 * 60_000);
  }

  /** A push that exhausted its retries: kept (the user's latest 100) and counted. */
  noteDeadLetter(userId: string, job: unknown, now: number): void {
    this.sql.exec("INSERT INTO push_dead_letters (user_id, at, job) VALUES (?, ?, ?)", userId, now, JSON.stringify(job));
    this.sql.exec(
      `DELETE FROM push_dead_letters WHERE user_id = ? AND id <= (
         SELECT id FROM push_dead_letters WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET 100)`,
      userId,
      userId,
    );
    this.sql.exec("UPDATE users SET push_dead_letters = push_dead_letters + 1 WHERE user_id = ?", userId);
  }

  deadLetters(userId: string): number {
    return this.sql.exec<{ n: number }>("SELECT push_dead_letters AS n FROM users WHERE user_id = ?", userId).toArray()[0]?.n ?? 0;
  }

  private window(userId: string, conversationId: string): WindowRow | undefined {
    return this.sql.exec<WindowRow>("SELECT * FROM push_windows WHERE user_id = ? AND conversation_id = ?", userId, conversationId).toArray()[0];
  }

  private rate(userId: string): { minute_start: number; sent_this_minute: number } {
    return (
      this.sql
        .exec<{ minute_start: number; sent_this_minute: number }>(
          "SELECT push_minute_start AS minute_start, push_sent_this_minute AS sent_this_minute FROM users WHERE user_id = ?",
          userId,
        )
        .toArray()[0] ?? { minute_start: 0, sent_this_minute: 0 }
    );
  }

  private takeRateSlot(userId: string, now: number): boolean {
    const stats = this.rate(userId);
    if (now - stats.minute_start >= 60_000) {
      this.sql.exec("UPDATE users SET push_minute_start = ?, push_sent_this_minute = 1 WHERE user_id = ?", now, userId);
      return true;
    }
    if (stats.sent_this_minute >= Limits.pushPerMinute) return false;
    this.sql.exec("UPDATE users SET push_sent_this_minute = push_sent_this_minute + 1 WHERE user_id = ?", userId);
    return true;
  }

  private nextRateSlot(userId: string, now: number): number {
    const stats = this.rate(userId);
    return stats.sent_this_minute >= Limits.pushPerMinute ? stats.minute_start + 60_000 : now;
  }

  /** One queue message per subscribed device, so a failing endpoint retries alone. False if the queue refused them. */
  private async enqueue(userId: string, conversationId: string, count: number, senderId: string | null, latest: string | null, pushId: string): Promise<boolean> {
    const subscriptions = this.sql
      .exec<SubscriptionRow>("SELECT device_id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ?", userId)
      .toArray();
    const context = this.inbox.notificationContext(userId, conversationId);
    if (subscriptions.length === 0 || !context) return true; // nobody to push to any more: done
    const senderProfile = senderId ? await this.senderAsSeenBy(senderId, userId) : null;
    const sender = senderProfile?.name ?? null;
    const title = context.type === "group" ? (context.name ?? "Group") : (sender ?? "New message");
    const previews = this.profiles.pushPreviews(userId);
    let body: string;
    if (count > 1) body = `${count} new messages`;
    else if (previews && latest) body = context.type === "group" && sender ? `${sender}: ${latest}` : latest;
    else body = "New message";
    const payload: PushPayload = { conversation_id: conversationId, title, body, unread_count: context.unread_count };
    const photo = context.type === "group" ? context.photo_media_id : (senderProfile?.photo ?? null);
    if (photo) payload.icon = await viewPath(signingSecret(this.env), { media_id: photo, variant: "thumbnail", expires: Date.now() + PUSH_ICON_TTL_MS });
    const topic = await pushTopic(conversationId);
    const jobs = subscriptions.map(
      (s): PushJob => ({
        user_id: userId,
        device_id: s.device_id,
        subscription: { endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } },
        payload,
        push_id: pushId,
        topic,
        urgency: context.type === "direct" ? "high" : "normal",
      }),
    );
    try {
      await queueFor(this.env, "PUSH_JOBS", userId).sendBatch(jobs.map((body) => ({ body })));
      return true;
    } catch (err) {
      log.error("push enqueue failed; kept in the outbox", { user_id: userId, conversation_id: conversationId, error: err });
      return false;
    }
  }

  private async senderAsSeenBy(senderId: string, recipientId: string): Promise<{ name: string; photo: string | null } | null> {
    const key = `${senderId}\n${recipientId}`;
    const known = this.senders.get(key);
    if (known && known.until > Date.now()) return known;
    const profile = await userHome(this.env, senderId)
      .profileFor(senderId, recipientId)
      .catch((error: unknown) => {
        // The push goes without the sender's name rather than not at all.
        log.warn("sender's profile not found for a push", { user_id: senderId, error });
        return null;
      });
    if (!profile) return null;
    if (this.senders.size > SENDERS_KEPT) this.senders.clear();
    const seen = { name: profile.display_name, photo: profile.photo?.media_id ?? null, until: Date.now() + SENDER_TTL_MS };
    this.senders.set(key, seen);
    return seen;
  }
}

/** The text a push may show for a message (only if the user allows previews). */
/**
 * What reaches a user's phone: messages from others, and reactions to their own messages (never to
 * others'); edits and deletes never do.
 */
function notifies(m: DeliveredMessage, userId: string): boolean {
  if (m.action === undefined) return true;
  return m.action.kind === "reaction" && m.action.target_sender === userId && m.action.content !== "";
}

function preview(m: DeliveredMessage): string | null {
  if (m.action?.kind === "reaction") return `Reacted ${m.action.content} to your message`;
  try {
    const frame = JSON.parse(m.frame) as { content: string; content_type: string; media?: { filename?: string | null; voice?: true } };
    if (frame.content_type === "image") return frame.content ? `📷 ${frame.content}` : "📷 Photo";
    if (frame.content_type === "video") return frame.content ? `🎥 ${frame.content}` : "🎥 Video";
    if (frame.content_type === "document") return `📄 ${frame.media?.filename ?? "Document"}`;
    if (frame.content_type === "audio") return frame.media?.voice ? "🎤 Voice message" : `🎵 ${frame.media?.filename ?? "Audio"}`;
    return frame.content.length > 120 ? `${frame.content.slice(0, 117)}…` : frame.content;
  } catch {
    // A frame of ours that does not read as expected costs the preview, not the push.
    return null;
  }
}

/** The push service's Topic: newer pushes for the same conversation replace undelivered older ones. */
async function pushTopic(conversationId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(conversationId)));
  let s = "";
  for (const b of digest.slice(0, 24)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""); // 32 URL-safe characters
}

function base64urlBytes(s: string): Uint8Array | null {
  try {
    const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, ""));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * The push services browsers subscribe with (Chrome, Firefox, Edge, Safari). A subscription names the
 * URL the push consumer will POST to, so anything else would let a user aim the server at any host
 * (an internal address included). `PUSH_ENDPOINT_HOSTS` replaces the list (comma-separated; a leading
 * `*.` matches subdomains).
 */
export const DEFAULT_PUSH_ENDPOINT_HOSTS = [
  "fcm.googleapis.com",
  "android.googleapis.com",
  "updates.push.services.mozilla.com",
  "*.push.services.mozilla.com",
  "*.notify.windows.com",
  "web.push.apple.com",
  "*.push.apple.com",
];

/** https on a known push service's host; a development machine may also use a local push service on loopback. */
export function endpointAllowed(endpoint: string, environment: string | undefined, hosts: string | undefined = undefined): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol === "https:") {
    if (url.port !== "" || url.username !== "" || url.password !== "") return false;
    const allowed = hosts?.trim() ? hosts.split(",").map((h) => h.trim().toLowerCase()).filter(Boolean) : DEFAULT_PUSH_ENDPOINT_HOSTS;
    const host = url.hostname.toLowerCase();
    return allowed.some((pattern) => (pattern.startsWith("*.") ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern));
  }
  const local = environment === "development" || environment === "test";
  return local && url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}
