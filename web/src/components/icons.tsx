/** Small inline SVG icons; all decorative (aria-hidden), the control around them carries the name. */
import type { ComponentChildren } from "preact";
type P = { class?: string };
const svg = (path: ComponentChildren, viewBox = "0 0 24 24") => ({ class: cls }: P) => (
  <svg class={cls ? `icon ${cls}` : "icon"} viewBox={viewBox} aria-hidden="true" focusable="false">
    {path}
  </svg>
);

export const ClockIcon = svg(
  <>
    <circle cx="12" cy="12" r="8" fill="none" stroke="currentColor" stroke-width="2" />
    <path d="M12 8v4.5l3 1.8" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
  </>,
);
export const CheckIcon = svg(
  <path d="M4 12.5l4.5 4.5L19 6.5" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" />,
);
export const DoubleCheckIcon = svg(
  <>
    <path d="M1.5 12.5L6 17 16 7" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" />
    <path d="M11 16l1 1L22.5 7" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" />
  </>,
);
export const AlertIcon = svg(
  <>
    <circle cx="12" cy="12" r="9" fill="currentColor" />
    <path d="M12 7v6M12 16.5v.5" stroke="#fff" stroke-width="2.2" stroke-linecap="round" />
  </>,
);
export const BackIcon = svg(<path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" />);
export const SendIcon = svg(<path d="M3 20.5l18-8.5L3 3.5l2.5 7L15 12l-9.5 1.5z" fill="currentColor" />);
export const InfoIcon = svg(
  <>
    <circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="2" />
    <path d="M12 11v6M12 7.5v.5" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />
  </>,
);
export const CloseIcon = svg(<path d="M6 6l12 12M18 6L6 18" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />);
export const ChatIcon = svg(
  <path d="M4 5h16v11H9l-5 4z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round" />,
);
export const GroupIcon = svg(
  <>
    <circle cx="9" cy="9" r="3.5" fill="none" stroke="currentColor" stroke-width="2" />
    <path d="M2.5 19c.8-3.4 3.4-5 6.5-5s5.7 1.6 6.5 5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
    <path d="M16 5.6a3.5 3.5 0 010 6.8M18 14.4c1.8.7 3 2.3 3.5 4.6" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
  </>,
);
export const AttachIcon = svg(
  <path
    d="M20 11.5l-7.8 7.8a5 5 0 01-7.1-7.1l8.3-8.3a3.3 3.3 0 014.7 4.7l-8.2 8.2a1.7 1.7 0 01-2.4-2.4l7.5-7.5"
    fill="none"
    stroke="currentColor"
    stroke-width="2"
    stroke-linecap="round"
    stroke-linejoin="round"
  />,
);
export const FileIcon = svg(
  <>
    <path d="M6 2.8h8l4.5 4.5v13.9H6z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" />
    <path d="M13.5 3v4.8h4.8" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" />
  </>,
);
export const ImageIcon = svg(
  <>
    <rect x="3" y="4.5" width="18" height="15" rx="2.5" fill="none" stroke="currentColor" stroke-width="1.8" />
    <circle cx="8.5" cy="9.5" r="1.8" fill="currentColor" />
    <path d="M4 17.5l5-5 3.5 3.5 2.5-2.5 5 4.5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" />
  </>,
);
export const VideoIcon = svg(
  <>
    <rect x="2.5" y="5.5" width="13.5" height="13" rx="2.5" fill="none" stroke="currentColor" stroke-width="1.8" />
    <path d="M16 10.5l5.5-3.2v9.4L16 13.5z" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round" />
  </>,
);
export const DownloadIcon = svg(
  <path d="M12 4v11m0 0l-4.5-4.5M12 15l4.5-4.5M5 19.5h14" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" />,
);
export const UploadIcon = svg(
  <path d="M12 16V5m0 0L7.5 9.5M12 5l4.5 4.5M5 19.5h14" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" />,
);
export const SettingsIcon = svg(
  <>
    <circle cx="12" cy="12" r="3" fill="none" stroke="currentColor" stroke-width="2" />
    <path
      d="M19.4 15a1.7 1.7 0 00.3 1.8l.1.1a2 2 0 11-2.8 2.8l-.1-.1a1.7 1.7 0 00-1.8-.3 1.7 1.7 0 00-1 1.5V21a2 2 0 01-4 0v-.1a1.7 1.7 0 00-1.1-1.5 1.7 1.7 0 00-1.8.3l-.1.1a2 2 0 11-2.8-2.8l.1-.1a1.7 1.7 0 00.3-1.8 1.7 1.7 0 00-1.5-1H3a2 2 0 010-4h.1a1.7 1.7 0 001.5-1.1 1.7 1.7 0 00-.3-1.8l-.1-.1a2 2 0 112.8-2.8l.1.1a1.7 1.7 0 001.8.3H9a1.7 1.7 0 001-1.5V3a2 2 0 014 0v.1a1.7 1.7 0 001 1.5 1.7 1.7 0 001.8-.3l.1-.1a2 2 0 112.8 2.8l-.1.1a1.7 1.7 0 00-.3 1.8V9a1.7 1.7 0 001.5 1H21a2 2 0 010 4h-.1a1.7 1.7 0 00-1.5 1z"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linejoin="round"
    />
  </>,
);
export const ReplyIcon = svg(
  <path d="M10 6L4 12l6 6M4.5 12H14a6 6 0 016 6v1" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />,
);
export const ForwardIcon = svg(
  <path d="M14 6l6 6-6 6M19.5 12H10a6 6 0 00-6 6v1" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />,
);
export const EditIcon = svg(
  <path d="M4 20h4L19 9l-4-4L4 16zM13.5 6.5l4 4" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />,
);
export const TrashIcon = svg(
  <path d="M4 7h16M9.5 7V4.5h5V7M6.5 7l1 13h9l1-13M10 11v5.5M14 11v5.5" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round" />,
);
export const StarIcon = svg(
  <path d="M12 3.5l2.6 5.4 5.9.8-4.3 4.1 1 5.8L12 16.8l-5.2 2.8 1-5.8-4.3-4.1 5.9-.8z" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linejoin="round" />,
);
export const StarFilledIcon = svg(
  <path d="M12 3.5l2.6 5.4 5.9.8-4.3 4.1 1 5.8L12 16.8l-5.2 2.8 1-5.8-4.3-4.1 5.9-.8z" fill="currentColor" stroke="currentColor" stroke-width="1.9" stroke-linejoin="round" />,
);
export const SmileIcon = svg(
  <>
    <circle cx="12" cy="12" r="8.5" fill="none" stroke="currentColor" stroke-width="1.9" />
    <path d="M8.5 14a4 4 0 007 0" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" />
    <circle cx="9" cy="10" r="1.2" fill="currentColor" />
    <circle cx="15" cy="10" r="1.2" fill="currentColor" />
  </>,
);
export const ChevronDownIcon = svg(<path d="M6 9.5l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round" />);
export const PlusIcon = svg(<path d="M12 5v14M5 12h14" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />);
export const BlockedIcon = svg(
  <>
    <circle cx="12" cy="12" r="8" fill="none" stroke="currentColor" stroke-width="1.9" />
    <path d="M6.5 17.5l11-11" stroke="currentColor" stroke-width="1.9" />
  </>,
);
export const MutedIcon = svg(
  <path
    d="M9 5.5A5.5 5.5 0 0 1 17.5 10v3.5l1.5 2.5H9M6.5 10v3.5L5 16h2M10 19a2 2 0 0 0 4 0M4 4l16 16"
    fill="none"
    stroke="currentColor"
    stroke-width="1.9"
    stroke-linecap="round"
    stroke-linejoin="round"
  />,
);
export const PinIcon = svg(
  <path d="M9 4h6l-1 6 3 3v1.5H7V13l3-3zM12 14.5V20" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round" />,
);
export const ArchiveIcon = svg(
  <path d="M4 5h16v4H4zM5.5 9v10h13V9M10 13h4" fill="none" stroke="currentColor" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round" />,
);
export const MoreIcon = svg(
  <>
    <circle cx="12" cy="5.5" r="1.8" fill="currentColor" />
    <circle cx="12" cy="12" r="1.8" fill="currentColor" />
    <circle cx="12" cy="18.5" r="1.8" fill="currentColor" />
  </>,
);
export const SearchIcon = svg(
  <>
    <circle cx="10.5" cy="10.5" r="6" fill="none" stroke="currentColor" stroke-width="2" />
    <path d="M15 15l5 5" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />
  </>,
);
export const MicIcon = svg(
  <>
    <rect x="9" y="3" width="6" height="11" rx="3" fill="currentColor" />
    <path d="M5.5 11a6.5 6.5 0 0013 0M12 17.5V21" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
  </>,
);
export const PlayIcon = svg(<path d="M8 5.5v13l10.5-6.5z" fill="currentColor" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" />);
export const PauseIcon = svg(
  <>
    <rect x="6.5" y="5" width="4" height="14" rx="1" fill="currentColor" />
    <rect x="13.5" y="5" width="4" height="14" rx="1" fill="currentColor" />
  </>,
);
