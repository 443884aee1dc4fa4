import { log } from "../../lib/log";
import type { ProfileFrame, ProfileVisibleTo, User } from "../../protocol";
import type { ObjectContext } from "../context";
import { byUserHome, userHomeStub } from "../homes";
import { sendFrame } from "../sockets";
import type { Consent } from "./consent";
import type { PresenceKeeper } from "./presence";
import type { Profiles } from "./profiles";
import type { DeviceSessions } from "./sessions";

/**
 * Profiles as others see them, and who hears when one changes. The privacy rule lives here alone:
 * the photo and about by the user's settings (everyone, contacts, nobody), and neither to someone the
 * user blocked, as in WhatsApp. Every answer that carries someone else's profile goes through `seenBy`.
 */
export class ProfileViews {
  constructor(
    private readonly object: ObjectContext,
    private readonly profiles: Profiles,
    private readonly consent: Consent,
    private readonly sessions: DeviceSessions,
    private readonly presence: PresenceKeeper,
  ) {}

  seenBy(userId: string, viewerId: string): User | null {
    const user = this.profiles.get(userId);
    if (!user || viewerId === userId) return user;
    const privacy = this.profiles.privacy(userId);
    const shows = (to: ProfileVisibleTo) =>
      to !== "nobody" && !this.consent.blocks(userId, viewerId) && (to === "everyone" || this.consent.isContact(userId, viewerId));
    const { about, photo, ...always } = user;
    return { ...always, ...(about && shows(privacy.about_visible_to) ? { about } : {}), ...(photo && shows(privacy.photo_visible_to) ? { photo } : {}) };
  }

  /**
   * The user saved their profile or settings: their devices show it at once, and, when what others
   * see may have changed, so does everyone watching their presence (people with them on screen),
   * each as they may see it, in one call per user object holding watchers. Others ask again when
   * their copy goes stale (the SDK: 5 minutes, or a reconnect).
   */
  changed(userId: string, seenByOthers: boolean): void {
    const own = JSON.stringify({ type: "profile", user: this.profiles.get(userId)! } satisfies ProfileFrame);
    for (const session of this.sessions.ofUser(userId)) sendFrame(session.ws, own);
    if (!seenByOthers) return;
    const env = this.object.env;
    const watchers = this.presence
      .subscribers(userId, Date.now())
      .map((s) => s.subscriber_id)
      .filter((id) => id !== userId);
    const batches = watchers.map((id) => ({ user_id: id, frames: [JSON.stringify({ type: "profile", user: this.seenBy(userId, id)! } satisfies ProfileFrame)] }));
    for (const [home, group] of byUserHome(env, batches, (b) => b.user_id)) {
      this.object.waitUntil(
        userHomeStub(env, home)
          .pushFrames(group)
          .catch((error: unknown) => log.warn("profile change not told to watchers", { user_id: userId, home, watchers: group.length, error })),
      );
    }
  }
}
