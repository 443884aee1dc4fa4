import { createContext } from "preact";
import { useContext, useEffect, useReducer } from "preact/hooks";
import type { ConversationSummary, ParleyClient, ParleyClientEvents } from "../../src/client";
import type { UserDirectory } from "./users";

export interface AppServices {
  client: ParleyClient;
  users: UserDirectory;
  /** Opens a conversation (null: back to the list). */
  open(conversationId: string | null): void;
  /** Opens a conversation scrolled to one of its messages (a starred one), highlighted. */
  openMessage(conversationId: string, seq: number): void;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const app = useContext(AppContext);
  if (!app) throw new Error("useApp outside <AppContext.Provider>");
  return app;
}

type EventName = keyof ParleyClientEvents;

/**
 * Re-renders the calling component when any of `events` fires (and `accept` agrees). The SDK keeps
 * the state; components read it straight from the client on each render.
 */
export function useClientEvents<K extends EventName>(
  events: K[],
  accept?: (event: K, payload: ParleyClientEvents[K]) => boolean,
  deps: unknown[] = [],
): void {
  const { client } = useApp();
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const offs = events.map((event) =>
      client.on(event, (payload) => {
        if (!accept || accept(event, payload)) bump(undefined);
      }),
    );
    return () => offs.forEach((off) => off());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, events.join(","), ...deps]);
}

/** Re-renders when the name directory learns someone. */
export function useUsers(): UserDirectory {
  const { users } = useApp();
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => users.subscribe(() => bump(undefined)), [users]);
  return users;
}

/** The partner in a direct chat. */
export function otherMember(conversation: ConversationSummary, me: string): string | undefined {
  return conversation.members.find((m) => m.user_id !== me)?.user_id;
}

/** The title of a conversation: the group's name, or the other person's. */
export function conversationTitle(conversation: ConversationSummary, users: UserDirectory): string {
  if (conversation.type === "group") return conversation.name ?? "Group";
  const other = otherMember(conversation, users.me.user_id);
  return other ? users.name(other) : users.name(users.me.user_id) + " (you)";
}

/** Re-renders once a minute so relative times ("today", "last seen…") stay true. */
export function useMinuteTick(): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const t = setInterval(() => bump(undefined), 60_000);
    return () => clearInterval(t);
  }, []);
}
