// The Worker's bindings, declared once for the runtime's `env` and for our own code (src/env.ts).
// Keep in step with wrangler.toml.
declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("./worker");
    durableNamespaces: "UserObject" | "ConversationObject" | "DirectoryObject";
  }
  interface Env {
    USERS: DurableObjectNamespace<import("./objects/user/UserObject").UserObject>;
    CONVERSATIONS: DurableObjectNamespace<import("./objects/conversation/ConversationObject").ConversationObject>;
    DIRECTORY: DurableObjectNamespace<import("./objects/directory/DirectoryObject").DirectoryObject>;
    /** HMAC key for session tokens: `wrangler secret put JWT_SECRET` in production. */
    JWT_SECRET?: string;
    /** "production" unless `.dev.vars` (written by `npm start`) or the test config says otherwise. */
    ENVIRONMENT?: string;
  }
}
