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
    /** The web client's files (wrangler.toml [assets]). */
    ASSETS: Fetcher;
    /** Conversation history older than the hot window, in immutable segments (src/objects/conversation/archive.ts). */
    ARCHIVE: R2Bucket;
    /** Messages each conversation keeps in its own storage (default 10000); older ones go to ARCHIVE. */
    HISTORY_HOT_WINDOW?: string;
    /**
     * How many user objects hold the users, and conversation objects the conversations
     * (src/objects/homes.ts): unset for one object each (Cloudflare), a small number on one machine
     * (`npm start`: scripts/dev-setup.ts).
     */
    USER_SHARDS?: string;
    CONVERSATION_SHARDS?: string;
    /**
     * Operator secret for `/api/v1/admin/*` (src/routes/admin.ts); unset, those routes do not exist.
     * `wrangler secret put ADMIN_SECRET` when a deployment needs them (docs/deploy.md).
     */
    ADMIN_SECRET?: string;
    /** "1": every API route but admin answers 503 `maintenance` (docs/deploy.md, changing USER_SHARDS). */
    MAINTENANCE?: string;
    /** User objects a fan-out calls at once (default all). */
    FANOUT_CONCURRENCY?: string;
    /** Presence watchers told of a change per invocation, the rest from the alarm (default 1000; src/objects/user/presence.ts). */
    PRESENCE_BROADCAST_CHUNK?: string;
    /** HMAC key for session tokens: `wrangler secret put JWT_SECRET` in production. */
    JWT_SECRET?: string;
    /** Media bytes (unless S3 is configured), media records, grants and thumbnails. */
    MEDIA: R2Bucket;
    /** Thumbnail jobs (src/queues/media.ts). */
    MEDIA_JOBS: Queue<import("./queues/media").MediaJob>;
    /** Optional: with all four set, uploads and downloads go straight to this S3 bucket via pre-signed URLs. */
    S3_ENDPOINT?: string;
    S3_BUCKET?: string;
    S3_ACCESS_KEY_ID?: string;
    S3_SECRET_ACCESS_KEY?: string;
    S3_REGION?: string;
    /** Optional overrides of the media size limits, in bytes. */
    MEDIA_MAX_IMAGE_BYTES?: string;
    MEDIA_MAX_VIDEO_BYTES?: string;
    MEDIA_MAX_DOCUMENT_BYTES?: string;
    MEDIA_MAX_AUDIO_BYTES?: string;
    /** Push jobs (src/queues/push.ts) and their dead letters. */
    PUSH_JOBS: Queue<import("./queues/push").PushJob>;
    /** VAPID key pair (base64url; the public key is the uncompressed P-256 point). `npm start` generates one. */
    VAPID_PUBLIC_KEY?: string;
    VAPID_PRIVATE_KEY?: string;
    /** The contact push services may use: a mailto: or https: URL. */
    VAPID_SUBJECT?: string;
    /** Hosts push subscriptions may point at (comma-separated, `*.` for subdomains); unset: the browsers' push services. */
    PUSH_ENDPOINT_HOSTS?: string;
    /** First retry delay of a failed push, doubling per attempt (default 2 s). */
    PUSH_RETRY_DELAY_SECONDS?: string;
    /** Override the per-user send rate (token bucket): burst size and refill per second. */
    SEND_BURST?: string;
    SEND_PER_SECOND?: string;
    /** Override the per-adder rate of group creations and member adds. */
    GROUP_CHANGE_BURST?: string;
    GROUP_CHANGES_PER_SECOND?: string;
    /** Override the per-user rate of history and sync requests. */
    HISTORY_BURST?: string;
    HISTORY_PER_SECOND?: string;
    /** Override the per-user rate of media upload grants, and the per-user media quota in bytes. */
    UPLOAD_BURST?: string;
    UPLOADS_PER_SECOND?: string;
    MEDIA_QUOTA_BYTES?: string;
    /** Override the per-user catch-up budget in bytes: burst, and refill per second. */
    CATCH_UP_BURST_BYTES?: string;
    CATCH_UP_BYTES_PER_SECOND?: string;
    /** Extra origins (comma-separated) whose pages may open sockets, besides the server's own. */
    ALLOWED_ORIGINS?: string;
    /** Optional Workers Analytics Engine dataset for counters (src/lib/metrics.ts); absent locally. */
    METRICS?: AnalyticsEngineDataset;
    /** Optional Rate Limiting bindings for login attempts (wrangler.toml [[ratelimits]]). */
    LOGIN_BY_IP?: RateLimit;
    /** Registrations per client IP. */
    REGISTER_BY_IP?: RateLimit;
    /** "production" unless `.dev.vars` (written by `npm start`) or the test config says otherwise. */
    ENVIRONMENT?: string;
    /** The least level logged (debug, info, warn, error; src/lib/log.ts): info unless set. */
    LOG_LEVEL?: string;
  }
}
