/**
 * Load shedding (chaos F24: a DP offered twice what it can serve answers the excess at once with
 * 503 and `Retry-After`, rather than queueing everything until clients time out). One guard per
 * worker, with three signals, each off at 0:
 *
 * - **Sustained event-loop delay** (`maxEventLoopDelayMs`, off by default since 7 Dec 2026; 50 ms before): a timer
 *   measures how late it fires every 50 ms, and the CPU the worker used since its last run (share
 *   of one core). A sample is *late* when it fired more than the bound late. When late samples
 *   follow one another for 500 ms (`DELAY_INTERVAL_MS`: the first one's delay, then 50 ms plus the
 *   delay of each next one), there are at least two of them, and the worker used at least 0.4 of
 *   a core over them, and requests arrived meanwhile (a loop late from other work while no request
 *   waits is no queue), the worker sheds every new request for the next 250 ms (five
 *   samples), and again while the delay stays over. This is CoDel's rule on a worker: a standing
 *   queue (every request waits, for an interval), not a burst. The delay is how long an arrived
 *   request waits before the worker reads it: it grows with CPU saturation (many requests per
 *   loop turn, each costly), not with a slow upstream (waiting costs no CPU). Two samples, so one
 *   long turn (compiling a large configuration, a GC pause) sheds nothing; the CPU share, so a
 *   worker that is merely late because a busy machine gives it little CPU (its event-loop
 *   utilization then reads high too: preempted mid-turn, its turns stretch)
 *   sheds nothing; a hold, because shedding makes the next turns cheap and the delay falls at
 *   once while the backlog that caused it is still there: the hold answers that backlog with
 *   503s instead of serving it late. Measured (docs/data-plane.md, "Overload"): a worker at 2× its
 *   capacity through 1,900 sockets ran 50–300 ms late on almost every sample and never 250 ms
 *   late twice in a row, which the previous rule (250 ms, twice) needed, so nothing was shed.
 * - **Queue time** (`maxQueueTimeMs`, on by default at 50 ms): node reads every ready socket in
 *   one loop turn, so a request read late in a turn was ready at least that long before the
 *   worker read it. A request read more than the bound after the first request of its turn, by a
 *   worker that used at least 0.4 of a core since the last sample, is shed: a saturated worker
 *   serves the bound's worth of each turn and answers the rest 503 at once. Measured (chaos F24,
 *   docs/chaos.md): with every connection accepted (listener-copies.ts) the hold of the delay
 *   signal alone sheds everything (shedding ~1,400 requests a turn itself keeps the loop late),
 *   where this serves part of every turn.
 * - **Requests in flight** (`maxConcurrentRequests`, off by default): a request arriving while
 *   that many of this worker's are unanswered is shed. Concurrency is rate × latency (Little's
 *   law), so a cap also sheds when upstreams are merely slow; it bounds memory and the latency of
 *   what is served whatever the cause, like Envoy's overload manager on downstream requests.
 *
 * Shedding happens before the request head is read, so a shed request costs a fraction of a
 * proxied one; the answer is the error table's GH_ERR_PROXY_OVERLOADED. Sheds are counted by
 * reason (`gatehouse_dp_requests_shed_total{reason}`). The status port is served by the primary,
 * which sheds nothing, so health checks keep answering (docs/data-plane.md, "Overload"). No
 * per-request allocation: the in-flight count uses one `close` listener shared by every response
 * of the worker, and only when the cap is on.
 */
import type { ServerResponse } from 'node:http';
import type { ClientLimits } from './client-connections.js';

/** The signals' bounds, part of the client limits (`--max-concurrent-requests`, `--max-event-loop-delay`, `--max-queue-time`; the last optional here: off when absent). */
export type OverloadSettings = Pick<ClientLimits, 'maxConcurrentRequests' | 'maxEventLoopDelayMs'> &
  Partial<Pick<ClientLimits, 'maxQueueTimeMs'>>;

/** Why a request was shed (the `reason` label of gatehouse_dp_requests_shed_total). */
export const SHED_REASONS = ['event_loop_delay', 'concurrency', 'queue_time'] as const;
export type ShedReason = (typeof SHED_REASONS)[number];

