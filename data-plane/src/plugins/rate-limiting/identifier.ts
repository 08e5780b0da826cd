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

/** The entity the rule names for this request (Kong's identifier before the IP fallback), if any. */
export function entityOf(ctx: PluginContext, rule: IdentifierRule): string | undefined {
  switch (rule.limitBy) {
    case 'consumer':
      return ctx.consumer?.id ?? ctx.credential?.id;
    case 'credential':
      return ctx.credential?.id;
    case 'service':
      return ctx.service?.id;
    case 'header':
      return rule.headerName === null ? undefined : ctx.request.header(rule.headerName);
    case 'path':
      return ctx.request.path === rule.path ? rule.path : undefined;
    case 'consumer-group': {
      // A group-scoped instance counts its group as one; else the consumer's first group.
      const id = rule.scopeGroup ?? ctx.consumerGroups[0]?.id;
      if (id !== undefined && rule.scopeGroup !== null && !ctx.consumerGroups.some((g) => g.id === id))
        return undefined;
      return id;
    }
    case 'ip':
      return undefined;
  }
}

/** The identifier (never empty: the client IP is the fallback, as in Kong). */
export function identifierOf(ctx: PluginContext, rule: IdentifierRule): string {
  const id = entityOf(ctx, rule);
  return id === undefined ? ctx.request.clientIp : `${rule.limitBy}:${id}`;
}

/**
 * The limit key of a request, `<prefix><identifier>` as `identifierOf` spells the identifier, with
 * `entityPrefix` = `<prefix><limit_by>:` made once per instance (one concatenation per request).
 * Keys are shared with other DPs (cluster) and kept in Redis: their spelling must not change.
 */
export function limitKeyOf(
  ctx: PluginContext,
  rule: IdentifierRule,
  prefix: string,
  entityPrefix: string,
): string {
  const id = entityOf(ctx, rule);
  return id === undefined ? prefix + ctx.request.clientIp : entityPrefix + id;
}
