import { Hono } from "hono";
import type { Env } from "../env";
import { conversationIdPattern } from "../lib/ids";
import { historyRateLimited } from "../lib/sendRate";
import { ApiError, unwrap } from "../middleware/errors";
import type { AppEnv } from "../middleware/auth";
import { validate } from "../middleware/validate";
import { ftsQuery } from "../objects/conversation/search";
import { byConversationHome, byUserHome, conversationHome, conversationHomeStub, userHome, userHomeStub } from "../objects/homes";
import { Endpoints, ErrorCode, Limits, type ConversationSummary, type User } from "../protocol";

/**
 * Search: a conversation's messages (FTS5 in its conversation object: objects/conversation/search.ts),
 * and everything of a user's at once — their conversations by name, the people in them by name,
 * and the messages of all of them, asking each conversation object once.
 */

/** People named by the search are looked for among at most this many of the user's contacts. */
const PEOPLE_LOOKED_AT = 500;

async function admitted(env: Env, userId: string): Promise<void> {
  if (!(await userHome(env, userId).admitHistory(userId))) throw ApiError.from(historyRateLimited);
}

/** Every conversation in the user's list, archived ones too. */
async function allConversations(env: Env, userId: string): Promise<ConversationSummary[]> {
  const home = userHome(env, userId);
  const out: ConversationSummary[] = [];
  for (const archived of [false, true]) {
    let cursor: string | undefined;
    do {
      const page = await home.listConversations(userId, { limit: 1_000, cursor, archived });
      out.push(...page.conversations);
      cursor = page.next ?? undefined;
    } while (cursor);
  }
  return out;
}

/** Whether every word typed starts a word of `name` (as the message search matches). */
function nameMatches(name: string, words: string[]): boolean {
  const own = name.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.every((w) => own.some((o) => o.startsWith(w)));
}

async function peopleIn(env: Env, userId: string, conversations: ConversationSummary[]): Promise<User[]> {
  const ids = [...new Set(conversations.flatMap((c) => c.members.map((m) => m.user_id)))].filter((id) => id !== userId).slice(0, PEOPLE_LOOKED_AT);
  const found = await Promise.all([...byUserHome(env, ids, (id) => id)].map(([home, some]) => userHomeStub(env, home).profilesOf(some, userId)));
  return found.flat();
}

/** `GET /search`. */
export const searchRoutes = new Hono<AppEnv>().get("/", validate("query", Endpoints.search.query), async (c) => {
  const me = c.var.userId;
  const { q, limit } = c.req.valid("query");
  await admitted(c.env, me);
  const query = ftsQuery(q);
  if (query === null) return c.json({ conversations: [], people: [], messages: [] });
  const words = (q.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).slice(0, Limits.searchTermsMax);
  const conversations = await allConversations(c.env, me);
  const [people, messages] = await Promise.all([
    peopleIn(c.env, me, conversations).then((all) => all.filter((p) => nameMatches(p.display_name, words) || nameMatches(p.username, words))),
    Promise.all(
      [...byConversationHome(c.env, conversations.map((x) => x.conversation_id))].map(([home, ids]) =>
        conversationHomeStub(c.env, home).searchConversations(me, ids, query, limit),
      ),
    ).then((found) => found.flat().sort((a, b) => b.timestamp - a.timestamp).slice(0, limit)),
  ]);
  // A direct chat is found by the name of the person in it.
  const named = new Set(people.map((p) => p.user_id));
  const chats = conversations.filter((x) =>
    x.name !== null ? nameMatches(x.name, words) : x.members.some((m) => m.user_id !== me && named.has(m.user_id)),
  );
  return c.json({
    conversations: chats.slice(0, Limits.searchNamesMax),
    people: people.slice(0, Limits.searchNamesMax),
    messages,
  });
});

/** `GET /conversations/:conversation_id/search`. */
export const conversationSearchRoutes = new Hono<AppEnv>().get("/:conversation_id/search", validate("query", Endpoints.searchConversation.query), async (c) => {
  const me = c.var.userId;
  const id = c.req.param("conversation_id");
  if (!conversationIdPattern.test(id)) throw new ApiError(ErrorCode.conversationNotFound, "no such conversation");
  const { q, before, limit } = c.req.valid("query");
  await admitted(c.env, me);
  const query = ftsQuery(q);
  const home = conversationHome(c.env, id);
  if (query === null) {
    unwrap(await home.describe(id, me)); // still refused to anyone not in it
    return c.json({ messages: [], has_more: false });
  }
  return c.json(unwrap(await home.searchConversation(id, me, query, before ?? Number.MAX_SAFE_INTEGER, limit)));
});
