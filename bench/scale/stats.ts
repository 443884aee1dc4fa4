/** Distribution summaries, and how the largest value grows when the population does. */

export interface Summary {
  /** Objects with a non-zero value (the others are idle at the peak). */
  count: number;
  mean: number;
  p50: number;
  p99: number;
  p9999: number;
  max: number;
  /** How many are at or above each threshold, in the sample. */
  above: Record<string, number>;
  /** Tail index of the top values (Hill), and the maximum it predicts at full scale. */
  tailIndex: number;
  maxAtFullScale: number;
}

/** Sorted ascending copy of the non-zero values. */
export function sortedNonZero(values: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > 0) n++;
  const out = new Float64Array(n);
  let j = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! > 0) out[j++] = values[i]!;
  return out.sort();
}

export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Hill's estimator of the tail index α from the top k values (a power-law tail P(X > x) ∝ x^−α),
 * and the value exceeded by one object in `scale` × as many: x_(k+1) · (k · scale)^(1/α).
 * A lognormal tail is thinner than any power law far out, so this over- rather than under-states.
 */
export function hillMax(sorted: Float64Array, scale: number, k = 200): { alpha: number; max: number } {
  const n = sorted.length;
  k = Math.min(k, n - 1);
  if (k < 10) return { alpha: NaN, max: sorted[n - 1] ?? 0 };
  const threshold = sorted[n - 1 - k]!;
  let sum = 0;
  for (let i = n - k; i < n; i++) sum += Math.log(sorted[i]! / threshold);
  const alpha = k / sum;
  return { alpha, max: threshold * (k * scale) ** (1 / alpha) };
}

export function summarise(values: ArrayLike<number>, thresholds: number[], scale: number): Summary {
  const sorted = sortedNonZero(values);
  let sum = 0;
  for (const v of sorted) sum += v;
  const above: Record<string, number> = {};
  for (const t of thresholds) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! >= t) hi = mid;
      else lo = mid + 1;
    }
    above[String(t)] = sorted.length - lo;
  }
  const tail = hillMax(sorted, scale);
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : 0,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p9999: quantile(sorted, 0.9999),
    max: sorted[sorted.length - 1] ?? 0,
    above,
    tailIndex: tail.alpha,
    maxAtFullScale: tail.max,
  };
}

/**
 * How the maximum grows with the number of objects, from one sample: split it into B interleaved
 * blocks (object i in block i mod B), each a population B times smaller, and average their maxima.
 * B = 1, 2, 4, … 2^levels. Returns the block size and mean maximum per level, smallest first.
 */
export function blockMaxima(values: ArrayLike<number>, levels: number): { share: number; max: number }[] {
  const out: { share: number; max: number }[] = [];
  for (let k = levels; k >= 0; k--) {
    const blocks = 2 ** k;
    const maxima = new Float64Array(blocks);
    for (let i = 0; i < values.length; i++) {
      const b = i % blocks;
      if (values[i]! > maxima[b]!) maxima[b] = values[i]!;
    }
    let sum = 0;
    for (const m of maxima) sum += m;
    out.push({ share: 1 / blocks, max: sum / blocks });
  }
  return out;
}

/** Least-squares slope of log(max) against log(size), and the maximum it predicts `scale` × further out. */
export function extrapolateMax(points: { share: number; max: number }[], scale: number): { slope: number; max: number } {
  const xs = points.map((p) => Math.log(p.share));
  const ys = points.map((p) => Math.log(Math.max(p.max, 1e-12)));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  const slope = den > 0 ? num / den : 0;
  const last = points[points.length - 1]!;
  return { slope, max: last.max * scale ** slope };
}
