import type { Env } from "../env";
import { ErrorCode, Limits, type ProtocolError } from "../protocol";

export interface Rate {
  burst: number;
  perSecond: number;
}

/** A rate from the limits, unless the deployment overrides it (the benchmarks and tests raise them). */
function rateOf(burstVar: string | undefined, perSecondVar: string | undefined, defaults: Rate): Rate {
  const burst = Number(burstVar);
  const perSecond = Number(perSecondVar);
  return {
    burst: Number.isFinite(burst) && burst > 0 ? burst : defaults.burst,
    perSecond: Number.isFinite(perSecond) && perSecond > 0 ? perSecond : defaults.perSecond,
  };
}

/** The per-user send rate (SEND_BURST / SEND_PER_SECOND). */
export const sendRate = (env: Env): Rate =>
  rateOf(env.SEND_BURST, env.SEND_PER_SECOND, { burst: Limits.sendBurst, perSecond: Limits.sendPerSecond });

/** The per-adder rate of group creations and member adds (GROUP_CHANGE_BURST / GROUP_CHANGES_PER_SECOND). */
export const groupChangeRate = (env: Env): Rate =>
  rateOf(env.GROUP_CHANGE_BURST, env.GROUP_CHANGES_PER_SECOND, { burst: Limits.groupChangeBurst, perSecond: 1 / Limits.groupChangeEverySeconds });

/** The per-user rate of media upload grants (UPLOAD_BURST / UPLOADS_PER_SECOND). */
export const uploadRate = (env: Env): Rate =>
  rateOf(env.UPLOAD_BURST, env.UPLOADS_PER_SECOND, { burst: Limits.uploadBurst, perSecond: Limits.uploadsPerSecond });

/** The per-user budget of catch-up bytes (CATCH_UP_BURST_BYTES / CATCH_UP_BYTES_PER_SECOND). */
export const catchUpRate = (env: Env): Rate =>
  rateOf(env.CATCH_UP_BURST_BYTES, env.CATCH_UP_BYTES_PER_SECOND, { burst: Limits.catchUpBurstBytes, perSecond: Limits.catchUpBytesPerSecond });

/** The per-user rate of history and sync requests (HISTORY_BURST / HISTORY_PER_SECOND). */
export const historyRate = (env: Env): Rate =>
  rateOf(env.HISTORY_BURST, env.HISTORY_PER_SECOND, { burst: Limits.historyBurst, perSecond: Limits.historyPerSecond });

/** The refusal of a send over the rate, the same on both sockets and REST: the client resends later with the same id. */
export const sendRateLimited: ProtocolError = {
  code: ErrorCode.rateLimited,
  message: `slow down: at most ${Limits.sendPerSecond} messages a second (bursts of ${Limits.sendBurst}); resend later`,
};

/** The refusal of a history page or sync over the rate, the same on both sockets and REST. */
export const historyRateLimited: ProtocolError = {
  code: ErrorCode.rateLimited,
  message: `slow down: at most ${Limits.historyPerSecond} history or sync requests a second (bursts of ${Limits.historyBurst})`,
};
