/** Reactions in the menu's quick row: the first of `client.recentEmojis()` (yours, then WhatsApp's six). */
export const QUICK_COUNT = 6;

/** The picker's full set: common reactions, faces, hands, hearts and symbols. */
export const PICKER_EMOJIS = [
  "👍", "❤️", "😂", "😮", "😢", "🙏", "👎", "🔥",
  "🎉", "👏", "😀", "😁", "😊", "😍", "🥰", "😘",
  "😎", "🤔", "🙄", "😅", "🤣", "😭", "😡", "🥺",
  "😴", "🤯", "🥳", "😬", "🤝", "🙌", "👌", "✌️",
  "💪", "👀", "💯", "✅", "❌", "⭐", "💡", "🎂",
  "☕", "🍕", "🌹", "🚀", "💔", "💚", "💙", "💜",
];
