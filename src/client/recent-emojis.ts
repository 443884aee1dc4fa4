import { readJson, writeJson, type KeyValueStorage } from "./storage";

/** WhatsApp's quick reactions: what a picker offers before the user has reacted with anything. */
export const DEFAULT_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
const KEPT = 18;

/** The emojis this user reacted with, most recent first, padded with the defaults; kept in storage. */
export class RecentEmojis {
  private readonly key: string;
  private used: string[];

  constructor(
    private readonly storage: KeyValueStorage,
    userId: string,
  ) {
    this.key = `parley:${userId}:recent-emojis`;
    const stored = readJson<unknown>(storage, this.key, []);
    this.used = Array.isArray(stored) ? stored.filter((e): e is string => typeof e === "string").slice(0, KEPT) : [];
  }

  all(): string[] {
    return [...new Set([...this.used, ...DEFAULT_REACTIONS])].slice(0, Math.max(KEPT, DEFAULT_REACTIONS.length));
  }

  /** The user reacted with `emoji`: it moves to the front. */
  note(emoji: string): void {
    this.used = [emoji, ...this.used.filter((e) => e !== emoji)].slice(0, KEPT);
    writeJson(this.storage, this.key, this.used);
  }
}
