/**
 * The analytics history's retentions, checked once at start:
 *  - `--analytics-retention` (GATEHOUSE_ANALYTICS_RETENTION): how long the history keeps traffic
 *    (its hourly tier). A duration (`7d`, `36h`, `2880m`) from 2h to 400d, or `0` for no history
 *    (only the hour in memory).
 *  - `--analytics-retention-5m` (GATEHOUSE_ANALYTICS_RETENTION_5M): how long the 5-minute tier
 *    keeps its rows (capped by the first). A duration from 2h to 400d. The default, 2 days, holds
 *    every window a 5-minute step can take (360 × 5 min = 30 h); longer windows are read at
 *    1-hour resolution.
 */
import { parseDuration } from './query.js';

export const DEFAULT_RETENTION = '7d';
export const DEFAULT_FIVE_MINUTE_RETENTION = '2d';
const MIN_MS = 2 * 3_600_000;
const MAX_MS = 400 * 86_400_000;

/** The retention in milliseconds (0: off, unless `allowOff` is false); throws an Error naming what is wrong. */
export function parseRetention(text: string, allowOff = true): number {
  if (allowOff && text.trim() === '0') return 0;
  const none = allowOff ? ', or 0 for none' : '';
  const ms = parseDuration(text.trim());
  if (ms === null) throw new Error(`expected a duration such as 7d, 36h or 2880m${none}; got "${text}"`);
  if (ms < MIN_MS || ms > MAX_MS)
    throw new Error(`must be between 2h and 400d${allowOff ? ' (or 0 for none)' : ''}; got "${text}"`);
  return ms;
}
