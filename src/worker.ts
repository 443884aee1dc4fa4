import { Hono } from "hono";
import type { Env } from "./env";
import { requireAuth, type AppEnv } from "./middleware/auth";
import { onError, onNotFound } from "./middleware/errors";
import { authRoutes } from "./routes/auth";
import { conversationRoutes } from "./routes/conversations";
import { socketRoutes } from "./routes/sockets";
import { userRoutes } from "./routes/users";

export { ConversationObject } from "./objects/conversation/ConversationObject";
export { DirectoryObject } from "./objects/directory/DirectoryObject";
export { UserObject } from "./objects/user/UserObject";

const api = new Hono<AppEnv>()
  .route("/auth", authRoutes)
  .use("*", requireAuth)
  .route("/users", userRoutes)
  .route("/conversations", conversationRoutes)
  .route("/", socketRoutes);

export const app = new Hono<AppEnv>().route("/api/v1", api);
app.onError(onError);
app.notFound(onNotFound);

export type ParleyApi = typeof api;

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
