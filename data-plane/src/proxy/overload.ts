/**
 * Load shedding (chaos F24: a DP offered twice what it can serve answers the excess at once with
 * 503 and `Retry-After`, rather than queueing everything until clients time out). One guard per
 * worker, with two signals, each off at 0:
 *
 * - **Requests in flight** (`maxConcurrentRequests`): a request arriving while that many of this
 *   worker's are unanswered is shed. Concurrency is what grows first when a worker falls behind
 *   (Little's law: in flight = rate × latency), and a cap keeps the latency of the requests it
 *   serves bounded, like Envoy's overload manager on downstream requests.
 * - **Event-loop delay** (`maxEventLoopDelayMs`, on by default at 250 ms): a timer measures how
 *   late it fires every 50 ms. When two samples in a row are later than the bound, the worker
 *   sheds every new request for the next 250 ms (five samples), and again while the delay stays
 *   over. The delay is how long an arrived request waits before the worker reads it: it grows with
 *   CPU saturation (many requests per loop turn, each costly), not with a slow upstream (waiting
 *   costs no CPU), so it sheds the overload a worker can do something about (toobusy-js and
 *   @fastify/under-pressure use the same signal). Two samples, so one long turn (compiling a large
 *   configuration, a GC pause) sheds nothing; a hold, because shedding makes the next turns cheap
 *   and the delay falls at once, while the backlog that caused it is still there: the hold answers
 *   that backlog with 503s instead of serving it late.
 *
 * Shedding happens before the request head is read, so a shed request costs a fraction of a
 * proxied one; the answer is the error table's GH_ERR_PROXY_OVERLOADED. The status port is served
 * by the primary, which sheds nothing, so health checks keep answering (docs/data-plane.md,
 * "Overload"). No per-request allocation: the in-flight count uses one `close` listener shared by
 * every response of the worker, and only when the cap is on.
 */
import type { ServerResponse } from 'node:http';
import type { ClientLimits } from './client-connections.js';

/** The two signals' bounds, part of the client limits (`--max-concurrent-requests`, `--max-event-loop-delay`). */
export type OverloadSettings = Pick<ClientLimits, 'maxConcurrentRequests' | 'maxEventLoopDelayMs'>;

/** How often the event-loop delay is sampled. */
const SAMPLE_MS = 50;
/** Samples the worker keeps shedding for once the delay was over its bound twice in a row. */
const HOLD_SAMPLES = 5;

export class OverloadGuard {
  /** Requests of this worker answered 503 by the guard. */
  shed = 0;
  private inFlight = 0;
  /** The last event-loop delay sample (ms). */
  private lagMs = 0;
  /** Samples left to shed for (HOLD_SAMPLES after two late samples in a row). */
  private holdLeft = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly max: number;
  private readonly maxLagMs: number;
  private readonly onClose = (): void => {
    this.inFlight--;
  };

  constructor(settings: OverloadSettings) {
    this.max = settings.maxConcurrentRequests;
    this.maxLagMs = settings.maxEventLoopDelayMs;
  }

  /** Whether any signal is on (the server skips the guard otherwise). */
  get enabled(): boolean {
    return this.max > 0 || this.maxLagMs > 0;
  }

  /** Requests counted in flight now (0 when the cap is off: nothing is counted). */
  get concurrent(): number {
    return this.inFlight;
  }

  /** Whether new requests are being shed for the event-loop delay. */
  get lagging(): boolean {
    return this.holdLeft > 0;
  }

  /** The last event-loop delay sample, in ms. */
  get eventLoopDelayMs(): number {
    return this.lagMs;
  }

  /** Starts sampling the event loop (when that signal is on). */
  start(): void {
    if (this.maxLagMs <= 0 || this.timer !== null) return;
    let due = performance.now() + SAMPLE_MS;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.sample(now - due);
      due = now + SAMPLE_MS;
    }, SAMPLE_MS);
    this.timer.unref();
  }

  /** Takes one event-loop delay sample (the timer's; tests feed their own). */
  sample(lagMs: number): void {
    const lag = lagMs > 0 ? lagMs : 0; // NaN and negatives: not late
    if (this.maxLagMs > 0 && lag > this.maxLagMs && this.lagMs > this.maxLagMs) this.holdLeft = HOLD_SAMPLES;
    else if (this.holdLeft > 0) this.holdLeft--;
    this.lagMs = lag;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.lagMs = 0;
    this.holdLeft = 0;
  }

  /**
   * Whether `res`'s request may be served: false means shed it (counted). When it may, and the
   * cap is on, the request counts as in flight until its response closes.
   */
  admit(res: ServerResponse): boolean {
    if ((this.max > 0 && this.inFlight >= this.max) || this.holdLeft > 0) {
      this.shed++;
      return false;
    }
    if (this.max > 0) {
      this.inFlight++;
      res.on('close', this.onClose);
    }
    return true;
  }
}
