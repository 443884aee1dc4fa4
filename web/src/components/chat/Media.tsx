import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatEntry, MediaRef, MediaUrlResponse } from "../../../../src/client";
import { useApp } from "../../context";
import { displayBox, displayName, humanSize, kindOf, localPreview, typeName } from "../../media";
import { VoicePlayer } from "./VoicePlayer";
import { CloseIcon, DownloadIcon, FileIcon, ImageIcon, MicIcon, VideoIcon } from "../icons";

/** Waits between attempts to load a thumbnail that is not made yet (the server answers 404 meanwhile). */
const THUMBNAIL_RETRIES_MS = [500, 1000, 2000, 4000];

/**
 * The self-authorizing URLs of a media (for <img>, <video>, download links): fetched through the SDK
 * (which caches them), and fetched again shortly before they expire so a chat left open keeps working.
 */
export function useMediaUrls(mediaId: string | undefined): MediaUrlResponse | null {
  const { client } = useApp();
  const [urls, setUrls] = useState<MediaUrlResponse | null>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (!mediaId) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    const load = () => {
      client.mediaUrls(mediaId).then(
        (answer) => {
          if (cancelled) return;
          setUrls(answer);
          const refreshIn = answer.expires_at - Date.now() - 4 * 60_000;
          if (refreshIn > 0) timer = setTimeout(() => setGeneration((g) => g + 1), Math.min(refreshIn, 2 ** 31 - 1));
        },
        () => {
          // Offline or a hiccup: try again, more slowly each time.
          if (!cancelled) timer = setTimeout(load, Math.min(30_000, 1000 * 2 ** failures++));
        },
      );
    };
    load();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [mediaId, generation]);
  return mediaId ? urls : null;
}

/** The media part of a message bubble: photo, video, voice message, audio file or document card. */
export function MediaContent({ entry }: { entry: ChatEntry }) {
  const media = entry.media!;
  if (entry.upload) return <UploadPreview entry={entry} />;
  const kind = kindOf(media) ?? entry.content_type;
  if (kind === "image") return <MediaImage entry={entry} media={media} />;
  if (kind === "video") return <MediaVideo entry={entry} media={media} />;
  if (kind === "audio" && media.voice) return <VoicePlayer entry={entry} media={media} />;
  if (kind === "audio") return <MediaAudio media={media} />;
  return <MediaDocument media={media} />;
}

/** An attached audio file (not a voice message): the browser's own player, named. */
function MediaAudio({ media }: { media: MediaRef }) {
  const urls = useMediaUrls(media.media_id);
  const name = displayName(media);
  return (
    <div class="media-audio">
      <span class="document-name" title={name}>
        {name}
      </span>
      {urls && <audio controls preload="metadata" src={urls.url} aria-label={name} />}
    </div>
  );
}

function MediaImage({ entry, media }: { entry: ChatEntry; media: MediaRef }) {
  const urls = useMediaUrls(media.media_id);
  const local = localPreview(media.media_id, entry.key);
  const [attempt, setAttempt] = useState(0);
  const [loaded, setLoaded] = useState(false);
  const [natural, setNatural] = useState<{ width: number; height: number } | null>(null);
  const [open, setOpen] = useState(false);
  const retry = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => () => clearTimeout(retry.current), []);

  // The thumbnail (a JPEG ≤ 320 px) unless there is none, it never came, or the image animates.
  const full = !urls?.thumbnail_url || attempt > THUMBNAIL_RETRIES_MS.length || media.content_type === "image/gif";
  const src = urls ? (full ? urls.url : urls.thumbnail_url!) : undefined;
  const box = displayBox(media.width ?? natural?.width, media.height ?? natural?.height);
  const alt = entry.content.trim() || "Photo";
  const measure = (img: HTMLImageElement) => {
    if (!media.width && img.naturalWidth) setNatural({ width: img.naturalWidth, height: img.naturalHeight });
  };

  return (
    <>
      <button
        type="button"
        class={`media-photo${loaded ? " loaded" : ""}`}
        style={{ width: `${box.width}px`, aspectRatio: `${box.width} / ${box.height}` }}
        title="Open photo"
        onClick={() => setOpen(true)}
      >
        {!loaded &&
          (local ? (
            <img class="media-fill" src={local} alt="" aria-hidden="true" onLoad={(e) => measure(e.currentTarget)} />
          ) : (
            <span class="media-placeholder" aria-hidden="true">
              <ImageIcon />
            </span>
          ))}
        {src && (
          <img
            key={`${attempt}`}
            class="media-fill media-main"
            data-testid="media-image"
            src={src}
            alt={alt}
            decoding="async"
            onLoad={(e) => {
              measure(e.currentTarget);
              setLoaded(true);
            }}
            onError={() => {
              if (full) return;
              // Not made yet (404): wait and ask again; after the last wait, fall back to the original.
              retry.current = setTimeout(() => setAttempt((a) => a + 1), THUMBNAIL_RETRIES_MS[attempt] ?? 0);
            }}
          />
        )}
      </button>
      {open && <Lightbox src={urls?.url ?? local} alt={alt} media={media} caption={entry.content} onClose={() => setOpen(false)} />}
    </>
  );
}

