import { env } from "cloudflare:workers";

/** How a plan fails writes: each rolls [0, 1) from a PRNG seeded by `seed`; below `refuse` refused, below `refuse + tear` torn. */
export type FaultPlan = { seed?: number; refuse?: number; tear?: number };
/** What the plans for a prefix did: every write attempted (keys in order) and how each ended. */
export type FaultStats = { refused: number; torn: number; stored: number; writes: string[] };

/** The control of the tests' flaky R2 (test/helpers/archiveFaults.worker.js); its calls are RPC. */
interface ArchiveFaults {
  fail(prefix: string, plan: FaultPlan): Promise<void>;
  heal(prefix: string): Promise<FaultStats>;
  stats(prefix: string): Promise<FaultStats>;
}

/** Bindings only the test projects have (vitest.config.ts), beside the Worker's own. */
const testEnv = env as unknown as { ARCHIVE_FAULTS: ArchiveFaults; ARCHIVE_BUCKET: R2Bucket };

/** Fails the objects' archive writes under a key prefix (a conversation's: `conversations/<id>/`) on demand. */
export const archiveFaults = testEnv.ARCHIVE_FAULTS;
/** The archive's R2 bucket itself, past the fault injector: what R2 really holds. */
export const archiveBucket = testEnv.ARCHIVE_BUCKET;
/** Where a conversation's segments live, the prefix to plan its faults under. */
export const archivePrefix = (conversationId: string) => `conversations/${conversationId}/`;
