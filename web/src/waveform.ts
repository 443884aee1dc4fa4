/**
 * A voice message's waveform and length as the web client draws and writes them: plain arithmetic, no
 * browser APIs (unit-tested in test/unit/voice.test.ts).
 */

/** Bars the web client measures: as many as fit a bubble (the protocol allows up to Limits.waveformMaxBars). */
export const WAVEFORM_BARS = 40;

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
