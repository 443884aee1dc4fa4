import type { VoiceInfo } from "../../src/client";
import { downsample, levelsOf, normalise } from "./waveform";

/**
 * Voice messages in the browser: recording with MediaRecorder (Opus where the browser has it), the
 * waveform measured from the recording itself, and what to say when the microphone cannot be used.
 */

/** What MediaRecorder is asked for, best first: Chromium records WebM/Opus, Firefox Ogg/Opus, Safari MP4/AAC. */
const RECORDING_TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"];

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

/** Recordings up to this long are decoded for their waveform; longer ones use the live levels. */
const DECODE_MAX_MS = 5 * 60_000;

/**
 * The waveform and length of a finished recording: decoded (decodeAudioData) when the browser can
 * read what it recorded, else the levels the analyser heard while recording and the clock's length.
 */
export async function measure(recording: Blob, heard: number[], elapsedMs: number): Promise<VoiceInfo> {
  // Decoding a long recording whole would hold minutes of samples in memory for 40-odd bars.
  if (elapsedMs <= DECODE_MAX_MS) {
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
  }
  const waveform = heard.length > 0 ? normalise(downsample(heard)) : [0];
  return { duration_ms: Math.max(1, Math.round(elapsedMs)), waveform };
}
