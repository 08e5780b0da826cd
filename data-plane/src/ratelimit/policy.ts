/**
 * Where rate-limit counters live (Kong's `policy`): the interface every policy implements, so the
 * rate-limiting plugins never know which one holds their counts. `local` keeps them in the DP's
 * node (one limit per node, shared by all workers: in the worker when it is the only one, else
 * leased out by the primary), `redis` in Redis with atomic
 * scripts, `cluster` locally with deltas exchanged between DPs over NATS.
 */

/** One counter: a limit key (plugin instance + identifier) in one window. */
export interface CounterHit {
  /** The limit key, e.g. `<plugin id>:<identifier>` (opaque to the policy). */
  readonly key: string;
  /** The window's length in seconds (1, 60, 3600, 86400, 2592000, 31536000). */
  readonly windowSeconds: number;
  /** The window's start, epoch milliseconds (fixed windows are aligned as Kong aligns them). */
  readonly windowStart: number;
}

export interface RateLimitPolicy {
  /** The policy's Kong name: `local`, `cluster` or `redis`. */
  readonly name: string;
  /**
   * Adds `amount` to each counter and answers each counter's value after the add, in order.
   * Rejects when the backing store cannot answer (the plugin applies `fault_tolerant`).
   */
  increment(hits: readonly CounterHit[], amount: number): Promise<number[]>;
  /**
   * Admits one request against `limits[i]` of each counter: answers the counts `increment(hits, 1)`
   * would, and keeps the add only when every count before it is under its limit (Kong's rule;
   * nothing to take back on a refusal). Synchronous when the policy can decide in this process.
   * Optional: a policy without it is used through `increment` (and `-1` on a refusal).
   */
  admit?(hits: readonly CounterHit[], limits: readonly number[]): number[] | Promise<number[]>;
  /** Each counter's current value without adding (0 for a counter never hit). */
  usage(hits: readonly CounterHit[]): Promise<number[]>;
  /** Releases connections and timers; the policy is not used afterwards. */
  close(): Promise<void>;
}
