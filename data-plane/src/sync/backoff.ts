/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * the n-th delay is uniform in [0, min(max, base * 2^n)). Full jitter spreads a fleet of data
 * planes that lost the same control plane, so they do not reconnect in lock-step.
 */
export interface BackoffOptions {
  /** First ceiling, in ms (default 250). */
  baseMs?: number;
  /**
   * Largest ceiling, in ms (default 5 000): once a CP is back, a DP resyncs within ~5 s, and a
   * fleet still spreads its attempts evenly (about 24 a minute per DP at the ceiling).
   */
  maxMs?: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  private readonly random: () => number;
  private exponent = 0;
  private count = 0;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 250;
    this.maxMs = options.maxMs ?? 5_000;
    this.random = options.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.maxMs >= this.baseMs)) {
      throw new RangeError(`backoff needs 0 < baseMs <= maxMs (got ${this.baseMs}, ${this.maxMs})`);
    }
  }

  /** The ceiling the next delay is drawn under. */
  get ceilingMs(): number {
    // 2^attempt overflows to Infinity long after it passes maxMs; Math.min keeps it bounded.
    return Math.min(this.maxMs, this.baseMs * 2 ** this.exponent);
  }

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.count;
  }

  /** The next delay, in whole ms; each call doubles the ceiling up to maxMs. */
  next(): number {
    const ceiling = this.ceilingMs;
    const delay = Math.floor(this.random() * ceiling);
    this.count += 1;
    if (ceiling < this.maxMs) this.exponent += 1;
    return delay;
  }

  /** Back to the first ceiling (after a healthy connection). */
  reset(): void {
    this.exponent = 0;
    this.count = 0;
  }
}
