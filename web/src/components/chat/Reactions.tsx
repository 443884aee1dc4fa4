import type { ChatEntry, Reaction } from "../../../../src/client";
import { listNames } from "../../format";
import type { UserDirectory } from "../../users";

interface Props {
  entry: ChatEntry;
  users: UserDirectory;
  /** Your reaction: the emoji to set, or null to take yours back. */
  onReact(entry: ChatEntry, emoji: string | null): void;
}

/** Reactions grouped by emoji, in the order each first appeared. */
export function groupReactions(reactions: Reaction[]): { emoji: string; userIds: string[] }[] {
  const groups = new Map<string, string[]>();
  for (const r of reactions) {
    if (!r.emoji) continue;
    groups.set(r.emoji, [...(groups.get(r.emoji) ?? []), r.user_id]);
  }
  return [...groups].map(([emoji, userIds]) => ({ emoji, userIds }));
}

/**
 * The chips under a message: each emoji with its count, who reacted in the tooltip (and the accessible
 * name). Clicking your own chip takes your reaction back; clicking another makes it yours.
 */
export function Reactions({ entry, users, onReact }: Props) {
  const groups = groupReactions(entry.reactions ?? []);
  if (groups.length === 0) return null;
  const me = users.me.user_id;
  return (
    <ul class="reactions" aria-label="Reactions" data-testid="reactions">
      {groups.map(({ emoji, userIds }) => {
        const mine = userIds.includes(me);
        // "You" first, then the others as the server listed them.
        const names = listNames([...userIds].sort((a, b) => Number(b === me) - Number(a === me)).map((u) => users.name(u, true)));
        const hint = mine ? "click to remove yours" : `click to react with ${emoji}`;
        return (
          <li key={emoji}>
            <button
              type="button"
              class={`reaction-chip${mine ? " mine" : ""}`}
              aria-pressed={mine}
              aria-label={`${emoji} ${userIds.length}: ${names}; ${hint}`}
              title={`${names} (${hint})`}
              data-testid="reaction-chip"
              data-emoji={emoji}
              onClick={() => onReact(entry, mine ? null : emoji)}
            >
              <span class="reaction-emoji" aria-hidden="true">
                {emoji}
              </span>
              <span class="reaction-count" aria-hidden="true">
                {userIds.length}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}
