/**
 * A token bucket: `capacity` actions at once, refilled at `perSecond`. Held in memory by the object
 * that owns the identity being limited (after an eviction it starts full again, which only ever
 * errs toward letting a user send).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    now = Date.now(),
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  take(count = 1, now = Date.now()): boolean {
    this.refill(now);
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }

  /** As many of `count` as there are whole tokens for (the first ones of a batch go, the rest wait). */
  takeUpTo(count: number, now = Date.now()): number {
    this.refill(now);
    const granted = Math.max(0, Math.min(count, Math.floor(this.tokens)));
    this.tokens -= granted;
    return granted;
  }

  private refill(now: number) {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
  }
}

/** One bucket per key (e.g. per sender), created full on first use and dropped when idle and full. */
export class TokenBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {}

  take(key: string, count = 1, now = Date.now()): boolean {
    return this.bucket(key, now).take(count, now);
  }

  takeUpTo(key: string, count: number, now = Date.now()): number {
    return this.bucket(key, now).takeUpTo(count, now);
  }

  private bucket(key: string, now: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size > 10_000) this.buckets.clear();
      this.buckets.set(key, (bucket = new TokenBucket(this.capacity, this.perSecond, now)));
    }
    return bucket;
  }
}
