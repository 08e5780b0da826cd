/**
 * `--config-history-retention` (GATEHOUSE_CONFIG_HISTORY_RETENTION): how many published versions
 * the config history keeps and/or for how long. A count (`100`), an age (`30d`, `36h`), or both
 * separated by a comma (`100,30d`: a version goes once it is beyond the newest 100 OR older than
 * 30 days). The newest version is always kept. Checked once at start.
 */
import { parseDuration } from '../analytics/query.js';

export const DEFAULT_CONFIG_HISTORY_RETENTION = '100';
const MAX_COUNT = 1_000_000;
const MIN_AGE_MS = 3_600_000;
const MAX_AGE_MS = 3650 * 86_400_000;

export interface ConfigHistoryRetention {
  /** Versions kept, newest first (null: no limit by count). */
  count: number | null;
  /** Longest a version is kept, in ms (null: no limit by age). */
  maxAgeMs: number | null;
}

/** Throws an Error naming what is wrong. */
export function parseHistoryRetention(text: string): ConfigHistoryRetention {
  const parts = text.split(',').map((p) => p.trim());
  const out: ConfigHistoryRetention = { count: null, maxAgeMs: null };
  const expected = `expected a count (100), an age (30d, 36h) or both (100,30d); got ${JSON.stringify(text.slice(0, 80))}`;
  if (parts.length > 2 || parts.some((p) => p === '')) throw new Error(expected);
  for (const part of parts) {
    if (/^[0-9]+$/.test(part)) {
      if (out.count !== null) throw new Error(expected);
      const n = Number(part);
      if (!Number.isSafeInteger(n) || n < 1 || n > MAX_COUNT)
        throw new Error(
          `the count must be between 1 and ${MAX_COUNT}; got ${JSON.stringify(part.slice(0, 20))}`,
        );
      out.count = n;
      continue;
    }
    const ms = parseDuration(part);
    if (ms === null || out.maxAgeMs !== null) throw new Error(expected);
    if (ms < MIN_AGE_MS || ms > MAX_AGE_MS)
      throw new Error(`the age must be between 1h and 3650d; got ${JSON.stringify(part)}`);
    out.maxAgeMs = ms;
  }
  return out;
}
