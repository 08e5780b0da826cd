/**
 * Login throttling (docs/security.md, "Login throttling"): a client address whose requests fail
 * authentication `maxFailures` times within `windowMs` gets 429 (Kong's `{message}` shape, with
 * `Retry-After`) until that window ends, whatever token it sends then. A success does not reset
 * the count, so a client holding one valid token cannot keep guessing others. Counted in memory, per control-plane process: N replicas behind a load
 * balancer allow up to N times the failures. At most `maxClients` addresses are tracked; when
 * more fail at once the oldest entries are dropped.
 */
export interface LoginThrottleOptions {
  /** Failures allowed per window; 0 turns throttling off. */
  maxFailures: number;
  windowMs: number;
  maxClients?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  /** When the window (and any block) ends, in ms. */
  until: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxClients: number;

  constructor(private readonly o: LoginThrottleOptions) {
    if (!Number.isInteger(o.maxFailures) || o.maxFailures < 0) throw new RangeError('maxFailures');
    if (!Number.isFinite(o.windowMs) || o.windowMs <= 0) throw new RangeError('windowMs');
    this.now = o.now ?? Date.now;
    this.maxClients = o.maxClients ?? 10_000;
  }

  /** Seconds until `client` may try again, or 0 when it may now. */
  retryAfter(client: string): number {
    if (this.o.maxFailures === 0) return 0;
    const e = this.entries.get(client);
    if (!e) return 0;
    const left = e.until - this.now();
    if (left <= 0) {
      this.entries.delete(client);
      return 0;
    }
    return e.failures >= this.o.maxFailures ? Math.ceil(left / 1000) : 0;
  }

  failed(client: string): void {
    if (this.o.maxFailures === 0) return;
    const now = this.now();
    const e = this.entries.get(client);
    if (e && e.until > now) {
      e.failures++;
      return;
    }
    this.entries.delete(client);
    if (this.entries.size >= this.maxClients) this.prune(now);
    this.entries.set(client, { failures: 1, until: now + this.o.windowMs });
  }

  /** Drops ended windows, then (still full) the oldest entries. */
  private prune(now: number): void {
    for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
    for (const k of this.entries.keys()) {
      if (this.entries.size < this.maxClients) break;
      this.entries.delete(k);
    }
  }
}
