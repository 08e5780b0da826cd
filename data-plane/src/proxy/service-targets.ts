/**
 * What each route entry carries about its service, compiled once per configuration: either one
 * pool (the service's host is a plain host, proxied directly) or a balanced upstream (the
 * service's host names an upstream: one pool per target, Kong's semantics).
 */
import type { Pool } from 'undici';
import type { GatehouseConfig, Logger, Service } from '@gatehouse/shared';
import type { Balancers, BalancerSet } from '../balancer/balancers.js';
import { authority } from '../balancer/target-address.js';
import type { UpstreamBalancer } from '../balancer/upstream-balancer.js';
import { tlsEntities, upstreamTls, type UpstreamTls } from '../tls/upstream-tls.js';
import { poolSpec, type PoolSpec, type UpstreamPools } from './upstream-pools.js';

/** A service balanced over an upstream's targets. */
export interface BalancedService {
  readonly balancer: UpstreamBalancer;
  /** Pool per target, by target index. */
  readonly pools: readonly Pool[];
  /** Host header per target (Kong: `host_header` or the target host, with a non-default port). */
  readonly hostHeaders: readonly string[];
  /** Kong's `service.retries`: further targets tried after a connection failure. */
  readonly retries: number;
}

export interface ServiceTarget {
  /** The pool of a directly proxied service; null when balanced. */
  readonly pool: Pool | null;
  readonly balanced: BalancedService | null;
  /** Host header sent upstream when the route does not preserve the host (direct services). */
  readonly hostHeader: string;
  /** Service path, `/` when it has none. */
  readonly servicePath: string;
  readonly readTimeout: number;
}

export const PROXIED_PROTOCOLS = new Set(['http', 'https']);

function defaultPort(protocol: string): number {
  return protocol === 'https' || protocol === 'grpcs' || protocol === 'wss' ? 443 : 80;
}

function hostHeaderFor(host: string, port: number, protocol: string): string {
  return authority(host, port === defaultPort(protocol) ? null : port);
}

export interface CompiledTargets {
  readonly pools: Map<string, Pool>;
  readonly balancers: BalancerSet & { readonly byId: Map<string, UpstreamBalancer> };
  /** Builds the entry payload for a service (memoised), or null to leave its routes out. */
  readonly targetFor: (service: Service) => ServiceTarget | null;
}

/** Compiles pools and balancers for `config`; commit or discard them with the registries. */
export function compileTargets(
  config: GatehouseConfig,
  registries: { pools: UpstreamPools; balancers: Balancers },
  logger: Logger,
): CompiledTargets {
  const balancers = registries.balancers.prepare(config);
  const entities = tlsEntities(config);
  const specs: PoolSpec[] = [];
  const plans = new Map<
    string,
    { spec: PoolSpec | null; targets: PoolSpec[]; balancer: UpstreamBalancer | null }
  >();
  for (const service of config.services) {
    if (!service.enabled || !PROXIED_PROTOCOLS.has(service.protocol)) continue;
    const balancer = balancers.byName.get(service.host.toLowerCase()) ?? null;
    const secure = service.protocol === 'https';
    const tlsSettings: UpstreamTls | null = secure
      ? upstreamTls(service, balancer?.upstream ?? null, entities)
      : null;
    if (balancer === null) {
      const spec = poolSpec(service, service.host, service.port, tlsSettings);
      specs.push(spec);
      plans.set(service.id, { spec, targets: [], balancer: null });
    } else {
      const targets = balancer.targets.map((t) => poolSpec(service, t.host, t.port, tlsSettings));
      specs.push(...targets);
      plans.set(service.id, { spec: null, targets, balancer });
    }
  }
  const pools = registries.pools.prepare(specs);
  const memo = new Map<string, ServiceTarget | null>();
  return {
    pools,
    balancers,
    targetFor: (service: Service): ServiceTarget | null => {
      const known = memo.get(service.id);
      if (known !== undefined) return known;
      const plan = plans.get(service.id);
      let target: ServiceTarget | null = null;
      if (plan === undefined) {
        logger.warn(
          { service: service.id, protocol: service.protocol },
          'service protocol not proxied; its routes are left out',
        );
      } else if (plan.balancer === null) {
        target = {
          pool: pools.get(plan.spec!.key)!,
          balanced: null,
          hostHeader: hostHeaderFor(service.host, service.port, service.protocol),
          servicePath: service.path ?? '/',
          readTimeout: service.read_timeout,
        };
      } else {
        const b = plan.balancer;
        const name = b.upstream.host_header;
        target = {
          pool: null,
          balanced: {
            balancer: b,
            pools: plan.targets.map((s) => pools.get(s.key)!),
            hostHeaders: b.targets.map((t) => hostHeaderFor(name ?? t.host, t.port, service.protocol)),
            retries: service.retries,
          },
          hostHeader: hostHeaderFor(name ?? service.host, service.port, service.protocol),
          servicePath: service.path ?? '/',
          readTimeout: service.read_timeout,
        };
      }
      memo.set(service.id, target);
      return target;
    },
  };
}
