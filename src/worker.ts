import { WorkerEntrypoint } from "cloudflare:workers";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { log, setLogLevel } from "./lib/log";
import { requestLog } from "./middleware/requestLog";
import { ErrorCode, FRAME_SCHEMA_PATH, frameJsonSchema, Limits, PROTOCOL_VERSION, type HealthResponse } from "./protocol";
import type { Env } from "./env";
import { requireAuth, type AppEnv } from "./middleware/auth";
import { ApiError, onError, onNotFound } from "./middleware/errors";
import { adminRoutes } from "./routes/admin";
import { authRoutes, sessionRoutes } from "./routes/auth";
import { consumeMediaJobs } from "./queues/media";
import { consumeDeadPushes, consumePushJobs } from "./queues/push";
import { conversationRoutes } from "./routes/conversations";
import { invitationRoutes, inviteLinkRoutes } from "./routes/invitations";
import { messageMarkRoutes, myMarkRoutes } from "./routes/marks";
import { mediaRoutes, mediaUploadRoutes } from "./routes/media";
import { pushRoutes } from "./routes/push";
import { documentRoutes, referenceRoutes } from "./routes/reference";
import { conversationSearchRoutes, searchRoutes } from "./routes/search";
import { socketRoutes } from "./routes/sockets";
import { userRoutes } from "./routes/users";

export { ConversationObject } from "./objects/conversation/ConversationObject";
export { DirectoryObject } from "./objects/directory/DirectoryObject";
export { UserObject } from "./objects/user/UserObject";

/** A JSON body over the limit is refused from its Content-Length (or as it streams), never parsed. */
const jsonBodyLimit = bodyLimit({
  maxSize: Limits.maxRequestBodyBytes,
  onError: () => {
    throw new ApiError(ErrorCode.contentTooLarge, `a request body may be at most ${Limits.maxRequestBodyBytes} bytes`);
  },
});

const api = new Hono<AppEnv>()
  // Media bytes go to their signed upload URL (its own per-kind limits); every other body is small JSON.
  .use("*", (c, next) => (c.req.method === "PUT" && /^\/api\/v1\/media\/[^/]+\/upload$/.test(c.req.path) ? next() : jsonBodyLimit(c, next)))
  // A token in a URL ends up in logs, history and Referer headers: accepted only where nothing else
  // can carry it (a socket upgrade from a browser), refused everywhere else rather than ignored.
  .use("*", async (c, next) => {
    if (c.req.query("token") !== undefined && c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(ErrorCode.badRequest, "a token in the URL is accepted only on a socket upgrade; send it in the Authorization header");
    }
    await next();
  })
  // Operators' routes: their own secret, and open during a maintenance window; so is the API's description.
  .route("/admin", adminRoutes)
  .route("/", documentRoutes)
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
  .route("/users", myMarkRoutes)
  .route("/conversations", conversationRoutes)
  .route("/conversations", messageMarkRoutes)
  .route("/conversations", conversationSearchRoutes)
  .route("/search", searchRoutes)
  .route("/invitations", invitationRoutes)
  .route("/invite-links", inviteLinkRoutes)
  .route("/media", mediaRoutes)
  .route("/push", pushRoutes)
  .route("/", socketRoutes);

/** Built once per isolate: the schemas do not change while it runs. */
const frameSchema = frameJsonSchema();

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
  .get("/healthz", (c) => c.json({ status: "ok", protocol: PROTOCOL_VERSION, time: Date.now() } satisfies HealthResponse))
  // The socket protocol as JSON Schema (docs/protocol.md): public, like the protocol it describes.
  .get(FRAME_SCHEMA_PATH, (c) => c.json(frameSchema))
  .route("/api", referenceRoutes)
  .route("/api/v1", api);
app.onError(onError);
app.notFound(onNotFound);

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
    setLogLevel(env.LOG_LEVEL);
    if (batch.queue.startsWith("parley-media-jobs")) return consumeMediaJobs(batch, env);
    if (batch.queue.startsWith("parley-push-dlq")) return consumeDeadPushes(batch, env);
    if (batch.queue.startsWith("parley-push")) return consumePushJobs(batch, env);
    log.error("message from an unknown queue", { queue: batch.queue });
    batch.retryAll();
  },
} satisfies ExportedHandler<Env>;
