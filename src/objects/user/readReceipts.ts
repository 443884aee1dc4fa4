import { log } from "../../lib/log";
import type { TaskKind } from "../alarms";
import type { ObjectContext } from "../context";
import { byConversationHome, conversationHomeStub } from "../homes";
import type { InboxStore } from "./inbox";
import type { Profiles } from "./profiles";

/** A conversation home that could not be told is asked again this long after. */
const RETRY_MS = 5_000;

/**
 * Read receipts off must hold in every conversation of the user: each keeps a copy of the setting
 * where reads happen (conversation/cursors.ts), so a read costs no call here. A switch is told to
 * the user's conversations from this object's alarm, one call per conversation home, and told again
 * until every home has taken it: a half-told switch would show reads the user chose to hide. The
 * call carries the setting as it is when it runs, so a later switch simply wins. (A conversation
 * joined later gets the setting with the join: `joinConversation`.)
 */
export class ReadReceiptsSync {
  private readonly task: TaskKind;

  constructor(
    private readonly object: ObjectContext,
    private readonly profiles: Profiles,
    private readonly inbox: InboxStore,
  ) {
    this.task = object.alarms.define("read_receipts", (now, userId) => this.tell(userId, now));
  }

  /** The user switched read receipts: their conversations are told from the alarm, now. */
  switched(userId: string): void {
    this.task.book(Date.now(), userId);
  }

  private async tell(userId: string, now: number): Promise<number | null> {
    // An empty subject: booked by `bookEvery` after a handover (the moved users' own tasks came with them).
    if (!userId || !this.profiles.has(userId)) return null;
    const on = this.profiles.privacy(userId).read_receipts;
    const env = this.object.env;
    const homes = [...byConversationHome(env, this.inbox.conversationIds(userId))];
    const results = await Promise.allSettled(homes.map(([home, ids]) => conversationHomeStub(env, home).setReadReceipts(ids, userId, on)));
    const failed = results.filter((r) => r.status === "rejected").length;
    if (failed === 0) return null;
    log.warn("read receipts switch not taken by every conversation home; retrying", { user_id: userId, failed, homes: homes.length });
    return now + RETRY_MS;
  }
}
