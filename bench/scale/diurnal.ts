/**
 * When the day's messages happen. Each region follows the same local profile (quiet at night,
 * busiest at 21:00 local time); the global rate is their sum, shifted by time zone. The profile's
 * sharpness is set by its local peak ÷ local mean; the global peak comes out lower, because the
 * regions' evenings do not coincide. Every object is rated at the global peak hour.
 */

export interface Region {
  name: string;
  /** Hours ahead of UTC (a rough centre of the region's users). */
  utcOffset: number;
  /** Share of all users. */
  share: number;
}

/** Where a WhatsApp-scale user base lives, roughly (India, Brazil and Indonesia are its largest markets). */
export const regions: Region[] = [
  { name: "South Asia", utcOffset: 5.5, share: 0.27 },
  { name: "East & Southeast Asia, Oceania", utcOffset: 8, share: 0.2 },
  { name: "Europe, Africa, Middle East", utcOffset: 2, share: 0.28 },
  { name: "Americas", utcOffset: -4, share: 0.25 },
];

const LOCAL_PEAK_HOUR = 21;
const STEPS = 24 * 12; // 5-minute steps

/** Local activity at local hour h, relative to the local daily mean (mean 1 over 24 h). */
export function localProfile(h: number, kappa: number): number {
  return Math.exp(kappa * Math.cos((2 * Math.PI * (h - LOCAL_PEAK_HOUR)) / 24)) / besselI0(kappa);
}

function besselI0(x: number): number {
  // Series: Σ ((x/2)^k / k!)^2; converges fast for the κ used here.
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 200; k++) {
    term *= (x / 2 / k) ** 2;
    sum += term;
    if (term < 1e-15 * sum) break;
  }
  return sum;
}

function globalAt(utcHour: number, kappa: number): number {
  let g = 0;
  for (const r of regions) g += r.share * localProfile((((utcHour + r.utcOffset) % 24) + 24) % 24, kappa);
  return g;
}

export interface Diurnal {
  kappa: number;
  /** UTC hour of the global peak. */
  peakUtcHour: number;
  /** Global peak ÷ daily mean (what was asked for). */
  globalPeakFactor: number;
  /** A region's local peak ÷ its own daily mean. */
  localPeakFactor: number;
  /** Per region: its activity at the global peak hour ÷ its daily mean. */
  multiplier: number[];
  /** Per region: its activity then ÷ its own local peak (who is awake). */
  awake: number[];
}

/** The profile whose local peak is `localPeakFactor` × the local mean (bisection on κ, bounded). */
export function calibrate(localPeakFactor: number): Diurnal {
  if (!(localPeakFactor > 1 && localPeakFactor < 20)) throw new Error("the local peak factor must be between 1 and 20");
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 80; i++) {
    const mid = (lo + hi) / 2;
    if (localProfile(LOCAL_PEAK_HOUR, mid) < localPeakFactor) lo = mid;
    else hi = mid;
  }
  const kappa = hi;
  let best = 0;
  let hour = 0;
  for (let i = 0; i < STEPS; i++) {
    const h = (i * 24) / STEPS;
    const g = globalAt(h, kappa);
    if (g > best) [best, hour] = [g, h];
  }
  const localPeak = localProfile(LOCAL_PEAK_HOUR, kappa);
  const multiplier = regions.map((r) => localProfile((((hour + r.utcOffset) % 24) + 24) % 24, kappa));
  return {
    kappa,
    peakUtcHour: hour,
    globalPeakFactor: best,
    localPeakFactor: localPeak,
    multiplier,
    awake: multiplier.map((m) => m / localPeak),
  };
}