/** A photo at full size over the app: a native modal <dialog>, so Escape and focus work as in every dialog. */
function Lightbox({ src, alt, media, caption, onClose }: { src?: string; alt: string; media: MediaRef; caption: string; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const name = media.filename ?? "photo";
  return (
    <dialog
      ref={ref}
      class="lightbox"
      aria-label={alt}
      data-testid="lightbox"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      onClick={(e) => {
        if (e.target === e.currentTarget || (e.target as HTMLElement).classList.contains("lightbox-stage")) onClose();
      }}
    >
      <div class="lightbox-bar">
        {src && (
          <a class="icon-button" href={src} download={name} aria-label={`Download ${name}`}>
            <DownloadIcon />
          </a>
        )}
        <button type="button" class="icon-button" aria-label="Close" onClick={onClose}>
          <CloseIcon />
        </button>
      </div>
      <div class="lightbox-stage">
        {!loaded && <span class="spinner" role="status" aria-label="Loading photo" />}
        {src && <img class={loaded ? "" : "loading"} src={src} alt={alt} data-testid="lightbox-image" onLoad={() => setLoaded(true)} />}
      </div>
      {caption.trim() && <p class="lightbox-caption">{caption}</p>}
    </dialog>
  );
}

function MediaVideo({ entry, media }: { entry: ChatEntry; media: MediaRef }) {
  const urls = useMediaUrls(media.media_id);
  const size = media.width && media.height ? displayBox(media.width, media.height, 320) : { width: 320, height: 180 };
  return (
    <div class="media-video" style={{ width: `${size.width}px`, aspectRatio: `${size.width} / ${size.height}` }}>
      {urls ? (
        <video controls preload="metadata" playsInline data-testid="media-video" src={urls.url} aria-label={entry.content.trim() || "Video"} />
      ) : (
        <span class="media-placeholder" aria-hidden="true">
          <VideoIcon />
        </span>
      )}
    </div>
  );
}

function MediaDocument({ media }: { media: MediaRef }) {
  const urls = useMediaUrls(media.media_id);
  const name = displayName(media);
  const ext = name.includes(".") ? name.split(".").pop()!.slice(0, 4).toUpperCase() : "";
  return (
    <div class="media-document" data-testid="media-document">
      <span class="document-icon" aria-hidden="true">
        <FileIcon />
        {ext && <span class="document-ext">{ext}</span>}
      </span>
      <span class="document-info">
        <span class="document-name" title={name}>
          {name}
        </span>
        <span class="document-meta">
          {humanSize(media.size)} · {typeName(media.content_type)}
        </span>
      </span>
      {urls ? (
        <a class="icon-button document-download" href={urls.url} download={name} aria-label={`Download ${name}`} title={`Download ${name}`}>
          <DownloadIcon />
        </a>
      ) : (
        <span class="document-download">
          <span class="spinner spinner-small" role="status" aria-label="Preparing download" />
        </span>
      )}
    </div>
  );
}

/** One of your files on its way up: a local preview for photos, else its icon and name; and the progress. */
function UploadPreview({ entry }: { entry: ChatEntry }) {
  const media = entry.media!;
  const upload = entry.upload!;
  const percent = upload.total > 0 ? Math.min(100, Math.round((upload.loaded / upload.total) * 100)) : 0;
  const name = displayName(media);
  const kind = kindOf(media);
  const local = kind === "image" ? localPreview(entry.key) : undefined;
  const [natural, setNatural] = useState<{ width: number; height: number } | null>(null);
  const box = displayBox(natural?.width, natural?.height);
  const progress = (
    <div class="upload-progress">
      <div
        class="progress"
        role="progressbar"
        aria-label={`Uploading ${name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        data-testid="upload-progress"
      >
        <span class="progress-fill" style={{ width: `${percent}%` }} />
      </div>
      <span class="upload-percent" aria-hidden="true">
        {percent}%
      </span>
    </div>
  );
  return (
    <div class="media-upload" data-testid="media-upload">
      {local ? (
        <div class="media-photo uploading" style={{ width: `${box.width}px`, aspectRatio: `${box.width} / ${box.height}` }}>
          <img
            class="media-fill"
            src={local}
            alt={`Uploading ${name}`}
            onLoad={(e) => setNatural({ width: e.currentTarget.naturalWidth, height: e.currentTarget.naturalHeight })}
          />
        </div>
      ) : (
        <div class="media-document">
          <span class="document-icon" aria-hidden="true">
            {kind === "video" ? <VideoIcon /> : kind === "image" ? <ImageIcon /> : kind === "audio" ? <MicIcon /> : <FileIcon />}
          </span>
          <span class="document-info">
            <span class="document-name" title={name}>
              {name}
            </span>
            <span class="document-meta">
              {humanSize(upload.total)} · {typeName(media.content_type)}
            </span>
          </span>
        </div>
      )}
      {progress}
    </div>
  );
}
