import { defineError } from '@gatehouse/shared';

/** Errors raised by the data plane's config sync (codes listed in docs/data-plane.md). */
export const SyncErrors = {
  /** The primary's compile of a verified snapshot failed; no worker keeps it. */
  compileFailed: defineError('GH_ERR_DP_CONFIG_COMPILE', 400),
  /** A worker did not swap in a config (failed, died or timed out). */
  applyFailed: defineError('GH_ERR_DP_CONFIG_APPLY', 500),
  /** The on-disk snapshot cache could not be read or parsed. */
  cacheUnreadable: defineError('GH_ERR_DP_CACHE_UNREADABLE', 500),
} as const;
