/**
 * Alternate destinations a plugin may send a request to instead of its service's (the canary
 * plugin's `upstream_host`/`upstream_port`). A plugin asks for one once per snapshot, in `init`
 * (InitContext.destination); compiling the runtime then builds, for every service the plugin
 * instance can apply to, the ServiceTarget of that service sent there — pools planned with the
 * service's own, balancers shared — so a request only swaps one compiled target for another
 * (PluginContext.setUpstreamDestination) and `dispatchUpstream` stays the one way upstream.
 */
import type { GatehouseConfig, Service } from '@gatehouse/shared';
import type { UpstreamSet } from '../balancer/balancers.js';
import type { UpstreamBalancer } from '../balancer/upstream-balancer.js';
import type { UpstreamDestination } from '../plugins/api.js';
import type { CompiledTargets, ServiceTarget } from './service-targets.js';

/** The routes and services a plugin instance applies to (its Kong scope). */
export interface DestinationScope {
  readonly route: string | null;
  readonly service: string | null;
}

export class Destination implements UpstreamDestination {
  /** The target per service id, filled when the runtime is compiled. */
  private readonly byService = new Map<string, ServiceTarget>();
  /** The upstream `host` names, or null (a plain host). */
  private balancer: UpstreamBalancer | null = null;

  constructor(
    /** A host or an upstream's name; null keeps each service's host. */
    readonly host: string | null,
    /** null keeps each service's port. */
    readonly port: number | null,
    readonly scope: DestinationScope,
  ) {}

  get label(): string {
    return `${this.host ?? '(service host)'}:${this.port ?? '(service port)'}`;
  }

  get upstream(): string | null {
    return this.balancer?.name ?? null;
  }

  healthy(): boolean {
    return this.balancer === null || this.balancer.isHealthy();
  }

  /** The compiled target of `service` sent here, or undefined (the service is not proxied). */
  targetFor(serviceId: string): ServiceTarget | undefined {
    return this.byService.get(serviceId);
  }

  /** Compiles this destination for `services` (compile time only). */
  resolve(services: readonly Service[], upstreams: UpstreamSet, targets: CompiledTargets): void {
    if (this.host !== null) this.balancer = upstreams.byName.get(this.host.toLowerCase()) ?? null;
    for (const service of services) {
      const t = targets.targetAt(service, this.host ?? service.host, this.port ?? service.port);
      if (t !== null) this.byService.set(service.id, t);
    }
  }
}

/**
 * The destinations the plugins of one snapshot asked for. Plugins are initialised before the
 * targets are compiled, so `plan` hands out a Destination and `resolve` fills it in afterwards.
 */
export class DestinationPlanner {
  private readonly planned: Destination[] = [];

  plan(host: string | null, port: number | null, scope: DestinationScope): Destination {
    const d = new Destination(host, port, scope);
    this.planned.push(d);
    return d;
  }

  get size(): number {
    return this.planned.length;
  }

  /** Compiles every planned destination for the services its plugin instance can apply to. */
  resolve(config: GatehouseConfig, upstreams: UpstreamSet, targets: CompiledTargets): void {
    if (this.planned.length === 0) return;
    const services = new Map(config.services.map((s) => [s.id, s]));
    const routeService = new Map(config.routes.map((r) => [r.id, r.service?.id ?? null]));
    for (const d of this.planned) {
      const { route, service } = d.scope;
      let scoped: Service[];
      if (route !== null) {
        const s = routeService.get(route);
        scoped = s == null ? [] : [services.get(s)].filter((x): x is Service => x !== undefined);
      } else if (service !== null) {
        scoped = [services.get(service)].filter((x): x is Service => x !== undefined);
      } else {
        scoped = config.services;
      }
      d.resolve(scoped, upstreams, targets);
    }
  }
}
