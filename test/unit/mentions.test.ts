import { describe, expect, it } from "vitest";
import { followEdit, insertMention, mentionQuery, mentionSegments, wireMentions, type DraftMention } from "../../web/src/mentions";

/** The composer's mention bookkeeping (web/src/mentions.ts): offsets are UTF-16 units of the text sent. */
describe("composer mentions", () => {
  it("finds the @query before the caret, only at a word start", () => {
    expect(mentionQuery("hi @Bo", 6)).toEqual({ start: 3, query: "Bo" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("mail me@example", 15)).toBeNull();
    expect(mentionQuery("@Bo Chen", 8)).toEqual({ start: 0, query: "Bo Chen" });
    expect(mentionQuery("@ Bo", 4)).toBeNull();
    expect(mentionQuery("@Bo\nx", 5)).toBeNull();
  });

  it("inserts @Name and a mention over it, and the offsets follow edits before and after it", () => {
    const typed = "see 🎉 @Bo";
    const q = mentionQuery(typed, typed.length)!;
    const picked = insertMention(typed, [], q, typed.length, "u_bo", "Bo Chen");
    expect(picked.text).toBe("see 🎉 @Bo Chen ");
    // "🎉" is two UTF-16 units: the mention starts at 7, not 6.
    expect(wireMentions(picked.mentions)).toEqual([{ user_id: "u_bo", offset: 7, length: 8 }]);
    expect(picked.caret).toBe(16);

    const before = "Hey " + picked.text;
    const moved = followEdit(picked.mentions, picked.text, before);
    expect(moved[0]!.offset).toBe(11);
    const after = followEdit(moved, before, before + "look");
    expect(after[0]!.offset).toBe(11);
    expect(before.slice(11, 19)).toBe("@Bo Chen");
  });

  it("drops a mention whose text is edited", () => {
    const m: DraftMention[] = [{ user_id: "u_bo", offset: 0, length: 8, text: "@Bo Chen" }];
    expect(followEdit(m, "@Bo Chen hi", "@Bo Chn hi")).toEqual([]);
    expect(followEdit(m, "@Bo Chen hi", "@Bo Chen")).toEqual(m);
  });

  it("cuts text into runs and mentions for rendering, ignoring spans outside the text", () => {
    expect(mentionSegments("hi @Ana and @Bo", [{ user_id: "b", offset: 12, length: 3 }, { user_id: "a", offset: 3, length: 4 }, { user_id: "x", offset: 14, length: 9 }])).toEqual([
      { text: "hi " },
      { text: "@Ana", userId: "a" },
      { text: " and " },
      { text: "@Bo", userId: "b" },
    ]);
  });
});
