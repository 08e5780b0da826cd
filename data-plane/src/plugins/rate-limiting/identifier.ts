/**
 * Whose counter a request counts in (Kong's get_identifier): the consumer (or, without one, the
 * credential), the credential, the service, a header's value, the configured path when the
 * request's path is exactly it, or the consumer group; the client IP when that is absent.
 */
import type { PluginContext } from '../api.js';

export type LimitBy = 'consumer' | 'credential' | 'ip' | 'service' | 'header' | 'path' | 'consumer-group';

export interface IdentifierRule {
  readonly limitBy: LimitBy;
  readonly headerName: string | null;
  readonly path: string | null;
  /** The consumer group the plugin instance is scoped to, if any. */
  readonly scopeGroup: string | null;
}

/** The identifier (never empty: the client IP is the fallback, as in Kong). */
export function identifierOf(ctx: PluginContext, rule: IdentifierRule): string {
  let id: string | null | undefined;
  switch (rule.limitBy) {
    case 'consumer':
      id = ctx.consumer?.id ?? ctx.credential?.id;
      break;
    case 'credential':
      id = ctx.credential?.id;
      break;
    case 'service':
      id = ctx.service?.id;
      break;
    case 'header':
      id = rule.headerName === null ? undefined : ctx.request.header(rule.headerName);
      break;
    case 'path':
      id = ctx.request.path === rule.path ? rule.path : undefined;
      break;
    case 'consumer-group':
      // A group-scoped instance counts its group as one; else the consumer's first group.
      id = rule.scopeGroup ?? ctx.consumerGroups[0]?.id;
      if (id !== undefined && rule.scopeGroup !== null && !ctx.consumerGroups.some((g) => g.id === id))
        id = undefined;
      break;
    case 'ip':
      break;
  }
  return id === undefined || id === null ? ctx.request.clientIp : `${rule.limitBy}:${id}`;
}
