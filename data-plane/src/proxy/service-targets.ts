/**
 * What each route entry carries about its service, compiled once per configuration: either one
 * pool (the service's host is a plain host, proxied directly) or a balanced upstream (the
 * service's host names an upstream: one pool per target, Kong's semantics).
 *
 * Compiling names the pools (by {@link PoolSpec} key) and opens none: the `pool`/`pools` slots
 * are filled once, when the runtime is swapped in (UpstreamPools.bind). Directly proxied services
 * that would get equal targets share one (10,000 services on one origin: one target).
 */
import { validateUpstream } from '@gatehouse/shared/entities/upstream';
import type { GatehouseConfig, Service, Upstream } from '@gatehouse/shared/config/model';
import type { UpstreamSet } from '../balancer/balancers.js';
import { authority } from '../balancer/target-address.js';
import { UpstreamBalancer } from '../balancer/upstream-balancer.js';
import type { DnsView } from '../dns/view.js';
import { tlsEntities, upstreamTls, type UpstreamTls } from '../tls/upstream-tls.js';
import { poolSpec, type PoolSpec } from './pool-spec.js';
import type { UpstreamPool } from './upstream-pools.js';

/** A service balanced over an upstream's targets. */
export interface BalancedService {
  readonly balancer: UpstreamBalancer;
  /** Pool key per target, by target index. */
  readonly poolKeys: readonly string[];
  /** Pool per target, by target index; empty until the runtime is swapped in. */
  pools: UpstreamPool[];
  /** Host header per target (Kong: `host_header` or the target host, with a non-default port). */
  readonly hostHeaders: readonly string[];
  /** Kong's `service.retries`: further targets tried after a connection failure. */
  readonly retries: number;
}

export interface ServiceTarget {
  /** The pool key of a directly proxied service; null when balanced. */
  readonly poolKey: string | null;
  /** Its pool; null when balanced, and until the runtime is swapped in. */
  pool: UpstreamPool | null;
  readonly balanced: BalancedService | null;
  /** Host header sent upstream when the route does not preserve the host (direct services). */
  readonly hostHeader: string;
  /** Service path, `/` when it has none. */
  readonly servicePath: string;
  readonly readTimeout: number;
}

/**
 * Service protocols the HTTP proxy sends to (ws/wss: WebSocket upstreams, reached over HTTP/1.1
 * and TLS; grpc/grpcs: HTTP/2 upstreams, cleartext or TLS, see proxy/h2-upstream.ts).
 */
export const PROXIED_PROTOCOLS = new Set(['http', 'https', 'ws', 'wss', 'grpc', 'grpcs']);

/**
 * The target of a route without a service: matched as Kong matches it, never dispatched (the
 * proxy answers 503 "no Service found with those values" once the route's plugins ran).
 */
export const NO_SERVICE_TARGET: ServiceTarget = Object.freeze({
  poolKey: null,
  pool: null,
  balanced: null,
  hostHeader: '',
  servicePath: '/',
  readTimeout: 0,
});

function defaultPort(protocol: string): number {
  return protocol === 'https' || protocol === 'grpcs' || protocol === 'wss' ? 443 : 80;
}

function hostHeaderFor(host: string, port: number, protocol: string): string {
  return authority(host, port === defaultPort(protocol) ? null : port);
}

