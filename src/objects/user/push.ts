import { userStub, type Env } from "../../env";
import { queueFor } from "../../queues/shards";
import { ok, refuse, type Result } from "../../lib/result";
import { ErrorCode, Limits, type PushPayload, type PushSubscriptionBody } from "../../protocol";
import type { PushJob } from "../../queues/push";
import type { DeliveredMessage } from "../delivery";
import type { InboxStore } from "./inbox";
import type { DeviceSessions } from "./sessions";

type WindowRow = {
  conversation_id: string;
  last_sent_at: number;
  pending: number;
  pending_sender: string | null;
  pending_preview: string | null;
  /** The highest seq already counted: a message delivered again is not counted again. */
  counted_seq: number;
};

type SubscriptionRow = {
  device_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
};

/**
 * Web Push for a user with no device connected. Pushes are coalesced per conversation: the first
 * message of a quiet spell is pushed at once; what arrives in the next 30 s waits and goes as one
 * push ("3 new messages") when the window ends; a per-user cap per minute bounds a busy day. Nothing
 * is pushed while any device is connected. The object only decides and enqueues; the queue consumer
 * (src/queues/push.ts) encrypts and delivers, so no message waits for a push service.
 */
export class PushNotifier {
  private readonly names = new Map<string, string>();

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly env: Env,
    private readonly inbox: InboxStore,
    private readonly sessions: DeviceSessions,
    private readonly userId: () => string,
    private readonly scheduleAlarm: (at: number) => void,
    private readonly waitUntil: (p: Promise<unknown>) => void,
  ) {}

  private get sql() {
    return this.storage.sql;
  }

  subscribe(body: PushSubscriptionBody, now: number): Result<void> {
    const p256dh = base64urlBytes(body.keys.p256dh);
    if (p256dh?.length !== 65 || p256dh[0] !== 0x04) {
      return refuse(ErrorCode.badRequest, "keys.p256dh must be an uncompressed P-256 public key");
    }
    if (!endpointAllowed(body.endpoint, this.env.ENVIRONMENT)) {
      return refuse(ErrorCode.badRequest, "endpoint must be an https URL of a push service");
    }
    const existing = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_subscriptions WHERE device_id != ?", body.device_id).one().n;
    if (existing >= Limits.pushSubscriptionsPerUser) {
      return refuse(ErrorCode.rateLimited, `at most ${Limits.pushSubscriptionsPerUser} devices can receive notifications`);
    }
    this.sql.exec(
      `INSERT INTO push_subscriptions (device_id, endpoint, p256dh, auth, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device_id) DO UPDATE SET endpoint = excluded.endpoint, p256dh = excluded.p256dh, auth = excluded.auth, created_at = excluded.created_at`,
      body.device_id,
      body.endpoint,
      body.keys.p256dh,
      body.keys.auth,
      now,
    );
    return ok(undefined);
  }

  unsubscribe(deviceId: string): boolean {
    return this.sql.exec("DELETE FROM push_subscriptions WHERE device_id = ?", deviceId).rowsWritten > 0;
  }

  /** The push service said the subscription is gone (404/410); a newer one for the device stays. */
  forgetEndpoint(deviceId: string, endpoint: string): void {
    this.sql.exec("DELETE FROM push_subscriptions WHERE device_id = ? AND endpoint = ?", deviceId, endpoint);
  }

  subscriptionCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM push_subscriptions").one().n;
  }

  previewsAllowed(): boolean {
    return this.sql.exec<{ p: number }>("SELECT push_previews AS p FROM profile WHERE id = 1").toArray()[0]?.p !== 0;
  }

  setPreviews(allowed: boolean): void {
    this.sql.exec("UPDATE profile SET push_previews = ? WHERE id = 1", allowed ? 1 : 0);
  }

  /** Messages reached this user while no device was connected. */
  noteUndelivered(conversationId: string, messages: DeliveredMessage[], now: number): void {
    if (messages.length === 0 || this.subscriptionCount() === 0) return;
    const row = this.window(conversationId);
    // Only seqs past what this window already counted: a delivery may repeat messages that an
    // evicted object had counted but not yet written to its inbox.
    const fromOthers = messages.filter((m) => m.seq > (row?.counted_seq ?? 0) && m.sender_id !== this.userId() && m.system === undefined);
    if (fromOthers.length === 0) return;
    const last = fromOthers[fromOthers.length - 1]!;
    const pending = (row?.pending ?? 0) + fromOthers.length;
    const windowEnds = (row?.last_sent_at ?? 0) + Limits.pushCoalesceMs;
    if (now >= windowEnds && this.takeRateSlot(now)) {
      this.sql.exec(
        `INSERT INTO push_windows (conversation_id, last_sent_at, pending, counted_seq) VALUES (?, ?, 0, ?)
         ON CONFLICT (conversation_id) DO UPDATE SET last_sent_at = excluded.last_sent_at, pending = 0, pending_sender = NULL, pending_preview = NULL,
           counted_seq = excluded.counted_seq`,
        conversationId,
        now,
        last.seq,
      );
      this.waitUntil(this.enqueue(conversationId, pending, last.sender_id, preview(last)));
      return;
    }
    this.sql.exec(
      `INSERT INTO push_windows (conversation_id, last_sent_at, pending, pending_sender, pending_preview, counted_seq) VALUES (?, 0, ?, ?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET pending = excluded.pending, pending_sender = excluded.pending_sender, pending_preview = excluded.pending_preview,
         counted_seq = excluded.counted_seq`,
      conversationId,
      pending,
      last.sender_id,
      preview(last),
      last.seq,
    );
    this.scheduleAlarm(Math.max(windowEnds, this.nextRateSlot(now)));
  }

  /** A device connected: what was waiting is being read now, not pushed. */
  deviceConnected(): void {
    this.sql.exec("UPDATE push_windows SET pending = 0, pending_sender = NULL, pending_preview = NULL WHERE pending > 0");
  }

  /** Sends the coalesced pushes whose window has ended; returns when to look again, if ever. */
  flushDue(now: number): number | null {
    const waiting = this.sql.exec<WindowRow>("SELECT * FROM push_windows WHERE pending > 0").toArray();
    if (this.sessions.all().length > 0) {
      this.deviceConnected();
      return null;
    }
    let next: number | null = null;
    for (const row of waiting) {
      const due = row.last_sent_at + Limits.pushCoalesceMs;
      if (now < due || !this.takeRateSlot(now)) {
        const at = Math.max(due, this.nextRateSlot(now));
        next = next === null ? at : Math.min(next, at);
        continue;
      }
      this.sql.exec(
        "UPDATE push_windows SET last_sent_at = ?, pending = 0, pending_sender = NULL, pending_preview = NULL WHERE conversation_id = ?",
        now,
        row.conversation_id,
      );
      this.waitUntil(this.enqueue(row.conversation_id, row.pending, row.pending_sender, row.pending_preview));
    }
    return next;
  }

  /** A push that exhausted its retries: kept (the latest 100) and counted. */
  noteDeadLetter(job: unknown, now: number): void {
    this.sql.exec("INSERT INTO push_dead_letters (at, job) VALUES (?, ?)", now, JSON.stringify(job));
    this.sql.exec("DELETE FROM push_dead_letters WHERE id <= (SELECT MAX(id) FROM push_dead_letters) - 100");
    this.sql.exec("UPDATE push_stats SET dead_letters = dead_letters + 1 WHERE id = 1");
  }

  deadLetters(): number {
    return this.sql.exec<{ n: number }>("SELECT dead_letters AS n FROM push_stats WHERE id = 1").one().n;
  }

  private window(conversationId: string): WindowRow | undefined {
    return this.sql.exec<WindowRow>("SELECT * FROM push_windows WHERE conversation_id = ?", conversationId).toArray()[0];
  }

  private takeRateSlot(now: number): boolean {
    const stats = this.sql.exec<{ minute_start: number; sent_this_minute: number }>("SELECT minute_start, sent_this_minute FROM push_stats WHERE id = 1").one();
    if (now - stats.minute_start >= 60_000) {
      this.sql.exec("UPDATE push_stats SET minute_start = ?, sent_this_minute = 1 WHERE id = 1", now);
      return true;
    }
    if (stats.sent_this_minute >= Limits.pushPerMinute) return false;
    this.sql.exec("UPDATE push_stats SET sent_this_minute = sent_this_minute + 1 WHERE id = 1");
    return true;
  }

  private nextRateSlot(now: number): number {
    const stats = this.sql.exec<{ minute_start: number; sent_this_minute: number }>("SELECT minute_start, sent_this_minute FROM push_stats WHERE id = 1").one();
    return stats.sent_this_minute >= Limits.pushPerMinute ? stats.minute_start + 60_000 : now;
  }

  /** One queue message per subscribed device, so a failing endpoint retries alone. */
  private async enqueue(conversationId: string, count: number, senderId: string | null, latest: string | null): Promise<void> {
    const subscriptions = this.sql.exec<SubscriptionRow>("SELECT device_id, endpoint, p256dh, auth FROM push_subscriptions").toArray();
    const context = this.inbox.notificationContext(conversationId);
    if (subscriptions.length === 0 || !context) return;
    const sender = senderId ? await this.nameOf(senderId) : null;
    const title = context.type === "group" ? (context.name ?? "Group") : (sender ?? "New message");
    const previews = this.previewsAllowed();
    let body: string;
    if (count > 1) body = `${count} new messages`;
    else if (previews && latest) body = context.type === "group" && sender ? `${sender}: ${latest}` : latest;
    else body = "New message";
    const payload: PushPayload = { conversation_id: conversationId, title, body, unread_count: context.unread_count };
    const topic = await pushTopic(conversationId);
    const jobs = subscriptions.map(
      (s): PushJob => ({
        user_id: this.userId(),
        device_id: s.device_id,
        subscription: { endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } },
        payload,
        topic,
        urgency: context.type === "direct" ? "high" : "normal",
      }),
    );
    try {
      await queueFor(this.env, "PUSH_JOBS", this.userId()).sendBatch(jobs.map((body) => ({ body })));
    } catch (err) {
      console.error(JSON.stringify({ level: "error", msg: "push enqueue failed", user: this.userId(), error: String(err) }));
    }
  }

  private async nameOf(userId: string): Promise<string | null> {
    const known = this.names.get(userId);
    if (known) return known;
    const profile = await userStub(this.env, userId).profile().catch(() => null);
    if (profile) this.names.set(userId, profile.display_name);
    return profile?.display_name ?? null;
  }
}

/** The text a push may show for a message (only if the user allows previews). */
function preview(m: DeliveredMessage): string | null {
  try {
    const frame = JSON.parse(m.frame) as { content: string; content_type: string; media?: { filename?: string | null } };
    if (frame.content_type === "image") return frame.content ? `📷 ${frame.content}` : "📷 Photo";
    if (frame.content_type === "video") return frame.content ? `🎥 ${frame.content}` : "🎥 Video";
    if (frame.content_type === "document") return `📄 ${frame.media?.filename ?? "Document"}`;
    return frame.content.length > 120 ? `${frame.content.slice(0, 117)}…` : frame.content;
  } catch {
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

/** https only in production; a development machine may use a local push service on loopback. */
export function endpointAllowed(endpoint: string, environment: string | undefined): boolean {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  const local = environment === "development" || environment === "test";
  return local && url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}
