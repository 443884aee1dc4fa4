import type { VoiceInfo } from "../../src/client";

/**
 * Voice messages in the browser: recording with MediaRecorder (Opus where the browser has it), the
 * waveform measured from the recording itself, and what to say when the microphone cannot be used.
 */

/** What MediaRecorder is asked for, best first: Chromium records WebM/Opus, Firefox Ogg/Opus, Safari MP4/AAC. */
const RECORDING_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];

/** Bars the web client measures: as many as fit a bubble (the protocol allows up to Limits.waveformMaxBars). */
export const WAVEFORM_BARS = 40;

/** Shorter recordings are a slip of the finger, not a message (WhatsApp discards them too). */
export const MIN_RECORDING_MS = 700;

export function recordingType(): string | undefined {
  return RECORDING_TYPES.find((t) => MediaRecorder.isTypeSupported(t));
}

/** Why recording cannot start, in words a user can act on; null when it can be tried. */
export function recordingUnavailable(): string | null {
  if (!window.isSecureContext) return "Voice messages need a secure (https) connection.";
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") return "This browser can't record voice messages.";
  return null;
}

/** What getUserMedia's refusal means for the user. */
export function microphoneError(err: unknown): string {
  const name = err instanceof DOMException ? err.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "Microphone access is blocked. Allow the microphone for this site in your browser's settings to record voice messages.";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") return "No microphone was found. Connect one and try again.";
  if (name === "NotReadableError" || name === "AbortError") return "The microphone is in use by another app, or not working.";
  return "The microphone could not be started.";
}

/**
 * Loudness levels of a recording, `bars` of them from 0 to 100: the RMS of each slice of the decoded
 * audio, scaled so the loudest slice is full height (a quiet recording still shows its shape).
 */
export function levelsOf(samples: Float32Array, bars = WAVEFORM_BARS): number[] {
  const count = Math.max(1, Math.min(bars, samples.length));
  const size = samples.length / count;
  const rms: number[] = [];
  for (let i = 0; i < count; i++) {
    let sum = 0;
    const from = Math.floor(i * size);
    const to = Math.max(from + 1, Math.floor((i + 1) * size));
    for (let j = from; j < to; j++) sum += samples[j]! * samples[j]!;
    rms.push(Math.sqrt(sum / (to - from)));
  }
  return normalise(rms);
}

/**
 * Scales levels to 0–100 integers, the loudest at 100, on a gentle curve (as ears hear loudness), so
 * quieter syllables still show beside a loud one.
 */
export function normalise(levels: number[]): number[] {
  const peak = Math.max(...levels, 1e-6);
  return levels.map((l) => Math.max(0, Math.min(100, Math.round((l / peak) ** 0.6 * 100))));
}

/** Averages live levels (one per animation frame) down to at most `bars` values. */
export function downsample(levels: number[], bars = WAVEFORM_BARS): number[] {
  if (levels.length <= bars) return levels;
  const size = levels.length / bars;
  return Array.from({ length: bars }, (_, i) => {
    const slice = levels.slice(Math.floor(i * size), Math.floor((i + 1) * size));
    return slice.reduce((a, b) => a + b, 0) / Math.max(1, slice.length);
  });
}

/**
 * The waveform and length of a finished recording: decoded (decodeAudioData) when the browser can
 * read what it recorded, else the levels the analyser heard while recording and the clock's length.
 */
export async function measure(recording: Blob, heard: number[], elapsedMs: number): Promise<VoiceInfo> {
  try {
    const context = new AudioContext();
    try {
      const audio = await context.decodeAudioData(await recording.arrayBuffer());
      const duration = Math.round(audio.duration * 1000);
      if (audio.length > 0 && Number.isFinite(duration) && duration > 0) return { duration_ms: duration, waveform: levelsOf(audio.getChannelData(0)) };
    } finally {
      void context.close();
    }
  } catch {
    // Not decodable here: the live levels are the next best thing.
  }
  const waveform = heard.length > 0 ? normalise(downsample(heard)) : [0];
  return { duration_ms: Math.max(1, Math.round(elapsedMs)), waveform };
}

/** "0:07", "1:05", "12:30". */
export function durationText(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

/** The same, for a screen reader: "7 seconds", "1 minute 5 seconds". */
export function durationWords(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  const part = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (minutes === 0) return part(seconds, "second");
  return seconds === 0 ? part(minutes, "minute") : `${part(minutes, "minute")} ${part(seconds, "second")}`;
}
