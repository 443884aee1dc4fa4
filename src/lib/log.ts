/**
 * The one logger: a JSON line per event (level, message, the ids it concerns, and an error with its
 * stack), which Workers Logs and `wrangler tail` index by field. Nothing else writes to the console.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Ids and figures an event concerns: request_id, user_id, conversation_id, device_id, counts. */
export type LogFields = Record<string, unknown> & { error?: unknown };

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Below this level nothing is written; tests set `LOG_LEVEL=warn` through the environment. */
let threshold: LogLevel = "info";

export function setLogLevel(level: string | undefined) {
  if (level && level in order) threshold = level as LogLevel;
}

/** An error as fields a log search can read: its name, message and stack (a non-Error as text). */
export function describeError(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
  return { name: "NonError", message: String(err) };
}

function write(level: LogLevel, msg: string, fields: LogFields | undefined) {
  if (order[level] < order[threshold]) return;
  const { error, ...rest } = fields ?? {};
  const line = JSON.stringify({ level, msg, ...rest, ...(error !== undefined ? { error: describeError(error) } : {}) });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `bindings` (e.g. the request id) to every line. */
  with(bindings: LogFields): Logger;
}

function make(bindings: LogFields): Logger {
  const at = (level: LogLevel) => (msg: string, fields?: LogFields) => write(level, msg, { ...bindings, ...fields });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), with: (more) => make({ ...bindings, ...more }) };
}

export const log: Logger = make({});
