import type { ConversationObject } from "./objects/conversation/ConversationObject";
import type { DirectoryObject } from "./objects/directory/DirectoryObject";
import type { UserObject } from "./objects/user/UserObject";

export interface Env {
  USERS: DurableObjectNamespace<UserObject>;
  CONVERSATIONS: DurableObjectNamespace<ConversationObject>;
  DIRECTORY: DurableObjectNamespace<DirectoryObject>;
  /** HMAC key for session tokens: `wrangler secret put JWT_SECRET` in production. */
  JWT_SECRET?: string;
  /** "production" unless `.dev.vars` (written by `npm start`) or the test config says otherwise. */
  ENVIRONMENT?: string;
}

export function userStub(env: Env, userId: string) {
  return env.USERS.get(env.USERS.idFromName(userId));
}
export function conversationStub(env: Env, conversationId: string) {
  return env.CONVERSATIONS.get(env.CONVERSATIONS.idFromName(conversationId));
}
export function directoryStub(env: Env, username: string) {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName(username));
}