/** How often the event-loop delay is sampled. */
const SAMPLE_MS = 50;
/** How long late samples must follow one another before the worker sheds (CoDel's interval). */
export const DELAY_INTERVAL_MS = 500;
/**
 * CPU over a run of late samples (share of one core) at which it sheds: a worker doing the work,
 * not one a busy machine starves. Chaos F24 at 2×: ~0.9 on a quiet box, 0.5–0.7 on a busy one;
 * a worker at the chaos rows' normal load uses a few percent (docs/chaos.md, F24).
 */
const BUSY = 0.4;
/** Samples the worker keeps shedding for once the delay stayed over its bound for the interval. */
const HOLD_SAMPLES = 5;

export class OverloadGuard {
  /** Requests of this worker answered 503 by the guard, by reason (running totals). */
  readonly shedBy: Record<ShedReason, number> = { event_loop_delay: 0, concurrency: 0, queue_time: 0 };
  private inFlight = 0;
  /** The last event-loop delay sample (ms). */
  private lagMs = 0;
  /** Late samples in a row, and the time they cover (ms). */
  private lateRun = 0;
  private lateMs = 0;
  /** CPU the worker used over the run (ms). */
  private lateCpuMs = 0;
  /** Requests that reached the guard (admitted or shed), and how many had when the run began. */
  private arrivals = 0;
  private arrivalsBeforeRun = 0;
  /** Samples left to shed for (HOLD_SAMPLES once the late samples covered the interval). */
  private holdLeft = 0;
  private timer: NodeJS.Timeout | null = null;
  /**
   * Called once per loop turn that passes the queue-time bound on a busy worker, and when the
   * delay signal starts a hold: the proxy opens copies of its listening socket then
   * (listener-copies.ts), so connections waiting in the kernel are accepted and answered.
   */
  onSaturated: (() => void) | null = null;
  private readonly max: number;
  private readonly maxLagMs: number;
  private readonly maxQueueMs: number;
  /** performance.now() of the first request read in the current loop turn; -1: none yet. */
  private turnStart = -1;
  /** The current turn: 0 within the queue-time bound, 1 past it on a busy worker (shed), 2 past it, not busy. */
  private turnState = 0;
  /**
   * Ends the turn: an immediate armed by each turn's first request, which runs in the check phase
   * right after the poll phase that read the turn's requests. (A 1 ms timer did the same job and
   * woke the event loop once more per turn: +20 µs of CPU per request at one request per turn,
   * +3 µs at 16 in flight, in-process A/B.)
   */
  private turnImmediate: NodeJS.Immediate | null = null;
  private readonly endTurn = (): void => {
    this.turnImmediate = null;
    this.turnStart = -1;
    this.turnState = 0;
  };
  /** The worker's CPU at the last sample, and when (the queue-time signal's busy check). */
  private cpuAt: NodeJS.CpuUsage = process.cpuUsage();
  private cpuAtMs = performance.now();
  private readonly onClose = (): void => {
    this.inFlight--;
  };

  constructor(settings: OverloadSettings) {
    this.max = settings.maxConcurrentRequests;
    this.maxLagMs = settings.maxEventLoopDelayMs;
    const q = settings.maxQueueTimeMs ?? 0;
    this.maxQueueMs = q > 0 ? q : 0; // NaN and negatives: off
  }

  /** Whether any signal is on (the server skips the guard otherwise). */
  get enabled(): boolean {
    return this.max > 0 || this.maxLagMs > 0 || this.maxQueueMs > 0;
  }

