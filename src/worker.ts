import { Hono } from "hono";
import type { Env } from "./env";
import { requireAuth, type AppEnv } from "./middleware/auth";
import { onError, onNotFound } from "./middleware/errors";
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

export const app = new Hono<AppEnv>().route("/api/v1", api);
app.onError(onError);
app.notFound(onNotFound);

export type ParleyApi = typeof api;

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
