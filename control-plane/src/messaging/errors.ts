import { defineError } from '@gatehouse/shared';

export const ReplicaErrors = {
  /** NATS_URL (replicas) without DATABASE_URL: PGlite serves one process. */
  needPostgres: defineError('GH_ERR_CONFIG_REPLICAS_NEED_POSTGRES', 400),
} as const;
