/**
 * Kong's rate-limiting periods and how their windows are aligned (kong/tools/timestamp.lua,
 * get_timestamps): a window starts at the UTC second, minute, hour, day, first of the month or
 * first of the year that holds the request. `WINDOW_SECONDS` is Kong's EXPIRATION table (a month
 * counts 30 days and a year 365 in the counter's length); a window's end is the next calendar
 * boundary, so `RateLimit-Reset` is exact in 31-day months and leap years.
 */

import type { Period } from '../plugins/rate-limiting/periods.js';

export { PERIODS, type Period } from '../plugins/rate-limiting/periods.js';

/** Kong's EXPIRATION (kong/plugins/rate-limiting/expiration.lua), seconds. */
export const WINDOW_SECONDS: Readonly<Record<Period, number>> = Object.freeze({
  second: 1,
  minute: 60,
  hour: 3600,
  day: 86400,
  month: 2592000,
  year: 31536000,
});

/** The period's name as Kong writes it in `X-RateLimit-*-<Period>` headers. */
export const PERIOD_TITLE: Readonly<Record<Period, string>> = Object.freeze({
  second: 'Second',
  minute: 'Minute',
  hour: 'Hour',
  day: 'Day',
  month: 'Month',
  year: 'Year',
});

/** Start (epoch ms) of the window of `period` that holds `now` (epoch ms), in UTC. */
export function windowStart(period: Period, now: number): number {
  switch (period) {
    case 'second':
      return now - (now % 1000);
    case 'minute':
      return now - (now % 60_000);
    case 'hour':
      return now - (now % 3_600_000);
    case 'day':
      return now - (now % 86_400_000);
    case 'month': {
      const d = new Date(now);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
    case 'year':
      return Date.UTC(new Date(now).getUTCFullYear(), 0, 1);
  }
}

/** End (epoch ms, exclusive) of the window of `period` that starts at `start`. */
export function windowEnd(period: Period, start: number): number {
  if (period === 'month') {
    const d = new Date(start);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  }
  if (period === 'year') return Date.UTC(new Date(start).getUTCFullYear() + 1, 0, 1);
  return start + WINDOW_SECONDS[period] * 1000;
}

/** Start of the window before the one starting at `start`. */
export function previousWindowStart(period: Period, start: number): number {
  return windowStart(period, start - 1);
}

/** Whole seconds from `now` to `end`, at least 1 (Kong's `max(1, window - elapsed)`). */
export function secondsUntil(end: number, now: number): number {
  return Math.max(1, Math.ceil((end - now) / 1000));
}

/** The windows of a list of periods at one time: each one's start and end (exclusive), epoch ms. */
export interface Windows {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

/**
 * The windows holding "now" for a fixed list of periods, recomputed only when a request's time
 * leaves them (at most once a second with a `second` limit): the common request does no calendar
 * arithmetic and makes no Date object. A rollover makes a new `Windows`, never changes one, so a
 * caller may keep the one it got (a request waiting on its policy).
 */
export class CurrentWindows {
  private current: Windows = { starts: [], ends: [] };
  /** The latest start and the earliest end: `now` in [from, until) holds in every window. */
  private from = Infinity;
  private until = -Infinity;

  constructor(private readonly periods: readonly Period[]) {}

  /** The windows that hold `now`, in the order of the periods. */
  at(now: number): Windows {
    if (now < this.from || now >= this.until) this.refresh(now);
    return this.current;
  }

  private refresh(now: number): void {
    const n = this.periods.length;
    const starts = new Array<number>(n);
    const ends = new Array<number>(n);
    let from = -Infinity;
    let until = Infinity;
    for (let i = 0; i < n; i += 1) {
      const period = this.periods[i]!;
      starts[i] = windowStart(period, now);
      ends[i] = windowEnd(period, starts[i]!);
      from = Math.max(from, starts[i]!);
      until = Math.min(until, ends[i]!);
    }
    this.current = { starts, ends };
    this.from = from;
    this.until = until;
  }
}
