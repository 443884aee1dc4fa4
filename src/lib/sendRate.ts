import type { Env } from "../env";
import { Limits } from "../protocol";

/**
 * The per-user send rate: Limits.sendBurst / Limits.sendPerSecond, unless the deployment sets
 * SEND_BURST / SEND_PER_SECOND (the benchmarks raise them to measure raw capacity).
 */
export function sendRate(env: Env): { burst: number; perSecond: number } {
  const burst = Number(env.SEND_BURST);
  const perSecond = Number(env.SEND_PER_SECOND);
  return {
    burst: Number.isFinite(burst) && burst > 0 ? burst : Limits.sendBurst,
    perSecond: Number.isFinite(perSecond) && perSecond > 0 ? perSecond : Limits.sendPerSecond,
  };
}
