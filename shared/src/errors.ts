/**
 * Typed errors. Every error Gatehouse raises on purpose carries a stable `code`
 * (GH_ERR_<AREA>_<WHAT>) and an HTTP status; one place per server turns them into responses.
 * Codes are listed in docs/errors.md.
 */
const BRAND = Symbol.for('gatehouse.error');

export class GatehouseError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly code: string,
    message: string,
    readonly status = 500,
    readonly details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'GatehouseError';
  }
}

export function isGatehouseError(e: unknown): e is GatehouseError {
  return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** Builds a factory for one error code with its default status. */
export function defineError(code: string, status: number) {
  return (message: string, details?: Record<string, unknown>, options?: ErrorOptions) =>
    new GatehouseError(code, message, status, details, options);
}

export const SnapshotErrors = {
  malformed: defineError('GH_ERR_SNAPSHOT_MALFORMED', 400),
  badSignature: defineError('GH_ERR_SNAPSHOT_BAD_SIGNATURE', 400),
  unknownKey: defineError('GH_ERR_SNAPSHOT_UNKNOWN_KEY', 400),
  hashMismatch: defineError('GH_ERR_SNAPSHOT_HASH_MISMATCH', 400),
  staleVersion: defineError('GH_ERR_SNAPSHOT_STALE_VERSION', 409),
  /** A snapshot in the JetStream store whose manifest or chunks are not readable (before verification). */
  storeMalformed: defineError('GH_ERR_SNAPSHOT_STORE_MALFORMED', 400),
  /** A delta whose base is not the config the DP holds (the CP then sends the full snapshot). */
  deltaBase: defineError('GH_ERR_SNAPSHOT_DELTA_BASE', 409),
  /** Root-key mode: the signing key carries no certificate, or one the root did not sign for it. */
  uncertifiedKey: defineError('GH_ERR_SNAPSHOT_UNCERTIFIED_KEY', 400),
  /** Root-key mode: the signing key's certificate is not yet or no longer valid. */
  keyExpired: defineError('GH_ERR_SNAPSHOT_KEY_EXPIRED', 400),
  /** Root-key mode: the signing key is in the newest revocation list the DP holds. */
  keyRevoked: defineError('GH_ERR_SNAPSHOT_KEY_REVOKED', 400),
  /** A revocation list that does not verify under the root key or does not parse. */
  badRevocationList: defineError('GH_ERR_SNAPSHOT_BAD_REVOCATION_LIST', 400),
} as const;

export const ConfigErrors = {
  invalidSetting: defineError('GH_ERR_CONFIG_INVALID_SETTING', 400),
  missingKey: defineError('GH_ERR_CONFIG_MISSING_KEY', 400),
  clusterTls: defineError('GH_ERR_CONFIG_CLUSTER_TLS', 400),
} as const;

/** The config history (docs/config-history.md). */
export const ConfigHistoryErrors = {
  /** `/config/versions/{v}` names no version the history holds. */
  notFound: defineError('GH_ERR_CONFIG_VERSION_NOT_FOUND', 404),
} as const;

/** Staged rollouts (docs/rollouts.md). */
export const RolloutErrors = {
  /** A config write (or a second rollout) while a rollout runs. */
  inProgress: defineError('GH_ERR_ROLLOUT_IN_PROGRESS', 409),
  notFound: defineError('GH_ERR_ROLLOUT_NOT_FOUND', 404),
  /** Abort of a rollout that already ended. */
  notRunning: defineError('GH_ERR_ROLLOUT_NOT_RUNNING', 409),
  /** The change equals the current configuration: nothing to roll out. */
  noChange: defineError('GH_ERR_ROLLOUT_NO_CHANGE', 400),
} as const;

/** Admin API RBAC (docs/security.md, "RBAC"). */
export const RbacErrors = {
  /** The user's roles do not allow the request: Kong's "<user>, you do not have permissions to <action> this resource". */
  forbidden: defineError('GH_ERR_RBAC_FORBIDDEN', 403),
  /** A request the RBAC endpoints refuse (an unknown role name, a token that cannot be used). */
  invalid: defineError('GH_ERR_RBAC_INVALID', 400),
  /** A change to or the deletion of a bundled role (super-admin, admin, operator, read-only). */
  bundledRole: defineError('GH_ERR_RBAC_BUNDLED_ROLE', 400),
} as const;
