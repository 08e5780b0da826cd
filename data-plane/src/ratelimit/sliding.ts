/**
 * The `sliding` window (Kong Enterprise's `window_type: sliding`): the count of the last window
 * length is estimated as the current window's count plus the previous window's count weighted by
 * the share of the previous window still inside the last window length. Exact when the previous
 * window's traffic was spread evenly; see docs/plugins-traffic.md for the bounds.
 */

/** The weight of the previous window's count at `now` in the window [start, end). */
export function previousWeight(now: number, start: number, end: number): number {
  return Math.max(0, Math.min(1, (end - now) / (end - start)));
}

/** The estimated count: `current` plus `previous` weighted. */
export function slidingCount(current: number, previous: number, weight: number): number {
  return current + previous * weight;
}

/**
 * Milliseconds from `now` until one more request fits under `limit` (0 when it fits now), for a
 * window [start, end) holding `current` requests (this one not counted) after a previous window
 * of `previous`. Past the window's end the current count becomes the previous one, weighted down
 * from 1 over a window of the same length.
 */
export function slidingWaitMs(
  limit: number,
  previous: number,
  current: number,
  now: number,
  start: number,
  end: number,
): number {
  const len = end - start;
  // Kong's rule: a request is admitted while the count before it is under the limit.
  if (current < limit) {
    if (previous <= 0) return 0;
    const need = (limit - current) / previous;
    const w = previousWeight(now, start, end);
    return w < need ? 0 : (w - need) * len;
  }
  if (current <= 0) return end - now;
  const need = limit / current;
  return end - now + Math.max(0, 1 - need) * len;
}
