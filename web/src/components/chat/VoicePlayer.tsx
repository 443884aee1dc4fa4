import { useEffect, useRef, useState } from "preact/hooks";
import type { ChatEntry, MediaRef } from "../../../../src/client";
import { useApp } from "../../context";
import { durationText, durationWords } from "../../waveform";
import { MicIcon, PauseIcon, PlayIcon } from "../icons";
import { useMediaUrls } from "./Media";

/** Bars drawn when a voice message came without a waveform (an older client). */
const FLAT = Array.from({ length: 32 }, () => 30);
/** Arrow keys on the waveform move by this much. */
const SEEK_STEP_MS = 1_000;

/** Only one voice message plays at a time, as in every messenger. */
let playing: HTMLAudioElement | null = null;

/**
 * A voice message in its bubble: play/pause, the waveform as bars (the part played so far
 * highlighted, moving as it plays; a slider for the keyboard and for clicks) and the time left or its
 * length. Playing someone else's message marks it played for its sender. The microphone shows the
 * played state: on your own message, whether the recipients played it (in a group, all of them); on
 * another's, whether you have.
 */
export function VoicePlayer({ entry, media }: { entry: ChatEntry; media: MediaRef }) {
  const { client, users } = useApp();
  const urls = useMediaUrls(media.media_id);
  const audio = useRef<HTMLAudioElement>(null);
  const [isPlaying, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [failed, setFailed] = useState(false);
  const duration = media.duration_ms ?? 0;
  const bars = media.waveform?.length ? media.waveform : FLAT;
  const progress = duration > 0 ? Math.min(1, position / duration) : 0;

  const me = users.me.user_id;
  const recipients = client.conversation(entry.conversation_id)?.members.filter((m) => m.user_id !== entry.sender_id).length ?? 1;
  const playedBy = entry.played_by ?? [];
  const played = entry.own ? playedBy.length > 0 && playedBy.length >= recipients : playedBy.includes(me);
  const playedLabel = entry.own
    ? played
      ? "Played"
      : playedBy.length > 0
        ? `Played by ${playedBy.length} of ${recipients}`
        : "Not played yet"
    : played
      ? "You played this"
      : "Not played yet";

  // The position follows the audio every frame while it plays, so the highlight moves smoothly.
  useEffect(() => {
    if (!isPlaying) return;
    let frame = requestAnimationFrame(function follow() {
      if (audio.current) setPosition(audio.current.currentTime * 1000);
      frame = requestAnimationFrame(follow);
    });
    return () => cancelAnimationFrame(frame);
  }, [isPlaying]);

  useEffect(
    () => () => {
      if (playing === audio.current) playing = null;
    },
    [],
  );

  async function toggle() {
    const el = audio.current;
    if (!el) return;
    if (!el.paused) return el.pause();
    if (playing && playing !== el) playing.pause();
    playing = el;
    if (duration > 0 && el.currentTime * 1000 >= duration - 50) el.currentTime = 0;
    try {
      await el.play();
    } catch {
      return setFailed(true);
    }
    if (!entry.own && entry.server_msg_id && !playedBy.includes(me)) {
      client.markPlayed(entry.conversation_id, entry.server_msg_id).catch(() => {
        // Deleted meanwhile, or the SDK already knows it was played: nothing to tell the listener.
      });
    }
  }

  function seek(ms: number) {
    const el = audio.current;
    if (!el || duration <= 0) return;
    const to = Math.max(0, Math.min(duration, ms));
    el.currentTime = to / 1000;
    setPosition(to);
  }

  const shown = isPlaying || position > 0 ? position : duration;
  return (
    <div class={`voice-player${entry.own ? " own" : ""}${played ? " played" : ""}`} data-testid="voice-player" data-played={String(played)}>
      <button
        type="button"
        class="voice-play"
        aria-label={isPlaying ? "Pause voice message" : `Play voice message, ${durationWords(duration)}`}
        disabled={!urls || failed}
        data-testid="voice-play"
        onClick={() => void toggle()}
      >
        {isPlaying ? <PauseIcon /> : <PlayIcon />}
      </button>
      <div class="voice-body">
        <div
          class="voice-waveform"
          role="slider"
          tabIndex={0}
          aria-label="Voice message position"
          aria-valuemin={0}
          aria-valuemax={Math.round(duration / 1000)}
          aria-valuenow={Math.round(position / 1000)}
          aria-valuetext={`${durationText(position)} of ${durationText(duration)}`}
          data-testid="voice-waveform"
          onClick={(e) => {
            const box = e.currentTarget.getBoundingClientRect();
            seek(((e.clientX - box.left) / box.width) * duration);
          }}
          onKeyDown={(e) => {
            const moves: Record<string, number> = { ArrowRight: SEEK_STEP_MS, ArrowUp: SEEK_STEP_MS, ArrowLeft: -SEEK_STEP_MS, ArrowDown: -SEEK_STEP_MS };
            if (e.key in moves) {
              e.preventDefault();
              seek(position + moves[e.key]!);
            } else if (e.key === "Home" || e.key === "End") {
              e.preventDefault();
              seek(e.key === "Home" ? 0 : duration);
            } else if (e.key === " " || e.key === "Enter") {
              e.preventDefault();
              void toggle();
            }
          }}
        >
          {bars.map((level, i) => (
            <span key={i} class={(i + 0.5) / bars.length <= progress ? "bar heard" : "bar"} style={{ height: `${Math.max(10, level)}%` }} data-testid="voice-bar" />
          ))}
        </div>
        <div class="voice-info">
          <span class="voice-time" data-testid="voice-duration">
            {failed ? "Can't play this recording" : durationText(shown)}
          </span>
        </div>
      </div>
      <span class="voice-mic" role="img" aria-label={playedLabel} title={playedLabel} data-testid="voice-played">
        <MicIcon />
      </span>
      {urls && (
        <audio
          ref={audio}
          src={urls.url}
          preload="metadata"
          onPlay={() => setPlaying(true)}
          onPause={() => setPlaying(false)}
          onEnded={() => {
            setPlaying(false);
            setPosition(0);
          }}
          onError={() => setFailed(true)}
        />
      )}
    </div>
  );
}
