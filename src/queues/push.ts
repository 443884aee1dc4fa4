import { endpointAllowed } from "../objects/user/push";
import webpush from "web-push";
import { z } from "zod";
import type { Env } from "../env";
import { log } from "../lib/log";
import { userHome } from "../objects/homes";
import { count } from "../lib/metrics";
import { settleInWindow } from "../lib/settle";
import { Limits, PushPayload } from "../protocol";

/** One push to one device: what the user object enqueues (src/objects/user/push.ts). */
export const PushJob = z.object({
  user_id: z.string(),
  device_id: z.string(),
  subscription: z.object({ endpoint: z.string().url(), keys: z.object({ p256dh: z.string(), auth: z.string() }) }),
  payload: PushPayload,
  /** The decided push this job is one device's share of: sent once per device whatever the queue repeats. Absent in older jobs. */
  push_id: z.string().max(64).optional(),
  topic: z.string().max(32),
  urgency: z.enum(["very-low", "low", "normal", "high"]),
});
export type PushJob = z.infer<typeof PushJob>;

function vapid(env: Env) {
  if (!env.VAPID_PUBLIC_KEY || !env.VAPID_PRIVATE_KEY) throw new Error("VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY are not set");
  return { subject: env.VAPID_SUBJECT || "mailto:push@parley.invalid", publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY };
}

/**
 * Pushes in flight at once per batch. A Worker invocation keeps at most six outgoing connections
 * open (more wait for one to free), so six is all the overlap there is to have; a push service
 * answers in tens to hundreds of milliseconds, and one at a time a batch of 50 took seconds.
 */
const PUSH_CONCURRENCY = 6;

/**
 * Delivers pushes: encrypts the payload for the browser (RFC 8291, aes128gcm) and signs the request
 * for the push service (VAPID, RFC 8292) with web-push, then POSTs it. 201/2xx: done. 404/410: the
 * subscription is gone, so the user object forgets it. 429 and 5xx: retried with backoff by the
 * queue, then dead-lettered. Other 4xx would fail forever: logged and dropped. Each message is
 * acknowledged or retried on its own, so one slow or failing endpoint holds up no other.
 */
export async function consumePushJobs(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await settleInWindow([...batch.messages], PUSH_CONCURRENCY, (message) =>
    deliverPush(message, env).catch((error: unknown) => {
      // A call to the user's object failed before the push was decided: without a retry the queue would count it delivered.
      log.error("push job failed", { message_id: message.id, attempt: message.attempts, error });
      message.retry({ delaySeconds: retryDelay(env, message.attempts) });
    }),
  );
}

async function deliverPush(message: Message<unknown>, env: Env): Promise<void> {
  const parsed = PushJob.safeParse(message.body);
  if (!parsed.success) {
    log.warn("dropping malformed push job", { message_id: message.id });
    message.ack();
    return;
  }
  const job = parsed.data;
  // Checked again here: a subscription stored before the allow-list (or the list changed since) is
  // never fetched, and is forgotten like one the push service says is gone.
  if (!endpointAllowed(job.subscription.endpoint, env.ENVIRONMENT, env.PUSH_ENDPOINT_HOSTS)) {
    log.warn("push endpoint not allowed; subscription forgotten", { user_id: job.user_id, device_id: job.device_id });
    await userHome(env, job.user_id).forgetPushEndpoint(job.user_id, job.device_id, job.subscription.endpoint);
    message.ack();
    return;
  }
  // The queue may hold one decided push twice (src/objects/user/push.ts, outbox): send it once.
  const home = job.push_id ? userHome(env, job.user_id) : null;
  if (home && (await home.pushAlreadySent(job.user_id, job.push_id!, job.device_id))) {
    count(env, "push_duplicate_skipped");
    message.ack();
    return;
  }
  try {
    const request = webpush.generateRequestDetails(job.subscription, JSON.stringify(job.payload), {
      vapidDetails: vapid(env),
      TTL: Limits.pushTtlSeconds,
      urgency: job.urgency,
      topic: job.topic,
      contentEncoding: "aes128gcm",
    });
    const res = await fetch(request.endpoint, { method: request.method, headers: request.headers as Record<string, string>, body: request.body as Uint8Array | null });
    await res.body?.cancel();
    if (res.ok) {
      count(env, "push_sent");
      if (home) await home.notePushSent(job.user_id, job.push_id!, job.device_id);
      message.ack();
    } else if (res.status === 404 || res.status === 410) {
      await userHome(env, job.user_id).forgetPushEndpoint(job.user_id, job.device_id, job.subscription.endpoint);
      count(env, "push_gone");
      message.ack();
    } else if (res.status === 429 || res.status >= 500) {
      count(env, "push_retried");
      const retryAfter = Number(res.headers.get("Retry-After"));
      message.retry({ delaySeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 600) : retryDelay(env, message.attempts) });
    } else {
      log.warn("push refused", { status: res.status, user_id: job.user_id, device_id: job.device_id });
      message.ack();
    }
  } catch (err) {
    log.error("push failed", { user_id: job.user_id, device_id: job.device_id, attempt: message.attempts, error: err });
    message.retry({ delaySeconds: retryDelay(env, message.attempts) });
  }
}

/** Exponential backoff between attempts: base·2^(attempt-1) seconds, at most 5 minutes. */
function retryDelay(env: Env, attempts: number): number {
  const configured = Number(env.PUSH_RETRY_DELAY_SECONDS);
  const base = Number.isFinite(configured) && configured >= 0 ? configured : 2;
  return Math.min(300, base * 2 ** Math.max(0, attempts - 1));
}

/** Pushes that exhausted their retries: each is kept and counted by its user's object. */
export async function consumeDeadPushes(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const parsed = PushJob.safeParse(message.body);
    if (parsed.success) await userHome(env, parsed.data.user_id).noteDeadPush(parsed.data.user_id, parsed.data);
    count(env, "push_dead_lettered");
    log.error("push dead-lettered", { message_id: message.id, user_id: parsed.success ? parsed.data.user_id : null, device_id: parsed.success ? parsed.data.device_id : null });
    message.ack();
  }
}
