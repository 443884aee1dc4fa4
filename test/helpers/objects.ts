import { env } from "cloudflare:workers";
import type { Conversation } from "../../src/objects/conversation/conversation";
import type { ConversationObject } from "../../src/objects/conversation/ConversationObject";
import { conversationHome } from "../../src/objects/homes";

/** The object holding a conversation (one of its own, or its shard's: CONVERSATION_SHARDS). */
export const conversationStub = (id: string) => conversationHome(env, id);

type Host = { conversation(id: string): Conversation; wakeups: Map<string, number>; runAlarm(id: string, now: number): Promise<void> };

/** One conversation inside the object holding it, for tests that look inside with runInDurableObject. */
export const conversationIn = (o: ConversationObject, id: string) => (o as unknown as Host).conversation(id);

/**
 * Runs one conversation's alarm work as the runtime would when its booked time comes (that time
 * counts as now): an object's one alarm is shared by every conversation it holds, so the next alarm
 * of the object may be another conversation's.
 */
export function conversationAlarm(o: ConversationObject, id: string): Promise<void> {
  const host = o as unknown as Host;
  return host.runAlarm(id, Math.max(Date.now(), host.wakeups.get(id) ?? 0));
}
