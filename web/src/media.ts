import { durationText } from "./waveform";
import { MediaTypes, mediaKindOf, type MediaKind, type MediaRef, type Message } from "../../src/client";

/** File extensions for the allow-list, so the picker also offers files the OS has no MIME type for. */
const EXTENSIONS: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  gif: "image/gif",
  mp4: "video/mp4",
  m4v: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  aac: "audio/aac",
  ogg: "audio/ogg",
  opus: "audio/ogg",
  pdf: "application/pdf",
  txt: "text/plain",
  zip: "application/zip",
  doc: "application/msword",
  xls: "application/vnd.ms-excel",
  ppt: "application/vnd.ms-powerpoint",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
  odt: "application/vnd.oasis.opendocument.text",
  ods: "application/vnd.oasis.opendocument.spreadsheet",
  odp: "application/vnd.oasis.opendocument.presentation",
};

/** The file input's `accept`: every allowed MIME type and its usual extensions. */
export const ACCEPT = [...Object.values(MediaTypes).flat(), ...Object.keys(EXTENSIONS).map((e) => `.${e}`)].join(",");

/**
 * The file as it should be uploaded: browsers leave `type` empty for some files (and a few OSes
 * misname zip/office files), so an empty type is taken from the extension. A known-bad type is kept:
 * the server's refusal tells the user why.
 */
export function withType(file: File): File {
  if (file.type) return file;
  const ext = file.name.split(".").pop()?.toLowerCase() ?? "";
  const type = EXTENSIONS[ext];
  return type ? new File([file], file.name, { type, lastModified: file.lastModified }) : file;
}

export function kindOf(media: Pick<MediaRef, "content_type">): MediaKind | null {
  return mediaKindOf(media.content_type.split(";")[0]!.trim().toLowerCase());
}

/** "840 B", "12 KB", "2.4 MB". */
export function humanSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1).replace(/\.0$/, "")} ${units[unit]}`;
}

const TYPE_NAMES: Record<string, string> = {
  "application/pdf": "PDF",
  "text/plain": "Text",
  "application/zip": "ZIP archive",
  "application/msword": "Word document",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document",
  "application/vnd.ms-excel": "Excel spreadsheet",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel spreadsheet",
  "application/vnd.ms-powerpoint": "PowerPoint",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
  "application/vnd.oasis.opendocument.text": "OpenDocument text",
  "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
  "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
};

/** A short name for a file type: "PDF", "Word document", "PNG image". */
export function typeName(contentType: string): string {
  const known = TYPE_NAMES[contentType];
  if (known) return known;
  const [top, sub = ""] = contentType.split("/");
  const short = sub.replace(/^x-/, "").replace(/^quicktime$/, "mov").toUpperCase();
  if (top === "image") return `${short} image`;
  if (top === "video") return `${short} video`;
  return short || "File";
}

/** The name a media file goes by when it has none. */
export function displayName(media: Pick<MediaRef, "filename" | "content_type">): string {
  if (media.filename) return media.filename;
  const kind = kindOf(media);
  return kind === "image" ? "Photo" : kind === "video" ? "Video" : kind === "audio" ? "Voice message" : "Document";
}

/** A conversation-list preview for a media message: "📷 Photo", "🎥 Video", "🎤 Voice message (0:07)", "📄 report.pdf", plus the caption. */
export function mediaPreview(message: Pick<Message, "content" | "content_type" | "media">): string {
  const label =
    message.content_type === "image"
      ? "📷 Photo"
      : message.content_type === "video"
        ? "🎥 Video"
        : message.content_type === "audio"
          ? message.media?.voice
            ? `🎤 Voice message${message.media.duration_ms ? ` (${durationText(message.media.duration_ms)})` : ""}`
            : `🎵 ${message.media?.filename ?? "Audio"}`
          : `📄 ${message.media?.filename ?? "Document"}`;
  const caption = message.content.trim();
  return caption ? `${label} · ${caption}` : label;
}

/**
 * How big a photo or video is drawn in a bubble: fits in max×max, never smaller than a thumb. With no
 * dimensions (the thumbnail job records them a moment after upload) a 4:3 box.
 */
export function displayBox(width: number | undefined, height: number | undefined, max = 300): { width: number; height: number } {
  if (!width || !height) return { width: Math.min(max, 280), height: Math.round(Math.min(max, 280) * 0.75) };
  const scale = Math.min(1, max / Math.max(width, height));
  const w = Math.max(120, Math.round(width * scale));
  return { width: w, height: Math.max(80, Math.round((w * height) / width)) };
}

/**
 * Images this browser sent, as local object URLs: shown while uploading and until the thumbnail is
 * ready, so the sender never sees a grey box for their own photo. Keyed by upload key and media id.
 */
const localPreviews = new Map<string, string>();
const MAX_LOCAL_PREVIEWS = 60;

export function rememberPreview(keys: string[], url: string): void {
  for (const key of keys) localPreviews.set(key, url);
  while (localPreviews.size > MAX_LOCAL_PREVIEWS) {
    const [oldestKey, oldestUrl] = localPreviews.entries().next().value as [string, string];
    localPreviews.delete(oldestKey);
    if (![...localPreviews.values()].includes(oldestUrl)) URL.revokeObjectURL(oldestUrl);
  }
}

export function localPreview(...keys: (string | undefined)[]): string | undefined {
  for (const key of keys) {
    const url = key ? localPreviews.get(key) : undefined;
    if (url) return url;
  }
  return undefined;
}

export function forgetPreview(key: string): void {
  const url = localPreviews.get(key);
  localPreviews.delete(key);
  if (url && ![...localPreviews.values()].includes(url)) URL.revokeObjectURL(url);
}
