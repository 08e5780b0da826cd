/**
 * The decision and the headers of one request, from the counters (pure; plugin.ts does the I/O).
 * Kong's rules (kong/plugins/rate-limiting/handler.lua): a period stops the request when the
 * count before it has reached the limit; `X-RateLimit-Remaining-<Period>` is what is left after
 * this request (the stopping period shows 0, the others do not count the refused request);
 * `RateLimit-*` describe the period with the least left (the longer one on a tie), and
 * `RateLimit-Reset` / `Retry-After` are the seconds until that period lets a request through.
 */
import { PERIOD_TITLE, secondsUntil, windowEnd, type Period } from '../../ratelimit/windows.js';
import { previousWeight, slidingCount, slidingWaitMs } from '../../ratelimit/sliding.js';

export interface PeriodLimit {
  readonly period: Period;
  readonly limit: number;
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
    seconds,
    limitHeader: `X-RateLimit-Limit-${title}`,
    remainingHeader: `X-RateLimit-Remaining-${title}`,
  };
}

export interface Decision {
  /** The request is refused. */
  readonly stop: boolean;
  /** Response headers (empty when hidden). */
  readonly headers: Record<string, string>;
}

/**
 * `counts[i]`: the period's counter after this request was added; `previous[i]`: the previous
 * window's counter (sliding windows; null for fixed); `starts[i]`: the window's start.
 */
export function decide(
  limits: readonly PeriodLimit[],
  counts: readonly number[],
  previous: readonly number[] | null,
  starts: readonly number[],
  now: number,
  hide: boolean,
): Decision {
  const n = limits.length;
  const before = new Array<number>(n);
  let stop = false;
  for (let i = 0; i < n; i += 1) {
    const current = counts[i]! - 1;
    const w =
      previous === null ? 0 : previousWeight(now, starts[i]!, windowEnd(limits[i]!.period, starts[i]!));
    before[i] = previous === null ? current : slidingCount(current, previous[i]!, w);
    if (before[i]! >= limits[i]!.limit) stop = true;
  }
  const headers: Record<string, string> = {};
  if (hide) return { stop, headers };
  let best = -1;
  let bestRemaining = 0;
  for (let i = 0; i < n; i += 1) {
    const l = limits[i]!;
    const over = before[i]! >= l.limit;
    // Left after this request; a refused request counts only in the periods that refused it.
    const remaining = Math.max(0, Math.floor(l.limit - before[i]! - (!stop || over ? 1 : 0)));
    headers[l.limitHeader] = String(l.limit);
    headers[l.remainingHeader] = String(remaining);
    if (
      best < 0 ||
      remaining < bestRemaining ||
      (remaining === bestRemaining && l.seconds > limits[best]!.seconds)
    ) {
      best = i;
      bestRemaining = remaining;
    }
  }
  const l = limits[best]!;
  const start = starts[best]!;
  const end = windowEnd(l.period, start);
  let resetMs = end - now;
  if (previous !== null && bestRemaining === 0) {
    // Sliding: the time until the estimate lets one more request in.
    // A refused request is taken back out of the counters; an admitted one stays.
    const current = stop ? counts[best]! - 1 : counts[best]!;
    resetMs = slidingWaitMs(l.limit, previous[best]!, current, now, start, end);
  }
  const reset = String(secondsUntil(now + resetMs, now));
  headers['RateLimit-Limit'] = String(l.limit);
  headers['RateLimit-Remaining'] = String(bestRemaining);
  headers['RateLimit-Reset'] = reset;
  if (stop) headers['Retry-After'] = reset;
  return { stop, headers };
}
