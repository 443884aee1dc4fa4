import { useEffect, useRef, useState } from "preact/hooks";
import { Limits } from "../../../../src/client";
import { useApp } from "../../context";
import { errorText } from "../../errors";
import { measure, microphoneError, MIN_RECORDING_MS, recordingType, recordingUnavailable } from "../../voice";
import { durationText } from "../../waveform";
import { MicIcon, SendIcon, TrashIcon } from "../icons";

interface Props {
  conversationId: string;
  /** Something to tell the user: the microphone is blocked, the recording was too short, the send failed. */
  onError(message: string | null): void;
  onSent(): void;
}

/** Live bars shown while recording: the newest levels, scrolling left. */
const LIVE_BARS = 36;
/** How often the analyser is read and the clock redrawn. */
const TICK_MS = 50;
const SPEECH_BITS_PER_SECOND = 32_000;

interface Recording {
  stream: MediaStream;
  recorder: MediaRecorder;
  chunks: Blob[];
  context: AudioContext;
  analyser: AnalyserNode;
  /** One loudness level per tick, for the waveform if the recording cannot be decoded. */
  heard: number[];
  startedAt: number;
  timer: ReturnType<typeof setInterval>;
}

/**
 * The microphone button of an empty composer. Pressing it asks for the microphone and records
 * (MediaRecorder, Opus where the browser has it); a bar over the composer then shows the elapsed
 * time and the live level, with Cancel (or Escape) and Send. Sending measures the recording's
 * length and waveform and sends it through the SDK like any media.
 */
export function VoiceRecorder({ conversationId, onError, onSent }: Props) {
  const { client } = useApp();
  const [phase, setPhase] = useState<"idle" | "starting" | "recording">("idle");
  const [elapsed, setElapsed] = useState(0);
  const [live, setLive] = useState<number[]>([]);
  const recording = useRef<Recording | null>(null);
  const sendButton = useRef<HTMLButtonElement>(null);
  const micButton = useRef<HTMLButtonElement>(null);

  // Leaving the chat mid-recording throws the recording away and lets the microphone go.
  useEffect(() => () => void finish(false), [conversationId]);
  useEffect(() => {
    if (phase === "recording") sendButton.current?.focus();
  }, [phase]);

  async function start() {
    const unavailable = recordingUnavailable();
    if (unavailable) return onError(unavailable);
    onError(null);
    setPhase("starting");
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true } });
    } catch (err) {
      setPhase("idle");
      return onError(microphoneError(err));
    }
    const type = recordingType();
    // Speech-quality Opus: an hour stays under the audio size limit (browsers default to 128 kbit/s).
    const recorder = new MediaRecorder(stream, { audioBitsPerSecond: SPEECH_BITS_PER_SECOND, ...(type ? { mimeType: type } : {}) });
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const rec: Recording = {
      stream,
      recorder,
      chunks: [],
      context,
      analyser,
      heard: [],
      startedAt: performance.now(),
      timer: setInterval(() => {
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const s of samples) sum += s * s;
        rec.heard.push(Math.sqrt(sum / samples.length));
        const elapsed = performance.now() - rec.startedAt;
        setElapsed(elapsed);
        setLive(rec.heard.slice(-LIVE_BARS));
        // The longest a voice message may be: it is sent as it stands.
        if (elapsed >= Limits.voiceMaxDurationMs - 1_000) void finish(true);
      }, TICK_MS),
    };
    recorder.ondataavailable = (e) => {
      if (e.data.size > 0) rec.chunks.push(e.data);
    };
    recording.current = rec;
    recorder.start(250);
    setElapsed(0);
    setLive([]);
    setPhase("recording");
  }

  /** Stops recording; with `send`, measures and sends what was recorded. */
  async function finish(send: boolean) {
    const rec = recording.current;
    if (!rec) return;
    recording.current = null;
    clearInterval(rec.timer);
    const elapsedMs = performance.now() - rec.startedAt;
    const stopped = new Promise<void>((resolve) => (rec.recorder.onstop = () => resolve()));
    if (rec.recorder.state !== "inactive") rec.recorder.stop();
    for (const track of rec.stream.getTracks()) track.stop();
    void rec.context.close();
    setPhase("idle");
    micButton.current?.focus();
    if (!send) return;
    await stopped;
    if (elapsedMs < MIN_RECORDING_MS) return onError("Hold on a little longer: that recording was too short to send.");
    const blob = new Blob(rec.chunks, { type: rec.recorder.mimeType || rec.chunks[0]?.type || "audio/webm" });
    onSent();
    try {
      const info = await measure(blob, rec.heard, elapsedMs);
      await client.sendVoice(conversationId, blob, info);
    } catch (err) {
      onError(`The voice message wasn't sent: ${errorText(err)}`);
    }
  }

  if (phase !== "recording") {
    return (
      <button
        ref={micButton}
        type="button"
        class="send-button mic-button"
        aria-label="Record a voice message"
        title="Record a voice message"
        disabled={phase === "starting"}
        data-testid="record-voice"
        onClick={() => void start()}
      >
        <MicIcon />
      </button>
    );
  }
  const peak = Math.max(...live, 0.02);
  return (
    <div
      class="voice-recording"
      role="group"
      aria-label="Recording a voice message"
      data-testid="voice-recording"
      onKeyDown={(e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          void finish(false);
        }
      }}
    >
      <button type="button" class="icon-button" aria-label="Cancel recording" title="Cancel (Esc)" onClick={() => void finish(false)}>
        <TrashIcon />
      </button>
      <span class="recording-dot" aria-hidden="true" />
      {/* A name of its own would hide the time it tells: the label is read before it instead. */}
      <span class="sr-only">Recording time</span>
      <span class="recording-time" role="timer" data-testid="recording-time">
        {durationText(elapsed)}
      </span>
      <span class="recording-levels" aria-hidden="true">
        {live.map((level, i) => (
          <span key={i} style={{ height: `${Math.max(8, Math.min(100, (level / peak) * 100))}%` }} />
        ))}
      </span>
      <button ref={sendButton} type="button" class="send-button" aria-label="Send voice message" data-testid="send-voice" onClick={() => void finish(true)}>
        <SendIcon />
      </button>
    </div>
  );
}
