import { log, type LogFields } from "../lib/log";

/**
 * Runtime entry points (alarms, socket close handlers) must survive a throwing handler: the error
 * is logged with context, never sent to a client, and the object books a retry so nothing it was
 * responsible for is dropped. (RPC methods throw to their caller, who retries; SQLite writes inside
 * a failed transaction roll back.)
 */
export async function guarded(what: string, context: LogFields, run: () => Promise<void>, retry?: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    log.error(`${what} failed`, { ...context, error: err });
    if (retry) {
      try {
        await retry();
      } catch (again) {
        log.error(`${what}: could not book a retry`, { ...context, error: again });
      }
    }
  }
}
