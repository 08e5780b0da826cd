/**
 * The decision and the headers of one request, from the counters (pure; plugin.ts does the I/O).
 * Kong's rules (kong/plugins/rate-limiting/handler.lua): a period stops the request when the
 * count before it has reached the limit; `X-RateLimit-Remaining-<Period>` is what is left after
 * this request (the stopping period shows 0, the others do not count the refused request);
 * `RateLimit-*` describe the period with the least left (the longer one on a tie), and
 * `RateLimit-Reset` / `Retry-After` are the seconds until that period lets a request through.
 * Everything that depends only on the configuration (header names, the limits as text) is made
 * once per plugin instance (`periodLimit`), so a request only formats its own numbers.
 */
import { PERIOD_TITLE, secondsUntil, type Period } from '../../ratelimit/windows.js';
import { previousWeight, slidingCount, slidingWaitMs } from '../../ratelimit/sliding.js';

export interface PeriodLimit {
  readonly period: Period;
  readonly limit: number;
  /** `limit` as the headers write it. */
  readonly limitText: string;
  readonly seconds: number;
  /** `X-RateLimit-Limit-<Period>`, `X-RateLimit-Remaining-<Period>` (Kong's case). */
  readonly limitHeader: string;
  readonly remainingHeader: string;
}

export function periodLimit(period: Period, limit: number, seconds: number): PeriodLimit {
  const title = PERIOD_TITLE[period];
  return {
    period,
    limit,
    limitText: String(limit),
    seconds,
    limitHeader: `X-RateLimit-Limit-${title}`,
    remainingHeader: `X-RateLimit-Remaining-${title}`,
  };
}

export interface Decision {
  /** The request is refused. */
  readonly stop: boolean;
  /** What each period has left after this request, as its `X-RateLimit-Remaining-*` says. */
  readonly remaining: readonly number[];
  /** The period the `RateLimit-*` headers describe (the least left, the longer on a tie). */
  readonly best: number;
  /** `RateLimit-Reset` (and `Retry-After` on a refusal): whole seconds, at least 1. */
  readonly reset: number;
}

/**
 * `counts[i]`: the period's counter after this request was added; `previous[i]`: the previous
 * window's counter (sliding windows; null for fixed); `starts[i]` / `ends[i]`: the window.
 */
export function decide(
  limits: readonly PeriodLimit[],
  counts: readonly number[],
  previous: readonly number[] | null,
  starts: readonly number[],
  ends: readonly number[],
  now: number,
): Decision {
  const n = limits.length;
  const before = new Array<number>(n);
  let stop = false;
  for (let i = 0; i < n; i += 1) {
    const current = counts[i]! - 1;
    before[i] =
      previous === null
        ? current
        : slidingCount(current, previous[i]!, previousWeight(now, starts[i]!, ends[i]!));
    if (before[i]! >= limits[i]!.limit) stop = true;
  }
  const remaining = new Array<number>(n);
  let best = -1;
  for (let i = 0; i < n; i += 1) {
    const l = limits[i]!;
    const over = before[i]! >= l.limit;
    // Left after this request; a refused request counts only in the periods that refused it.
    remaining[i] = Math.max(0, Math.floor(l.limit - before[i]! - (!stop || over ? 1 : 0)));
    if (
      best < 0 ||
      remaining[i]! < remaining[best]! ||
      (remaining[i] === remaining[best] && l.seconds > limits[best]!.seconds)
    )
      best = i;
  }
  let resetMs = ends[best]! - now;
  if (previous !== null && remaining[best] === 0) {
    // Sliding: the time until the estimate lets one more request in.
    // A refused request is taken back out of the counters; an admitted one stays.
    const current = stop ? counts[best]! - 1 : counts[best]!;
    resetMs = slidingWaitMs(limits[best]!.limit, previous[best]!, current, now, starts[best]!, ends[best]!);
  }
  return { stop, remaining, best, reset: secondsUntil(now + resetMs, now) };
}

/** Where the headers go: the request's response (PluginContext) or a record (headersOf). */
export interface HeaderSink {
  setResponseHeader(name: string, value: string): void;
}

/** Kong's headers of a decision, in Kong's order, to `sink`. */
export function writeHeaders(limits: readonly PeriodLimit[], d: Decision, sink: HeaderSink): void {
  for (let i = 0; i < limits.length; i += 1) {
    const l = limits[i]!;
    sink.setResponseHeader(l.limitHeader, l.limitText);
    sink.setResponseHeader(l.remainingHeader, String(d.remaining[i]));
  }
  const reset = String(d.reset);
  sink.setResponseHeader('RateLimit-Limit', limits[d.best]!.limitText);
  sink.setResponseHeader('RateLimit-Remaining', String(d.remaining[d.best]));
  sink.setResponseHeader('RateLimit-Reset', reset);
  if (d.stop) sink.setResponseHeader('Retry-After', reset);
}

/** The headers of a decision as a record (a refusal's answer). */
export function headersOf(limits: readonly PeriodLimit[], d: Decision): Record<string, string> {
  const headers: Record<string, string> = {};
  writeHeaders(limits, d, {
    setResponseHeader(name, value) {
      headers[name] = value;
    },
  });
  return headers;
}
