/**
 * compileRuntime: a configuration in, a Runtime out, and nothing else. No pool is opened, no
 * timer or socket started, nothing logged (what was left out comes back as warnings). A worker
 * or a single-process proxy swaps the result in; a worker's compile error refuses the config for
 * the whole node (the primary compiles only the upstreams, for the node's active health checks).
 */
import { completeConfig } from '@gatehouse/shared/entities/registry';
import { isGatehouseError } from '@gatehouse/shared/errors';
import type { GatehouseConfig } from '@gatehouse/shared/config/model';
import type { Logger } from '@gatehouse/shared/logger';
import { compileUpstreams } from '../balancer/balancers.js';
import { compilePlugins, type Chain } from '../plugins/runtime/index.js';
import type { PluginRegistry } from '../plugins/registry.js';
import { DestinationPlanner } from '../proxy/destinations.js';
import { ProxyErrors } from '../proxy/errors.js';
import { compileTargets, NO_SERVICE_TARGET, type ServiceTarget } from '../proxy/service-targets.js';
import { compileRouter } from '../router/router.js';
import type { DnsResolver } from '../dns/resolver.js';
import { DnsView } from '../dns/view.js';
import { CertificateStore } from '../tls/certificate-store.js';
import type { Runtime, ServingRuntime } from './runtime.js';
import { referencesOf, resolveConfig } from '../vaults/resolve-config.js';
import type { VaultResolver } from '../vaults/resolver.js';

export interface CompileRuntimeOptions {
  /** The logger handed to plugin instances (they log while serving, not while compiling). */
  logger: Logger;
  /** The runtime being served, whose unchanged parts are reused. */
  serving?: ServingRuntime | null;
  /**
   * Host names are balanced over the addresses this resolver has cached (read only: compiling
   * makes no query). Without one, undici resolves host names on connect.
   */
  dns?: DnsResolver | null;
  /**
   * Vault references are read from this resolver's cache (read only: compiling reads no vault;
   * ProxyServer.prime reads them first). Without one, every reference is unresolved.
   */
  vaults?: VaultResolver | null;
}

/**
 * Compiles `partial` (completed with the entity lists it lacks). Throws a GatehouseError when it
 * cannot be served: an unknown plugin, a route that does not compile, a bad certificate, ...
 */
export function compileRuntime(
  partial: GatehouseConfig,
  registry: PluginRegistry | null,
  options: CompileRuntimeOptions,
): Runtime {
  // Snapshots from older CPs, DB-less files and embedders may lack newer entity lists.
  const complete = completeConfig(partial);
  // Vault references: the values in place, as far as the resolver has them (vaults/resolve-config.ts).
  const references = referencesOf(complete, registry);
  const resolved =
    references.size === 0
      ? null
      : resolveConfig(complete, registry, (ref) => options.vaults?.lookup(ref, complete.vaults));
  const config = resolved?.config ?? complete;
  try {
    const destinations = new DestinationPlanner();
    const plugins = compilePlugins(config, registry, options.logger, destinations, resolved?.failedPlugins);
    const dns = new DnsView(options.dns ?? null);
    const upstreams = compileUpstreams(config, options.serving?.upstreams ?? null, undefined, dns);
    const targets = compileTargets(config, upstreams, dns);
    // The plugins' alternate destinations (canary), built beside the services' own targets.
    destinations.resolve(config, upstreams, targets);
    const chains = plugins?.chains;
    const router = compileRouter<ServiceTarget, Chain>(
      config,
      targets.targetFor,
      (route) => chains?.get(route.id) ?? null,
      NO_SERVICE_TARGET,
    );
    const certificates = CertificateStore.compile(config, options.serving?.certificates ?? null);
    return {
      router,
      plugins,
      upstreams,
      pools: targets.pools,
      targets: targets.targets,
      certificates,
      warnings: resolved === null ? targets.warnings : [...targets.warnings, ...resolved.warnings],
      dns: dns.names.size === 0 ? null : { names: dns.names, config: partial },
      vaults: references.size === 0 ? null : { references, config: partial },
    };
  } catch (e) {
    if (isGatehouseError(e)) throw e;
    throw ProxyErrors.invalidConfig(
      `configuration cannot be compiled: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
}
