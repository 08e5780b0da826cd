import { defineError } from '../errors.js';

export const NatsErrors = {
  /** The link was closed (process stopping) before it connected. */
  closed: defineError('GH_ERR_NATS_CLOSED', 503),
} as const;
