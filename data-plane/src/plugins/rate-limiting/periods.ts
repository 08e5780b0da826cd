/**
 * Kong's rate-limiting periods, shortest first: the schema fields of both rate-limiting plugins
 * and the windows the counters use (ratelimit/windows.ts). Kept here so that the control plane's
 * schemas entry loads it without the counters' code.
 */
export const PERIODS = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
export type Period = (typeof PERIODS)[number];
