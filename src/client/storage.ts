/**
 * Small values kept across restarts (recent emojis, marks not yet sent, the marks version seen):
 * `localStorage` in browsers, memory elsewhere. The interface is the part of `Storage` used, so
 * `localStorage` is one.
 */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/** In memory: survives a restart of the SDK if the same instance is handed to the new client. */
export class MemoryStorage implements KeyValueStorage {
  private readonly values = new Map<string, string>();

  getItem(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.values.set(key, value);
  }
}

/** `localStorage` where there is one (and it works: Safari's private mode throws), else memory. */
export function defaultStorage(): KeyValueStorage {
  try {
    const local = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
    if (local) {
      local.getItem("parley:probe");
      return local;
    }
  } catch {
    /* unavailable: memory below */
  }
  return new MemoryStorage();
}

/** Reads a JSON value written by `writeJson`; `fallback` when absent or unreadable. */
export function readJson<T>(storage: KeyValueStorage, key: string, fallback: T): T {
  try {
    const raw = storage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

/** Writes a JSON value; a full or refused storage keeps the value in memory only (it is not worth failing over). */
export function writeJson(storage: KeyValueStorage, key: string, value: unknown): void {
  try {
    storage.setItem(key, JSON.stringify(value));
  } catch {
    /* quota or private mode */
  }
}
