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

/** Entities whose limit key is remembered per instance (at most this many; the rest are built). */
const REMEMBERED_MAX = 10_000;

/**
 * The limit keys of one plugin instance: `<instance id>:<limit_by>:<entity>` for a request that has
 * the entity, else `<instance id>:<client ip>` (the spelling of `identifierOf`). Keys are shared
 * with other DPs (cluster) and kept in Redis: their spelling must not change. Keys of entities
 * that come from the configuration (consumer, credential, service, path, consumer group) are
 * remembered, so a returning entity's key is the same string each time (no concatenation, and
 * its hash is already computed when the counters look it up); header values and client IPs,
 * which clients choose, are built each time.
 */
export class LimitKeys {
  private readonly prefix: string;
  private readonly entityPrefix: string;
  private readonly remembered: Map<string, string> | null;

  constructor(
    private readonly rule: IdentifierRule,
    instanceId: string,
  ) {
    this.prefix = `${instanceId}:`;
    this.entityPrefix = `${instanceId}:${rule.limitBy}:`;
    this.remembered = rule.limitBy === 'header' || rule.limitBy === 'ip' ? null : new Map();
  }

  of(ctx: PluginContext): string {
    const id = entityOf(ctx, this.rule);
    if (id === undefined) return this.prefix + ctx.request.clientIp;
    const remembered = this.remembered;
    if (remembered === null) return this.entityPrefix + id;
    let key = remembered.get(id);
    if (key === undefined) {
      key = this.entityPrefix + id;
      if (remembered.size < REMEMBERED_MAX) remembered.set(id, key);
    }
    return key;
  }
}
