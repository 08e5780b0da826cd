import { defineError } from '@gatehouse/shared/errors';

/** Errors raised while compiling routes; a configuration that raises one is rejected as a whole. */
export const RouterErrors = {
  invalidRegex: defineError('GH_ERR_ROUTER_INVALID_REGEX', 400),
  unroutable: defineError('GH_ERR_ROUTER_UNROUTABLE', 400),
  /** A route field the router reads holds what no valid route has (a signed snapshot the CP never makes). */
  invalidRoute: defineError('GH_ERR_ROUTER_INVALID_ROUTE', 400),
  unknownService: defineError('GH_ERR_ROUTER_UNKNOWN_SERVICE', 400),
} as const;
