import { defineError } from '@gatehouse/shared';

/** Errors raised while compiling routes; a configuration that raises one is rejected as a whole. */
export const RouterErrors = {
  invalidRegex: defineError('GH_ERR_ROUTER_INVALID_REGEX', 400),
  unroutable: defineError('GH_ERR_ROUTER_UNROUTABLE', 400),
  unknownService: defineError('GH_ERR_ROUTER_UNKNOWN_SERVICE', 400),
} as const;
