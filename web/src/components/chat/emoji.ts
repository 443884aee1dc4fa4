/** The reactions offered before you have used any, in the menu's quick row. */
export const QUICK_REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];

/** The picker's full set: common reactions, faces, hands, hearts and symbols. */
export const PICKER_EMOJIS = [
  "👍", "❤️", "😂", "😮", "😢", "🙏", "👎", "🔥",
  "🎉", "👏", "😀", "😁", "😊", "😍", "🥰", "😘",
  "😎", "🤔", "🙄", "😅", "🤣", "😭", "😡", "🥺",
  "😴", "🤯", "🥳", "😬", "🤝", "🙌", "👌", "✌️",
  "💪", "👀", "💯", "✅", "❌", "⭐", "💡", "🎂",
  "☕", "🍕", "🌹", "🚀", "💔", "💚", "💙", "💜",
];

/** The quick row: your recent reactions first, filled up with the defaults. */
export function quickReactions(recent: readonly string[], count = QUICK_REACTIONS.length): string[] {
  return [...new Set([...recent, ...QUICK_REACTIONS])].slice(0, count);
}
