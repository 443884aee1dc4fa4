import type { ProtocolError } from "../protocol";

/** What object RPC methods return when a request can be refused: errors cross RPC as values. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ProtocolError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const refuse = (code: ProtocolError["code"], message: string): { ok: false; error: ProtocolError } => ({
  ok: false,
  error: { code, message },
});
