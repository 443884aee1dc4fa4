import { SystemEvent, type Presence } from "../../src/client";

const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "long" });
const shortDay = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short" });
const longDay = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric" });
const numericDay = new Intl.DateTimeFormat(undefined, { day: "2-digit", month: "2-digit", year: "2-digit" });

const DAY = 86_400_000;

function startOfDay(ts: number): number {
  const d = new Date(ts);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole calendar days between `ts` and now (0 = today, 1 = yesterday). */
export function daysAgo(ts: number, now = Date.now()): number {
  return Math.round((startOfDay(now) - startOfDay(ts)) / DAY);
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

export function clock(ts: number): string {
  return time.format(ts);
}

/** The time shown in a conversation list row. */
export function listTime(ts: number, now = Date.now()): string {
  const days = daysAgo(ts, now);
  if (days <= 0) return clock(ts);
  if (days === 1) return "Yesterday";
  if (days < 7) return weekday.format(ts);
  return numericDay.format(ts);
}

/** The label of a day separator in a chat. */
export function dayLabel(ts: number, now = Date.now()): string {
  const days = daysAgo(ts, now);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days < 7) return weekday.format(ts);
  return longDay.format(ts);
}

/** A moment relative to today: "today at 14:05", "yesterday at 09:12", "3 Nov at 18:40". */
export function relativeMoment(ts: number, now = Date.now()): string {
  const days = daysAgo(ts, now);
  if (days <= 0) return `today at ${clock(ts)}`;
  if (days === 1) return `yesterday at ${clock(ts)}`;
  return `${shortDay.format(ts)} at ${clock(ts)}`;
}

/** The status line of a direct chat. Empty while presence is unknown. */
export function presenceText(presence: Presence | undefined, now = Date.now()): string {
  if (!presence) return "";
  if (presence.status === "online") return "online";
  if (presence.last_seen === null) return "last seen recently";
  return `last seen ${relativeMoment(presence.last_seen, now)}`;
}

/** "Ana", "Ana and Bo", "Ana, Bo and Cy". */
export function listNames(names: string[]): string {
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

export function typingText(names: string[], group: boolean): string {
  if (!group || names.length === 0) return "typing…";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

/** A system message as a sentence. `name` resolves user ids (and says "You" for the reader). */
export function systemText(content: string, name: (userId: string) => string): string {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    return content;
  }
  // An event this client does not know (a newer server's) still reads as something.
  const parsed = SystemEvent.safeParse(json);
  if (!parsed.success) return "The group was updated";
  const event = parsed.data;
  const actor = name(event.actor);
  // "Ana removed you", not "Ana removed You".
  const object = (userId: string) => {
    const n = name(userId);
    return n === "You" ? "you" : n;
  };
  switch (event.event) {
    case "group_created":
      return `${actor} created the group “${event.name}”`;
    case "renamed":
      return `${actor} renamed the group to “${event.name}”`;
    case "disappearing_changed":
      return event.ms === 0 ? `${actor} turned off disappearing messages` : `${actor} turned on disappearing messages: new messages disappear after ${durationText(event.ms)}`;
    case "photo_changed":
      return event.photo ? `${actor} changed the group photo` : `${actor} removed the group photo`;
    case "description_changed":
      return event.description ? `${actor} changed the group description` : `${actor} removed the group description`;
    case "settings_changed":
      return `${actor} changed the group's settings: ${event.settings.only_admins_send ? "only admins" : "all members"} can send messages, ${
        event.settings.only_admins_edit_info ? "only admins" : "all members"
      } can edit the group info`;
    case "members_added":
      return `${actor} added ${listNames(event.user_ids.map(object))}`;
    case "withheld":
      return "";
    case "member_joined":
      return event.via === "link" ? `${name(event.user_id)} joined using the invite link` : `${name(event.user_id)} joined, invited by ${object(event.actor)}`;
    case "member_removed":
      return `${actor} removed ${object(event.user_id)}`;
    case "member_left":
      return `${name(event.user_id)} left`;
    case "role_changed":
      return event.role === "admin"
        ? `${actor} made ${object(event.user_id)} an admin`
        : `${actor} removed ${object(event.user_id)} as admin`;
  }
}

/** Two letters for an avatar. */
export function initials(name: string): string {
  const parts = name
    .trim()
    .split(/\s+/)
    .filter((w) => /^[\p{L}\p{N}]/u.test(w));
  const letters = parts.length > 1 ? parts[0]![0]! + parts[parts.length - 1]![0]! : (parts[0] ?? "?").slice(0, 2);
  return letters.toUpperCase();
}

/** A stable hue per user, for avatars and sender names in groups. */
export function hue(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % 360;
}

/** A disappearing-messages timer in words: "24 hours", "7 days", "90 days". */
export function durationText(ms: number): string {
  const hours = ms / 3_600_000;
  return hours < 48 ? `${hours} hours` : `${hours / 24} days`;
}
