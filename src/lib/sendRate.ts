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

/** The per-adder rate of group creations and member adds, unless GROUP_CHANGE_BURST / GROUP_CHANGES_PER_SECOND are set (tests raise them). */
export function groupChangeRate(env: Env): { burst: number; perSecond: number } {
  const burst = Number(env.GROUP_CHANGE_BURST);
  const perSecond = Number(env.GROUP_CHANGES_PER_SECOND);
  return {
    burst: Number.isFinite(burst) && burst > 0 ? burst : Limits.groupChangeBurst,
    perSecond: Number.isFinite(perSecond) && perSecond > 0 ? perSecond : 1 / Limits.groupChangeEverySeconds,
  };
}

/** The per-user rate of history and sync requests, unless HISTORY_BURST / HISTORY_PER_SECOND are set (tests raise them). */
export function historyRate(env: Env): { burst: number; perSecond: number } {
  const burst = Number(env.HISTORY_BURST);
  const perSecond = Number(env.HISTORY_PER_SECOND);
  return {
    burst: Number.isFinite(burst) && burst > 0 ? burst : Limits.historyBurst,
    perSecond: Number.isFinite(perSecond) && perSecond > 0 ? perSecond : Limits.historyPerSecond,
  };
}
