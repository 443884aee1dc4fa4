/**
 * Runtime entry points (alarms, socket close handlers) must survive a throwing handler: the error
 * is logged with context, never sent to a client, and the object books a retry so nothing it was
 * responsible for is dropped. (RPC methods throw to their caller, who retries; SQLite writes inside
 * a failed transaction roll back.)
 */
export async function guarded(what: string, context: Record<string, unknown>, run: () => Promise<void>, retry?: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    console.error(JSON.stringify({ level: "error", msg: `${what} failed`, ...context, error: String(err), stack: (err as Error)?.stack }));
    if (retry) {
      try {
        await retry();
      } catch (again) {
        console.error(JSON.stringify({ level: "error", msg: `${what}: could not book a retry`, ...context, error: String(again) }));
      }
    }
  }
}
