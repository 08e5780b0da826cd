/**
 * Exponential backoff with "equal-ish" jitter, for a data plane reconnecting to its control plane
 * (and any other retry loop of the DP). The n-th delay is drawn uniformly in
 * [floor × ceiling, ceiling), where the ceiling is min(maxMs, baseMs × 2^n): never near 0, so a CP
 * that closes a stream (a redeploy, a crash) is not hammered at once, and still spread over a
 * fifth of the ceiling, so a fleet that lost the same CP does not reconnect in lock-step (AWS
 * architecture blog, "Exponential Backoff And Jitter", between its "equal" and "full" jitter).
 *
 * The schedule starts over only once a connection has been up for `stableAfterMs`
 * (`connected()`, then `next()` when it is lost): a flapping CP that accepts a stream and loses
 * it again a few seconds later keeps its DPs at the ceiling instead of resetting them to the base
 * at every cycle (reconnect-storm bound F5 of the fault matrix).
 */
export interface BackoffSchedule {
  /** First ceiling, in ms. */
  readonly baseMs: number;
  /** Largest ceiling, in ms. */
  readonly maxMs: number;
  /** Each delay is at least this share of its ceiling, in [0, 1]. */
  readonly floor: number;
  /** A connection up this long (ms) resets the schedule to the base when it is lost. */
  readonly stableAfterMs: number;
}

/**
 * The DP's reconnect schedule, chosen against the fault matrix (../shared/research/reliability.md
 * §7; docs/chaos.md has the figures):
 * - F4: the first retry after a lost stream is 2–2.5 s, within 0.5–2× the base;
 * - F1: the ceiling is 4.5 s (the base doubled, capped), so a DP whose CP was down a while dials
 *   it again within 4.5 s of it answering: resync ≤ 5 s, with room for the connection itself (a
 *   5 s ceiling would make that bound a coin toss at its edge);
 * - F5: a CP that flaps (down 5 s, up 5 s) sees at most 2 attempts per DP per cycle: 2 + 3.6 s
 *   from a fresh schedule, 3.6 + 3.6 s at the ceiling, where it stays while the CP flaps since
 *   the schedule starts over only after a stream stable for 10 s;
 * - at the ceiling a DP makes at most 17 attempts a minute (60 / 3.6), spread over 0.9 s.
 */
export const RECONNECT_BACKOFF: BackoffSchedule = Object.freeze({
  baseMs: 2_500,
  maxMs: 4_500,
  floor: 0.8,
  stableAfterMs: 10_000,
});

export interface BackoffOptions extends Partial<BackoffSchedule> {
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
  /** Monotonic clock in ms (default performance.now); injectable for tests. */
  now?: () => number;
}

/** Options a Backoff cannot work with (a programming or configuration error, not a runtime one). */
export class BackoffOptionsError extends RangeError {
  readonly code = 'GH_ERR_DP_BACKOFF_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'BackoffOptionsError';
  }
}

function check(s: BackoffSchedule): void {
  const problems: string[] = [];
  if (!(Number.isFinite(s.baseMs) && s.baseMs > 0)) problems.push(`baseMs must be > 0 (got ${s.baseMs})`);
  if (!(Number.isFinite(s.maxMs) && s.maxMs >= s.baseMs))
    problems.push(`maxMs must be finite and >= baseMs (got ${s.maxMs})`);
  if (!(s.floor >= 0 && s.floor <= 1)) problems.push(`floor must be in [0, 1] (got ${s.floor})`);
  if (!(Number.isFinite(s.stableAfterMs) && s.stableAfterMs >= 0))
    problems.push(`stableAfterMs must be finite and >= 0 (got ${s.stableAfterMs})`);
  if (problems.length > 0) throw new BackoffOptionsError(`backoff: ${problems.join('; ')}`);
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly floor: number;
  readonly stableAfterMs: number;
  private readonly random: () => number;
  private readonly now: () => number;
  private exponent = 0;
  private count = 0;
  /** When the current connection came up (connected()), or null when there is none. */
  private upSince: number | null = null;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? RECONNECT_BACKOFF.baseMs;
    // A base above the default ceiling (a retry loop with its own pace) is its own ceiling.
    this.maxMs = options.maxMs ?? Math.max(RECONNECT_BACKOFF.maxMs, this.baseMs);
    this.floor = options.floor ?? RECONNECT_BACKOFF.floor;
    this.stableAfterMs = options.stableAfterMs ?? RECONNECT_BACKOFF.stableAfterMs;
    check(this);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
  }

  /** The ceiling the next delay is drawn under. */
  get ceilingMs(): number {
    // 2^exponent overflows to Infinity long after it passes maxMs; Math.min keeps it bounded.
    return Math.min(this.maxMs, this.baseMs * 2 ** this.exponent);
  }

  /** Number of delays handed out since the last reset. */
  get attempts(): number {
    return this.count;
  }

  /** A connection is up: if it lasts `stableAfterMs`, the next delay starts from the base again. */
  connected(): void {
    this.upSince = this.now();
  }

  /**
   * The next delay, in whole ms, in [floor × ceiling, ceiling] (the connection, if any, is lost);
   * each call doubles the ceiling up to maxMs.
   */
  next(): number {
    if (this.upSince !== null && this.now() - this.upSince >= this.stableAfterMs) this.reset();
    this.upSince = null;
    const ceiling = this.ceilingMs;
    const r = Math.min(Math.max(this.random(), 0), 1);
    const delay = Math.round(ceiling * (this.floor + (1 - this.floor) * r));
    this.count += 1;
    if (ceiling < this.maxMs) this.exponent += 1;
    return Math.min(Math.max(delay, Math.ceil(this.floor * ceiling)), ceiling);
  }

  /** Back to the first ceiling. */
  reset(): void {
    this.exponent = 0;
    this.count = 0;
    this.upSince = null;
  }
}
