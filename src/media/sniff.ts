import { MediaTypes } from "../protocol";

/**
 * Does a file's start look like its declared type? Checked on the first bytes after upload, so a
 * client cannot label an executable `image/png`. Signatures are the formats' own magic numbers.
 */
export const SNIFF_BYTES = 64;

const ascii = (bytes: Uint8Array, at: number, text: string) =>
  bytes.length >= at + text.length && [...text].every((ch, i) => bytes[at + i] === ch.charCodeAt(0));
const prefix = (bytes: Uint8Array, sig: number[]) => bytes.length >= sig.length && sig.every((b, i) => bytes[i] === b);

const EBML = [0x1a, 0x45, 0xdf, 0xa3];
const ZIP = [0x50, 0x4b, 0x03, 0x04];
const ZIP_EMPTY = [0x50, 0x4b, 0x05, 0x06];
/** Legacy Office files are OLE2 compound documents. */
const OLE2 = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

const signatures: Record<string, (b: Uint8Array) => boolean> = {
  "image/jpeg": (b) => prefix(b, [0xff, 0xd8, 0xff]),
  "image/png": (b) => prefix(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  "image/gif": (b) => ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a"),
  "image/webp": (b) => ascii(b, 0, "RIFF") && ascii(b, 8, "WEBP"),
  "video/mp4": (b) => ascii(b, 4, "ftyp"),
  "video/quicktime": (b) => ["ftyp", "moov", "mdat", "wide", "free", "skip"].some((box) => ascii(b, 4, box)),
  "video/webm": (b) => prefix(b, EBML),
  // WebM audio and video share the EBML signature: which one a file is, the declared type says.
  "audio/webm": (b) => prefix(b, EBML),
  "audio/ogg": (b) => ascii(b, 0, "OggS"),
  "audio/mp4": (b) => ascii(b, 4, "ftyp"),
  // Raw AAC: ADTS frames (a 12-bit sync word, layer 0) or an ADIF header.
  "audio/aac": (b) => (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xf6) === 0xf0) || ascii(b, 0, "ADIF"),
  // MP3: an ID3 tag first, or straight into an MPEG audio frame (an 11-bit sync word).
  "audio/mpeg": (b) => ascii(b, 0, "ID3") || (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0),
  "application/pdf": (b) => ascii(b, 0, "%PDF-"),
  "application/zip": (b) => prefix(b, ZIP) || prefix(b, ZIP_EMPTY),
  "application/msword": (b) => prefix(b, OLE2),
  "application/vnd.ms-excel": (b) => prefix(b, OLE2),
  "application/vnd.ms-powerpoint": (b) => prefix(b, OLE2),
  "text/plain": looksLikeText,
};
// Office Open XML and OpenDocument files are zip archives (their types come from the allow-list).
for (const mime of MediaTypes.document.filter((m) => m.startsWith("application/vnd.openxmlformats") || m.startsWith("application/vnd.oasis"))) {
  signatures[mime] = (b) => prefix(b, ZIP);
}

/** Plain text: valid UTF-8 (a sequence cut off at the end of the sample is fine) with no NUL bytes. */
function looksLikeText(b: Uint8Array): boolean {
  if (b.includes(0)) return false;
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(b, { stream: true });
    return true;
  } catch {
    return false;
  }
}

export function matchesDeclaredType(mime: string, head: Uint8Array): boolean {
  const check = signatures[mime];
  return check ? check(head) : false;
}

/** Every type the sniffer knows: must cover the whole allow-list (test/unit/sniff.test.ts). */
export const sniffableTypes = (): string[] => Object.keys(signatures);
