/**
 * Seeded randomness for the scale model: the same seed gives the same population, bit for bit, on
 * any machine (no Math.random anywhere in bench/scale).
 */

/** sfc32, seeded through splitmix32: fast, 128 bits of state, good enough for Monte Carlo. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box–Muller, the second value kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Lognormal given its median and the σ of its logarithm. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  binomial(n: number, p: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (this.next() < p) k++;
    return k;
  }
}

/**
 * Picks index i with probability weights[i] / Σ weights in O(1): Walker's alias method (one uniform
 * picks a column, a second decides between it and its alias).
 */
export class WeightedPicker {
  private readonly probability: Float64Array;
  private readonly alias: Int32Array;

  constructor(
    weights: ArrayLike<number>,
    /** What a pick returns: `ids[i]` (e.g. user indices of one region), or i itself. */
    private readonly ids?: ArrayLike<number>,
  ) {
    const n = weights.length;
    if (n === 0) throw new Error("nothing to pick from");
    this.probability = new Float64Array(n);
    this.alias = new Int32Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += weights[i]!;
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i]! * n) / sum;
      if (scaled[i]! < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns]!;
      const l = large[nl - 1]!;
      this.probability[s] = scaled[s]!;
      this.alias[s] = l;
      scaled[l] = scaled[l]! + scaled[s]! - 1;
      if (scaled[l]! < 1) {
        nl--;
        small[ns++] = l;
      }
    }
    while (nl > 0) this.probability[large[--nl]!] = 1;
    while (ns > 0) this.probability[small[--ns]!] = 1; // rounding leftovers
  }

  pick(rng: Rng): number {
    const i = rng.int(this.probability.length);
    const k = rng.next() < this.probability[i]! ? i : this.alias[i]!;
    return this.ids ? this.ids[k]! : k;
  }
}

/** A discrete power law on [min, max]: P(k) ∝ k^(−alpha). */
export function powerLaw(min: number, max: number, alpha: number): WeightedPicker {
  const values = new Int32Array(max - min + 1);
  const weights = new Float64Array(values.length);
  for (let k = min; k <= max; k++) {
    values[k - min] = k;
    weights[k - min] = k ** -alpha;
  }
  return new WeightedPicker(weights, values);
}
