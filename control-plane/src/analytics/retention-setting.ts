/**
 * `--analytics-retention` (GATEHOUSE_ANALYTICS_RETENTION): how long the analytics history keeps
 * traffic in the database. A duration (`7d`, `36h`, `2880m`) from 2h to 400d, or `0` for no
 * history (only the hour in memory). Checked once at start.
 */
import { parseDuration } from './query.js';

export const DEFAULT_RETENTION = '7d';
const MIN_MS = 2 * 3_600_000;
const MAX_MS = 400 * 86_400_000;

/** The retention in milliseconds (0: off); throws an Error naming what is wrong. */
export function parseRetention(text: string): number {
  if (text.trim() === '0') return 0;
  const ms = parseDuration(text.trim());
  if (ms === null)
    throw new Error(`expected a duration such as 7d, 36h or 2880m, or 0 for none; got "${text}"`);
  if (ms < MIN_MS || ms > MAX_MS)
    throw new Error(`must be between 2h and 400d (or 0 for none); got "${text}"`);
  return ms;
}
