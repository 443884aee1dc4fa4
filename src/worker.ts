import { WorkerEntrypoint } from "cloudflare:workers";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { requestLog } from "./middleware/requestLog";
import { ErrorCode, PROTOCOL_VERSION } from "./protocol";
import type { Env } from "./env";
import { requireAuth, type AppEnv } from "./middleware/auth";
import { ApiError, onError, onNotFound } from "./middleware/errors";
import { adminRoutes } from "./routes/admin";
import { authRoutes, sessionRoutes } from "./routes/auth";
import { consumeMediaJobs } from "./queues/media";
import { consumeDeadPushes, consumePushJobs } from "./queues/push";
import { conversationRoutes } from "./routes/conversations";
import { mediaRoutes, mediaUploadRoutes } from "./routes/media";
import { pushRoutes } from "./routes/push";
import { socketRoutes } from "./routes/sockets";
import { userRoutes } from "./routes/users";

export { ConversationObject } from "./objects/conversation/ConversationObject";
export { DirectoryObject } from "./objects/directory/DirectoryObject";
export { UserObject } from "./objects/user/UserObject";

const api = new Hono<AppEnv>()
  // Operators' routes: their own secret, and open during a maintenance window.
  .route("/admin", adminRoutes)
  .use("*", async (c, next) => {
    if (c.env.MAINTENANCE === "1") throw new ApiError(ErrorCode.maintenance, "down for maintenance; retry in a few minutes");
    await next();
  })
  .route("/auth", authRoutes)
  // Signed upload URLs authorize themselves (no session token): before the session check.
  .route("/media", mediaUploadRoutes)
  .use("*", requireAuth)
  .route("/auth", sessionRoutes)
  .route("/users", userRoutes)
  .route("/conversations", conversationRoutes)
  .route("/media", mediaRoutes)
  .route("/push", pushRoutes)
  .route("/", socketRoutes);

export const app = new Hono<AppEnv>()
  .use("*", requestId())
  .use("*", requestLog)
  .use("*", async (c, next) => {
    await next();
    // The usual security headers on API answers (the web client's files get theirs from web/public/_headers).
    // A 101 answer carries the socket and is left alone.
    if (c.res.status === 101) return;
    // A refusal forwarded from an object's fetch (a live socket for a non-member, a bad device_id)
    // has immutable headers: copy it before adding ours, or the refusal becomes a 500.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set("X-Content-Type-Options", "nosniff");
    c.res.headers.set("X-Frame-Options", "DENY");
    c.res.headers.set("Referrer-Policy", "no-referrer");
    if (!c.res.headers.has("Content-Security-Policy")) c.res.headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  })
  .get("/healthz", (c) => c.json({ status: "ok", protocol: PROTOCOL_VERSION, time: Date.now() }))
  .route("/api/v1", api);
app.onError(onError);
app.notFound(onNotFound);

export type ParleyApi = typeof api;

/**
 * Where the local server's socket enters (scripts/server.ts): straight into the Worker. Miniflare's
 * default entry is its asset router, a worker of its own in front of ours that would own every
 * client socket — its memory per socket, and permessage-deflate negotiated whatever our
 * compatibility flags say. Paths outside the API are the web client's files, routed exactly as
 * `run_worker_first` routes them on Cloudflare, where this entrypoint is never used.
 */
export class LocalEntry extends WorkerEntrypoint<Env> {
  override fetch(request: Request): Response | Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/api/") || pathname === "/healthz") return app.fetch(request, this.env, this.ctx);
    return this.env.ASSETS.fetch(request);
  }
}

export default {
  fetch: app.fetch,
  async queue(batch, env) {
    if (batch.queue.startsWith("parley-media-jobs")) return consumeMediaJobs(batch, env);
    if (batch.queue.startsWith("parley-push-dlq")) return consumeDeadPushes(batch, env);
    if (batch.queue.startsWith("parley-push")) return consumePushJobs(batch, env);
    console.error(JSON.stringify({ level: "error", msg: "message from an unknown queue", queue: batch.queue }));
    batch.retryAll();
  },
} satisfies ExportedHandler<Env>;
