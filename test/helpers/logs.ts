import { vi } from "vitest";

export interface LogLine {
  level: string;
  msg: string;
  error?: { name: string; message: string; stack?: string };
  [field: string]: unknown;
}

/**
 * The lines src/lib/log.ts writes while `run` runs in this isolate (the test calls the Worker's app
 * directly), parsed, and kept out of the test output.
 */
export async function captureLogs<T>(run: () => Promise<T>): Promise<{ result: T; lines: LogLine[] }> {
  const written: unknown[][] = [];
  const spies = (["log", "warn", "error"] as const).map((method) => vi.spyOn(console, method).mockImplementation((...args) => void written.push(args)));
  try {
    const result = await run();
    return { result, lines: written.flatMap(([first]) => (typeof first === "string" && first.startsWith("{") ? [JSON.parse(first) as LogLine] : [])) };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
