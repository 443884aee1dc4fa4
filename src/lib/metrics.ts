import type { Env } from "../env";

/**
 * Counters for dashboards and alerts: messages stored, deliveries, pushes, errors. Written to the
 * Workers Analytics Engine dataset bound as METRICS when there is one (deployments); without the
 * binding (local development, tests) counting is a no-op. Never throws: metrics must not fail a request.
 */
export type Counter =
  | "messages_stored"
  | "deliveries"
  | "push_sent"
  | "push_duplicate_skipped"
  | "push_gone"
  | "push_retried"
  | "push_dead_lettered"
  | "errors";

export function count(env: Env, counter: Counter, n = 1, label = ""): void {
  if (!env.METRICS || n <= 0) return;
  try {
    env.METRICS.writeDataPoint({ indexes: [counter], blobs: [counter, label], doubles: [n] });
  } catch {
    /* metrics are best effort */
  }
}
