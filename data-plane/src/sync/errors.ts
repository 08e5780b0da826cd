import { defineError } from '@gatehouse/shared/errors';

/** The codes of the data plane's config sync errors (listed in docs/data-plane.md). */
export const SyncErrorCode = {
  COMPILE: 'GH_ERR_DP_CONFIG_COMPILE',
  APPLY: 'GH_ERR_DP_CONFIG_APPLY',
  CACHE_UNREADABLE: 'GH_ERR_DP_CACHE_UNREADABLE',
  CACHE_KEY: 'GH_ERR_DP_CACHE_KEY',
  ROLLBACK: 'GH_ERR_DP_VERSION_ROLLBACK',
  /** Cold start (status only): NATS or the snapshot bucket could not be reached. */
  JETSTREAM_UNREACHABLE: 'GH_ERR_DP_JETSTREAM_UNREACHABLE',
  /** Cold start (status only): the bucket holds no snapshot for this DP's slice. */
  JETSTREAM_EMPTY: 'GH_ERR_DP_JETSTREAM_EMPTY',
} as const;

/** Errors raised by the data plane's config sync. */
export const SyncErrors = {
  /** A verified config does not compile (a worker or the primary refused it); no worker keeps it. */
  compileFailed: defineError(SyncErrorCode.COMPILE, 400),
  /** A worker did not swap in a config (failed, died or timed out). */
  applyFailed: defineError(SyncErrorCode.APPLY, 500),
  /** The on-disk snapshot cache could not be read or parsed. */
  cacheUnreadable: defineError(SyncErrorCode.CACHE_UNREADABLE, 500),
  /** The on-disk snapshot cache is encrypted and no key, or another key, was given. */
  cacheKey: defineError(SyncErrorCode.CACHE_KEY, 500),
  /**
   * A snapshot (cached at boot, or from the CP) is older than the highest version this DP has
   * accepted: a rollback, refused unless the operator allows it.
   */
  rollback: defineError(SyncErrorCode.ROLLBACK, 409),
} as const;