/** Something compiling left out, said rather than logged (compiling has no side effects). */
export interface CompileWarning {
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface CompiledTargets {
  /** The pools the targets name, by key (specs only). */
  readonly pools: ReadonlyMap<string, PoolSpec>;
  /** Every target built so far (the router asks for them by service). */
  readonly targets: readonly ServiceTarget[];
  readonly warnings: readonly CompileWarning[];
  /** Builds the entry payload for a service (memoised), or null to leave its routes out. */
  readonly targetFor: (service: Service) => ServiceTarget | null;
  /**
   * The target of `service` sent to `host` (a host, or an upstream's name: balanced over its
   * targets, `port` unused) and `port` instead of its own: a plugin's alternate destination
   * (plugins/api.ts InitContext.destination). Memoised; null when the service is not proxied.
   */
  readonly targetAt: (service: Service, host: string, port: number) => ServiceTarget | null;
}

/**
 * The upstream Kong's DNS balancing gives a service whose host is a name (not an upstream): the
 * upstream defaults (round-robin, no health checks) over one target, `host:port`, whose addresses
 * come from DNS. Null when the name is not a valid upstream name (then undici resolves it).
 */
function serviceHostUpstream(host: string): Upstream | null {
  try {
    const fields = validateUpstream({ name: host });
    return { ...fields, id: `dns:${host}`, created_at: 0, updated_at: 0 };
  } catch {
    return null;
  }
}

/**
 * Plans the pools and targets of `config` over its compiled upstreams. Opens nothing. With `dns`,
 * a service whose host is a name is balanced over the addresses the name resolves to (cached
 * answers only: no query is made here).
 */
export function compileTargets(
  config: GatehouseConfig,
  upstreams: UpstreamSet,
  dns: DnsView | null = null,
): CompiledTargets {
  const entities = tlsEntities(config);
  const pools = new Map<string, PoolSpec>();
  const plans = new Map<string, Plan>();
  const addPool = (spec: PoolSpec): PoolSpec => {
    if (!pools.has(spec.key)) pools.set(spec.key, spec);
    return spec;
  };
  /** Service-host balancers by `host:port` (one per name and port, shared by services). */
  const byHost = new Map<string, UpstreamBalancer | null>();
  const hostBalancer = (host: string, port: number): UpstreamBalancer | null => {
    if (dns === null || !dns.resolves(host)) return null;
    const name = host.toLowerCase();
    const key = `${name}:${port}`;
    let b = byHost.get(key);
    if (b === undefined) {
      const upstream = serviceHostUpstream(name);
      const target = {
        id: key,
        upstream: { id: upstream?.id ?? '' },
        target: authority(name, port),
        weight: 100,
        tags: null,
        created_at: 0,
        updated_at: 0,
      };
      b =
        upstream === null ? null : new UpstreamBalancer(upstream, [target], key, null, undefined, dns, true);
      byHost.set(key, b);
    }
    return b;
  };
  /** The upstream `host` names (or null) and the pools of `service` sent there. */
  const planFor = (service: Service, host: string, port: number): Plan => {
    const balancer = upstreams.byName.get(host.toLowerCase()) ?? hostBalancer(host, port);
    const secure = service.protocol === 'https' || service.protocol === 'wss' || service.protocol === 'grpcs';
    const tlsSettings: UpstreamTls | null = secure
      ? upstreamTls(service, balancer?.upstream ?? null, entities)
      : null;
    if (balancer === null)
      return {
        spec: addPool(poolSpec(service, host, port, tlsSettings)),
        targets: [],
        balancer,
        target: undefined,
      };
    const targets = balancer.targets.map((t) => addPool(poolSpec(service, t.host, t.port, tlsSettings)));
    return { spec: null, targets, balancer, target: undefined };
  };
  for (const service of config.services) {
    if (!service.enabled || !PROXIED_PROTOCOLS.has(service.protocol)) continue;
    plans.set(service.id, planFor(service, service.host, service.port));
  }
  const unproxied = new Set<string>();
  /** Direct targets by their content (JSON of the fields), so equal ones are one object. */
  const direct = new Map<string, ServiceTarget>();
  /** Alternate targets by service, host and port. */
  const alternates = new Map<string, ServiceTarget>();
  const built: ServiceTarget[] = [];
  const warnings: CompileWarning[] = [];
  /** The target of `service` sent to `host`:`port` as `plan` says. */
  const build = (service: Service, host: string, port: number, plan: Plan): ServiceTarget => {
    let target: ServiceTarget;
    if (plan.balancer === null) {
      const poolKey = plan.spec!.key;
      const hostHeader = hostHeaderFor(host, port, service.protocol);
      const servicePath = service.path ?? '/';
      const key = JSON.stringify([poolKey, hostHeader, servicePath, service.read_timeout]);
      const same = direct.get(key);
      if (same !== undefined) return same;
      target = {
        poolKey,
        pool: null,
        balanced: null,
        hostHeader,
        servicePath,
        readTimeout: service.read_timeout,
      };
      direct.set(key, target);
    } else {
      const b = plan.balancer;
      const name = b.upstream.host_header;
      target = {
        poolKey: null,
        pool: null,
        balanced: {
          balancer: b,
          poolKeys: plan.targets.map((s) => s.key),
          pools: [],
          hostHeaders: b.targets.map((t) => hostHeaderFor(name ?? t.hostname, t.port, service.protocol)),
          retries: service.retries,
        },
        hostHeader: hostHeaderFor(name ?? host, port, service.protocol),
        servicePath: service.path ?? '/',
        readTimeout: service.read_timeout,
      };
    }
    built.push(target);
    return target;
  };
  return {
    pools,
    targets: built,
    warnings,
    targetFor: (service: Service): ServiceTarget | null => {
      const plan = plans.get(service.id);
      if (plan === undefined) {
        if (!unproxied.has(service.id)) {
          unproxied.add(service.id);
          warnings.push({
            message: 'service protocol not proxied; its routes are left out',
            fields: { service: service.id, protocol: service.protocol },
          });
        }
        return null;
      }
      return (plan.target ??= build(service, service.host, service.port, plan));
    },
    targetAt: (service: Service, host: string, port: number): ServiceTarget | null => {
      if (!plans.has(service.id)) return null;
      const key = JSON.stringify([service.id, host.toLowerCase(), port]);
      let target = alternates.get(key);
      if (target === undefined)
        alternates.set(key, (target = build(service, host, port, planFor(service, host, port))));
      return target;
    },
  };
}

/** How a service is proxied, and its target once built. */
interface Plan {
  readonly spec: PoolSpec | null;
  readonly targets: PoolSpec[];
  readonly balancer: UpstreamBalancer | null;
  target: ServiceTarget | undefined;
}
