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