  /** Requests of this worker answered 503 by the guard, every reason. */
  get shed(): number {
    return this.shedBy.event_loop_delay + this.shedBy.concurrency + this.shedBy.queue_time;
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
    if ((this.maxLagMs <= 0 && this.maxQueueMs <= 0) || this.timer !== null) return;
    let due = performance.now() + SAMPLE_MS;
    this.cpuAt = process.cpuUsage();
    this.cpuAtMs = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const used = process.cpuUsage(this.cpuAt);
      this.cpuAt = process.cpuUsage();
      this.cpuAtMs = now;
      // µs of CPU over ms of wall since the previous run (due - SAMPLE_MS).
      this.sample(now - due, (used.user + used.system) / 1000 / (now - due + SAMPLE_MS));
      due = now + SAMPLE_MS;
    }, SAMPLE_MS);
    this.timer.unref();
  }

  /**
   * The worker's CPU since the last sample, as a share of one core (the queue-time signal's check
   * that the worker is doing the work, not starved by a busy machine). Read once per turn that
   * passes the bound.
   */
  protected busyShare(now: number): number {
    const used = process.cpuUsage(this.cpuAt);
    const wall = now - this.cpuAtMs;
    return wall > 0 ? (used.user + used.system) / 1000 / wall : 0;
  }

  /**
   * Whether the request being read waited past the queue-time bound: it is read more than
   * `maxQueueTimeMs` after the first request of this loop turn, so it was ready (the poll that
   * began the turn reported it) at least that long before the worker read it. The first request
   * of a turn always passes; the check reads the clock, and the CPU once per turn past the bound.
   */
  private queued(now: number): boolean {
    if (this.turnStart < 0) {
      this.turnStart = now;
      this.turnState = 0;
      this.turnImmediate ??= setImmediate(this.endTurn);
      return false;
    }
    if (this.turnState === 0 && now - this.turnStart > this.maxQueueMs) {
      this.turnState = this.busyShare(now) >= BUSY ? 1 : 2;
      if (this.turnState === 1) this.onSaturated?.();
    }
    return this.turnState === 1;
  }

  /** Ends the current loop turn now (the turn timer's job; tests call it). */
  turnEnded(): void {
    this.endTurn();
  }

  /**
   * Takes one event-loop delay sample (the timer's; tests feed their own): how late it fired (ms)
   * and the CPU the worker used since the previous one (share of one core).
   */
  sample(lagMs: number, busy = 1): void {
    const lag = lagMs > 0 ? lagMs : 0; // NaN and negatives: not late
    const share = busy > 0 ? busy : 0;
    if (this.maxLagMs > 0 && lag > this.maxLagMs) {
      // The run's time, and the CPU over it (the first sample's period is its delay).
      const period = this.lateRun === 0 ? lag : SAMPLE_MS + lag;
      this.lateMs += period;
      this.lateCpuMs += share * period;
      this.lateRun++;
    } else {
      this.lateRun = 0;
      this.lateMs = 0;
      this.lateCpuMs = 0;
      this.arrivalsBeforeRun = this.arrivals;
    }
    // Requests must have arrived during the run: a loop late from other work of the process (an
    // import beside an in-process proxy, a compile) while no request waits is not a queue.
    if (
      this.lateRun >= 2 &&
      this.lateMs >= DELAY_INTERVAL_MS &&
      this.lateCpuMs >= BUSY * this.lateMs &&
      this.arrivals > this.arrivalsBeforeRun
    ) {
      if (this.holdLeft === 0) this.onSaturated?.();
      this.holdLeft = HOLD_SAMPLES;
    } else if (this.holdLeft > 0) this.holdLeft--;
    this.lagMs = lag;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.turnImmediate !== null) clearImmediate(this.turnImmediate);
    this.endTurn();
    this.lagMs = 0;
    this.lateRun = 0;
    this.lateMs = 0;
    this.lateCpuMs = 0;
    this.arrivalsBeforeRun = this.arrivals;
    this.holdLeft = 0;
  }

  /**
   * Whether `res`'s request may be served: false means shed it (counted). When it may, and the
   * cap is on, the request counts as in flight until its response closes.
   */
  admit(res: ServerResponse, now = this.maxQueueMs > 0 ? performance.now() : 0): boolean {
    this.arrivals++;
    if (this.holdLeft > 0) {
      this.shedBy.event_loop_delay++;
      return false;
    }
    if (this.maxQueueMs > 0 && this.queued(now)) {
      this.shedBy.queue_time++;
      return false;
    }
    if (this.max > 0 && this.inFlight >= this.max) {
      this.shedBy.concurrency++;
      return false;
    }
    if (this.max > 0) {
      this.inFlight++;
      res.on('close', this.onClose);
    }
    return true;
  }
}
