/**
 * A Runtime is one configuration compiled for serving, as data: the router (whose entries carry
 * each service's target), the plugin chains, the upstream balancers, the pools the targets need
 * (specs, not sockets) and the TLS certificates. Building one has no side effects
 * (compile-runtime.ts); serving one is a swap (ProxyServer.swap), which opens or reuses pools,
 * starts or stops what must run, and retires what the previous runtime held.
 */
import type { GatehouseConfig } from '@gatehouse/shared';
import type { UpstreamSet } from '../balancer/balancers.js';
import type { Chain, CompiledPlugins } from '../plugins/runtime/index.js';
import type { PoolSpec } from '../proxy/upstream-pools.js';
import type { CompileWarning, ServiceTarget } from '../proxy/service-targets.js';
import type { Router } from '../router/router.js';
import type { CertificateStore } from '../tls/certificate-store.js';

export interface Runtime {
  readonly router: Router<ServiceTarget, Chain>;
  /** Plugin chains per route, or null when the configuration has no enabled plugin. */
  readonly plugins: CompiledPlugins | null;
  readonly upstreams: UpstreamSet;
  /** The pools the targets name, by key; opened at swap time. */
  readonly pools: ReadonlyMap<string, PoolSpec>;
  /** Every service target the router serves (their pool slots are filled at swap time). */
  readonly targets: readonly ServiceTarget[];
  readonly certificates: CertificateStore;
  /** What compiling left out, for the swap to log. */
  readonly warnings: readonly CompileWarning[];
  /**
   * The host names whose DNS answers this runtime was compiled with (upstream targets and
   * service hosts), and the configuration, kept only when there are some: the swap keeps those
   * names fresh, and a changed answer recompiles the configuration.
   */
  readonly dns: { readonly names: ReadonlySet<string>; readonly config: GatehouseConfig } | null;
  /**
   * The vault references this runtime was compiled with and the configuration (unresolved),
   * kept only when there are some: the proxy re-reads them when their ttl passes and recompiles
   * when a value changed (docs/vaults.md).
   */
  readonly vaults?: { readonly references: ReadonlySet<string>; readonly config: GatehouseConfig } | null;
}

/** What a compile may reuse from the runtime being served, so state carries over a swap. */
export interface ServingRuntime {
  /** Unchanged upstreams keep their balancer (round-robin position, target health). */
  readonly upstreams?: UpstreamSet | null;
  /** Unchanged certificates keep their TLS context. */
  readonly certificates?: CertificateStore | null;
}
