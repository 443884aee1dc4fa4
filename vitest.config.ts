import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/** Test-only values; production takes secrets from `wrangler secret put` (docs/deploy.md). */
const bindings = {
  ENVIRONMENT: "test",
  // Warnings and errors only: what a test provokes on purpose is logged, but info lines would bury the output.
  LOG_LEVEL: "warn",
  JWT_SECRET: "test-secret-test-secret-test-secret-0123456789",
  ADMIN_SECRET: "test-admin-secret-0123456789",
  // A small hot window, so every test exercises history across the R2 archive.
  HISTORY_HOT_WINDOW: "100",
  // Small presence chunks, so a broadcast to more than two watchers goes on from the alarm.
  PRESENCE_BROADCAST_CHUNK: "2",
  // A test-only VAPID key pair (npm start generates its own into .dev.vars).
  VAPID_PUBLIC_KEY: "BJnjUkHq1VAP4cNMqWsrDd0Kf-VreEmmRe-3bJPJ_sumQdYEssVSymEede3NschsphSbJ1iE60PWr7wp7QzdV_Q",
  VAPID_PRIVATE_KEY: "KuI3cvrV08GH1tALfUJs8kCRJbFVRSRtzO7X2rdNH7Q",
  VAPID_SUBJECT: "mailto:tests@parley.invalid",
  // Retry failed pushes at once, so the dead-letter path runs in seconds, not minutes.
  PUSH_RETRY_DELAY_SECONDS: "0",
};

/**
 * A second shard of each sharded queue (src/queues/shards.ts), as a deployment adds them: producers
 * spread jobs over both and both are consumed.
 */
const queueShards = {
  queueProducers: { PUSH_JOBS_1: { queueName: "parley-push-1" }, MEDIA_JOBS_1: { queueName: "parley-media-jobs-1" } },
  queueConsumers: {
    "parley-push-1": { maxBatchSize: 50, maxBatchTimeout: 1, maxRetries: 3, deadLetterQueue: "parley-push-dlq" },
    "parley-media-jobs-1": { maxBatchSize: 10, maxBatchTimeout: 1, maxRetries: 5, deadLetterQueue: "parley-media-dlq" },
  },
};

/** Tests stream thousands of messages, groups and history pages from one user: the `limits` project checks the real limits. */
const raisedSendRate = { SEND_BURST: "100000", SEND_PER_SECOND: "100000", GROUP_CHANGE_BURST: "100000", GROUP_CHANGES_PER_SECOND: "100000", HISTORY_BURST: "100000", HISTORY_PER_SECOND: "100000", UPLOAD_BURST: "100000", UPLOADS_PER_SECOND: "100000" };

const layoutTests = [
  "messaging",
  "frame-contract",
  "groups",
  "presence",
  "cursor-writes",
  "push",
  "typing",
  "consent",
  "block",
  "lookups",
  "message-actions",
  "marks",
  "group-settings",
  "disappearing",
  "conversation-settings",
  "search",
  "profiles",
  "member-history",
  "voice",
].map(
  (name) => `test/integration/${name}.test.ts`,
);

/**
 * The objects' ARCHIVE is the real bucket behind a worker that fails writes when a test asks it to
 * (test/helpers/archiveFaults.worker.js, planned through ARCHIVE_FAULTS); ARCHIVE_BUCKET is the
 * bucket itself, for tests to look at what R2 holds.
 */
const archiveFaults = {
  serviceBindings: {
    ARCHIVE: { name: "archive-faults", entrypoint: "FlakyArchive" },
    ARCHIVE_FAULTS: { name: "archive-faults", entrypoint: "ArchiveFaults" },
  },
  r2Buckets: { ARCHIVE_BUCKET: "parley-archive" },
  workers: [
    {
      name: "archive-faults",
      modules: true,
      scriptPath: "./test/helpers/archiveFaults.worker.js",
      compatibilityDate: "2026-11-01",
      r2Buckets: { BUCKET: "parley-archive" },
    },
  ],
};

/** A project whose tests run inside workerd, with the Worker and its objects. */
function workersProject(name: string, include: string[], extra: Record<string, string>, miniflare: object = {}) {
  return {
    plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: { ...bindings, ...extra }, ...archiveFaults, ...miniflare } })],
    // @aws-sdk's XML parser, as aliased in wrangler.toml (PLATFORM.md).
    resolve: { alias: { "@aws-sdk/xml-builder": "./node_modules/@aws-sdk/xml-builder/dist-cjs/index.js" } },
    test: {
      name,
      include,
      testTimeout: 60_000,
      globalSetup: ["test/helpers/globalS3.ts", "test/helpers/globalPush.ts"],
      setupFiles: ["test/helpers/settleObjects.ts"],
    },
  };
}

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: [
      // The Worker, its objects and the pure protocol/SDK logic. Send rates are raised so tests can
      // stream thousands of messages from one user; the `limits` project checks the real limits.
      workersProject("workers", ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"], { ...raisedSendRate, USER_SHARDS: "4", CONVERSATION_SHARDS: "4" }, queueShards),
      // Production limits, but a catch-up budget small enough to reach with a few big messages.
      workersProject("limits", ["test/limits/**/*.test.ts"], { CATCH_UP_BURST_BYTES: "262144", CATCH_UP_BYTES_PER_SECOND: "262144" }),
      // The tests of what the objects hold (messages, groups, presence, catch-up, push), again with
      // every user and every conversation in one object each, and with one object per user and per
      // conversation (USER_SHARDS and CONVERSATION_SHARDS unset, as on Cloudflare).
      workersProject("one-shard", [...layoutTests, "test/integration/shards.test.ts"], { ...raisedSendRate, USER_SHARDS: "1", CONVERSATION_SHARDS: "1" }),
      workersProject("per-user", layoutTests, { ...raisedSendRate, USER_SHARDS: "", CONVERSATION_SHARDS: "" }),
      {
        // In Node 22 against the real server as `npm start` runs it: the SDK over real sockets, and the web client in Chromium.
        test: {
          name: "node",
          environment: "node",
          include: ["test/sdk/**/*.test.ts", "test/api/**/*.test.ts", "test/browser/**/*.test.ts"],
          globalSetup: ["test/helpers/globalServer.ts"],
          testTimeout: 90_000,
          hookTimeout: 90_000,
          // A real browser on two busy cores: conditions polled for get 15 s, not vitest's default 1 s.
          expect: { poll: { timeout: 15_000 } },
          // Browser tests each drive two Chromium contexts; one file at a time keeps 2 cores responsive.
          fileParallelism: false,
        },
      },
    ],
  },
});
