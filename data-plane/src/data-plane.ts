/**
 * startDataPlane: the data plane primary. It owns the control plane stream, snapshot
 * verification, the disk cache and the status server, and runs `workers` worker processes
 * (node:cluster) that each serve the proxy on the shared port.
 *
 * Boot order: trusted keys -> node id -> workers forked -> status server (ready=503) -> cached
 * snapshot (read, verified again and handed to the workers while they boot: each compiles it
 * first and then listens) -> control plane stream. The cache is served before the CP is reached,
 * so a restart while the CP is down still serves; with no usable cache the workers listen at
 * once and the proxy port answers 503 JSON until the first snapshot, and /status/ready says not
 * ready. What only the stream needs (gRPC, the JetStream reader) loads after the cache is served
 * (docs/dev/architecture.md, "Start time").
 *
 * DB-less (`declarativeFile`, no control plane): the file is read and served instead of the
 * cache and the stream; `reload()` (the CLI calls it on SIGHUP) reads it again. This module
 * installs no signal handler itself.
 */
import { MemoryLedger } from './plugins/oauth2/ledger.js';
import { RevokedTokens } from './plugins/oauth2/revoked-tokens.js';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname as osHostname, availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { ConfigErrors } from '@gatehouse/shared/errors';
import { completeConfig } from '@gatehouse/shared/entities/registry';
import { GATEHOUSE_VERSION } from '@gatehouse/shared/version';
import { loadClusterTls, type ClusterTlsFiles } from '@gatehouse/shared/cluster-tls';
import {
  loadRootTrust,
  REVOCATIONS_CACHE_FILE,
  ROOT_PUBLIC_KEY_FILE,
} from '@gatehouse/shared/snapshot/root-keys';
import { loadTrustedKeys, type TrustedKeys } from '@gatehouse/shared/snapshot/keys';
import { connectNats, type NatsLinkStatus } from '@gatehouse/shared/nats/link';
import { sliceKeyOf } from '@gatehouse/shared/slices/slice';
import type { Logger } from '@gatehouse/shared/logger';
import type { NatsTlsFiles } from '@gatehouse/shared/nats/settings';
import {
  DeclarativeSource,
  slicedLoader,
  type DeclarativeLoader,
  type DeclarativeStatus,
  type ReloadOutcome,
} from './dbless/declarative-source.js';
import { loadPluginRegistry } from './plugins/registry.js';
import { createCertificate } from './tls/x509.js';
import { DEFAULT_TLS_POLICY, type TlsPolicy } from '@gatehouse/shared/tls-policy';
import { http2Settings, type Http2Settings } from './proxy/http2-edge.js';
import { NodeHealth } from './balancer/node-health.js';
import { targetHealthReport } from './balancer/target-report.js';
import { compileUpstreams, type UpstreamSet } from './balancer/balancers.js';
import { DnsResolver } from './dns/resolver.js';
import { dnsSettings, type DnsSettings } from './dns/settings.js';
import { DnsView } from './dns/view.js';
import type { NodeConfig } from './runtime/node-config.js';
import { DataPlaneMetrics } from './status/metrics.js';
import { StatusServer } from './status/status-server.js';
import { NodeSeries } from './status/node-series.js';
import type { BackoffOptions } from './sync/backoff.js';
import type { ClusterChannel, ClusterClientTls } from './sync/cluster-tls.js';
import type { ConfigClient } from './sync/config-client.js';
import { initialSyncStatus, type SyncStatus } from './sync/sync-status.js';
import { parseControlPlanes } from './sync/control-planes.js';
import { ClusterNode, type ClusterPolicyStatus } from './ratelimit/cluster-node.js';
import { loadOrCreateNodeId } from './sync/node-id.js';
import {
  SnapshotApplier,
  type ConfigCompiler,
  type HeldConfig,
  type RefusalReport,
} from './sync/snapshot-applier.js';
import { SnapshotCache } from './sync/snapshot-cache.js';
import type { JetStreamBoot, JetStreamBootStatus } from './sync/jetstream-boot.js';
import { VersionFloor } from './sync/version-floor.js';
import { SnapshotExpiryWatch } from './sync/snapshot-expiry.js';
import { WorkerPool } from './workers/worker-pool.js';
import type { LogSettings } from './workers/protocol.js';
import { NodeTelemetry, workerFlushMs, type TrafficSummaryStatus } from './telemetry/node-telemetry.js';
import type { RequestPolicy } from './proxy/request-head.js';
import { ClientConnections, type ClientLimits } from './proxy/client-connections.js';
import type { UpstreamClient } from './proxy/pool-spec.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface PluginInfo {
  name: string;
  version: string;
}

export interface DataPlaneOptions {
  /**
   * CP cluster address(es): host:port, or several comma-separated (replicas of one fleet; the DP
   * fails over between them). Without it the DP serves its cached snapshot only.
   */
  controlPlane?: string;
  /**
   * DB-less mode: serve this declarative file (Kong 3.0 format, YAML or JSON) with no control
   * plane; `reload()` re-reads it. Exclusive with `controlPlane`; no snapshot cache is used.
   */
  declarativeFile?: string;
  /** JWKS files with the public keys snapshots must be signed with (plain mode). */
  trustedKeyFiles?: string[];
  /**
   * Root-key mode: the root public key (JWK or JWKS) that certifies the CP's signing keys
   * (docs/security.md, "Signing keys"). Default `<dataDir>/snapshot-root.pub.json` if that file
   * exists. One of this and `trustedKeyFiles` is required unless DB-less.
   */
  clusterRootKeyFile?: string;
  /** Folder for the node id, the last good snapshot and the highest version accepted. */
  dataDir: string;
  /** 32-byte AES-256-GCM key: the snapshot cache is encrypted at rest (`GATEHOUSE_CACHE_KEY`). */
  cacheKey?: Buffer;
  /**
   * Accept a signed snapshot older than the highest version this DP has accepted (at boot from
   * the cache, or from the CP). Weakens rollback protection; default false.
   */
  allowVersionRollback?: boolean;
  /** Worker processes (default: os.availableParallelism()). */
  workers?: number;
  /** Bytes of each worker's proxy-cache memory store (default 128 MiB). */
  proxyCacheMemorySize?: number;
  /** The HTTP/1.1 client of plain-HTTP upstreams (default DEFAULT_UPSTREAM_CLIENT). */
  upstreamClient?: UpstreamClient;
  /** The access log (default off here; the CLI defaults to a file) and the syslog server. */
  logs?: LogSettings;
  proxyListen: ListenAddress;
  /** Kong's trusted_ips: proxies in front whose X-Forwarded-For names the client. */
  trustedIps?: string[];
  /** Kong's dns_* settings (--dns-resolver, ...): default the system's (resolv.conf, /etc/hosts). */
  dns?: DnsSettings;
  /** Request-line, path and header rules of every worker's proxy (see ProxyServerOptions). */
  requestPolicy?: Partial<RequestPolicy>;
  /** Client connection limits of the proxy: header/body/request timeouts (408), keep-alive, per-IP cap. */
  clientLimits?: Partial<ClientLimits>;
  /** HTTP/2 at the edge (`--http2-*`): h2 on the HTTPS listener, h2c on the plain one, stream and header limits. */
  http2?: Partial<Http2Settings>;
  /** HTTPS proxy listener (certificates chosen by SNI from the config); none when absent. */
  proxyTlsListen?: ListenAddress;
  /** Default certificate for the HTTPS listener when no SNI matches (default: self-signed, made at start). */
  tlsCertificate?: { cert: string; key: string };
  /** Versions and ciphers of the HTTPS listener (`--ssl-cipher-suite`…); default Kong's `intermediate`. */
  tlsPolicy?: TlsPolicy;
  statusListen: ListenAddress;
  /** Default: generated once and kept in `<dataDir>/node-id`. */
  nodeId?: string;
  region?: string;
  /**
   * NATS server(s), comma-separated (`--nats-url`, `NATS_URL`; credentials as user:pass@ or
   * token@): the `cluster` rate-limiting policy exchanges counts with the region's other DPs over
   * it, and traffic summaries go on it. One connection for the process. Unset: per-DP counting.
   */
  natsUrl?: string | undefined;
  /** TLS files for the NATS connection (`--nats-tls-ca/-cert/-key`). */
  natsTls?: NatsTlsFiles | undefined;
  /**
   * With `natsUrl`: when no disk cache gave a config, read the newest signed snapshot from the
   * CP's JetStream store (`--jetstream-snapshots`, default true); verified as on the stream.
   */
  jetstreamBoot?: boolean;
  /**
   * Traffic summaries to the CP every this many ms (`--traffic-summary-interval`, default 10 s):
   * over NATS with `natsUrl`, else on the CP stream. 0: none (DB-less without NATS sends none).
   */
  trafficSummaryIntervalMs?: number;
  labels?: Record<string, string>;
  logger: Logger;
  /**
   * Cluster channel TLS, required with `controlPlane`: this DP's certificate files (loaded and
   * checked at start; `serverName` is Kong's cluster_server_name for pki mode), or
   * `{ mode: 'off' }` for plaintext (tests where the channel is not under test).
   */
  clusterTls?: (ClusterTlsFiles & { serverName?: string }) | { mode: 'off' };
  sync?: {
    backoff?: BackoffOptions;
    heartbeatIntervalMs?: number;
    watchdogMs?: number;
    refusalDelayMs?: number;
    channelOptions?: grpc.ChannelOptions;
  };
  /** Max wait for all workers to swap a config (default 15 s). */
  applyTimeoutMs?: number;
  /** Max drain time for in-flight requests at stop (default 10 s). */
  drainTimeoutMs?: number;
  /** Folders of custom plugins, for the plugin list said in Hello (see loadPluginRegistry). */
  pluginDirs?: string[];
  /**
   * The plugins said in Hello. Default: the plugin registry's `pluginInfos()`. Overriding it is
   * for tests only (a DP pretending to lack a plugin); the workers still run the real registry.
   */
  plugins?: PluginInfo[];
  /** The software version said in Hello and /status. Default GATEHOUSE_VERSION. Tests only. */
  softwareVersion?: string;
  /** Reads the declarative file. Default loadDeclarativeFile from @gatehouse/shared. */
  loadDeclarative?: DeclarativeLoader;
}

export interface DataPlaneStatus {
  node_id: string;
  hostname: string;
  region: string | null;
  labels: Record<string, string>;
  software_version: string;
  uptime_seconds: number;
  ready: boolean;
  config: {
    version: string;
    hash: string;
    source: string;
    applied_at: string;
    /** The key id of the snapshot's signature (null: DB-less). */
    kid: string | null;
    /** When the signed snapshot expires (ISO; null: no expiry) and whether it has (still served). */
    expires_at: string | null;
    expired: boolean;
  } | null;
  /** DB-less mode: the file served and the outcome of the last reload; null otherwise. */
  declarative: DeclarativeStatus | null;
  sync: SyncStatus & {
    /** The last snapshot from the CP this DP refused (null once a later one is applied). */
    last_refusal: RefusalReport | null;
  };
  /** The disk cache (null in DB-less mode, which keeps none). */
  cache: {
    file: string;
    encrypted: boolean;
    /** Highest snapshot version accepted (persisted), decimal; null when none. */
    highest_version: string | null;
    allow_version_rollback: boolean;
    /** Why the cached snapshot was refused at boot (null when it was served, or there was none). */
    last_refusal: RefusalReport | null;
    /**
     * The cached snapshot passed every check but a worker died or timed out while taking it
     * (GH_ERR_DP_CONFIG_APPLY); null otherwise. Not a refusal: the snapshot is not at fault.
     */
    last_apply_failure: RefusalReport | null;
  } | null;
  workers: { configured: number; alive: number; serving: number; restarts: number };
  proxy: { host: string; port: number | null };
  /** The process's NATS connection (null without a NATS URL). */
  nats: NatsLinkStatus | null;
  /** The `cluster` rate-limit policy's NATS link (null while no config uses it). */
  rate_limiting: { cluster: ClusterPolicyStatus | null };
  /** Traffic summaries to the CP (null when off). */
  traffic_summaries: TrafficSummaryStatus | null;
  /** Cold start from the JetStream snapshot store (null when it did not run). */
  jetstream_boot: JetStreamBootStatus | null;
}

export interface DataPlane {
  readonly nodeId: string;
  /** Where the status server listens (port resolved when started with 0). */
  readonly statusAddress: AddressInfo;
  /** The port the proxy listens on (from start; resolved when started with 0). */
  proxyPort(): number | null;
  ready(): boolean;
  status(): DataPlaneStatus;
  readonly pool: WorkerPool;
  readonly applier: SnapshotApplier;
  /** Target health of this node: the active checks run here, once, and reach every worker. */
  readonly health: NodeHealth;
  readonly configClient: ConfigClient | null;
  readonly metrics: DataPlaneMetrics;
  /**
   * DB-less mode: reads the declarative file again; a good file swaps in, a bad one is refused
   * (logged, in /status `declarative.last_reload_error`) and the config served stays. Never
   * throws. With a control plane there is nothing to reload: resolves with ok false.
   */
  reload(): Promise<ReloadOutcome>;
  /** Stops the CP stream, drains and stops the workers, closes the status server. */
  stop(): Promise<void>;
}

/** The CP channel's TLS files from `clusterTls` (required with a control plane), read and checked. */
async function loadChannelTls(options: DataPlaneOptions): Promise<ClusterClientTls> {
  const tls = options.clusterTls;
  if (!tls) {
    throw ConfigErrors.clusterTls(
      "the cluster channel requires mutual TLS: give the data plane's certificate files (clusterTls), or { mode: 'off' } for plaintext",
    );
  }
  if (tls.mode === 'off') {
    options.logger.warn(
      'cluster channel is plaintext (--cluster-mtls off): the control plane is not authenticated',
    );
    return { mode: 'off' };
  }
  const material = await loadClusterTls(tls);
  return { mode: tls.mode, material, serverName: tls.serverName };
}

/** The CP channel's credentials (gRPC loads here, once the cache is served). */
async function clusterChannelOf(tls: ClusterClientTls): Promise<ClusterChannel> {
  const { clusterChannel } = await import('./sync/cluster-tls.js');
  return clusterChannel(tls);
}

/**
 * What snapshots must verify under: root-key mode (`clusterRootKeyFile`, or the data folder's
 * root public key) with the newest revocation list seen cached in the data folder; else plain
 * mode (the JWKS files); a DB-less DP takes no snapshot.
 */
async function resolveTrust(options: DataPlaneOptions, dbless: boolean): Promise<TrustedKeys> {
  const plainFiles = options.trustedKeyFiles ?? [];
  let rootFile = options.clusterRootKeyFile;
  if (rootFile === undefined && !dbless) {
    const inFolder = join(options.dataDir, ROOT_PUBLIC_KEY_FILE);
    if (
      await access(inFolder).then(
        () => true,
        () => false,
      )
    )
      rootFile = inFolder;
  }
  if (rootFile === undefined) {
    if (dbless && plainFiles.length === 0) return new Map();
    return loadTrustedKeys(plainFiles);
  }
  const log = options.logger;
  const trust = await loadRootTrust({
    rootKeyFile: rootFile,
    revocationsFile: join(options.dataDir, REVOCATIONS_CACHE_FILE),
    warn: (msg, err) => log.warn({ err }, msg),
    ...(plainFiles.length ? { plainKeys: await loadTrustedKeys(plainFiles) } : {}),
  });
  log.info(
    {
      rootKey: rootFile,
      revocationList: trust.revocations?.claims.version ?? null,
      plainKeys: plainFiles.length > 0,
    },
    'snapshots must be signed by a key the root key certified',
  );
  return trust;
}

export async function startDataPlane(options: DataPlaneOptions): Promise<DataPlane> {
  const { logger } = options;
  const startedAt = Date.now();
  const dbless = options.declarativeFile !== undefined;
  if (dbless && options.controlPlane) {
    throw ConfigErrors.invalidSetting(
      'a data plane takes its config either from a control plane or from a declarative file (DB-less), not both',
    );
  }
  const trustedKeys = await resolveTrust(options, dbless);
  try {
    // Checked here once (each worker builds its own): a bad combination stops the start.
    new ClientConnections(options.clientLimits).close();
    http2Settings(options.http2);
  } catch (e) {
    throw ConfigErrors.invalidSetting((e as Error).message);
  }
  const controlPlanes = options.controlPlane ? parseControlPlanes(options.controlPlane) : null;
  const channelTls = controlPlanes ? await loadChannelTls(options) : null;
  const softwareVersion = options.softwareVersion ?? GATEHOUSE_VERSION;
  await mkdir(options.dataDir, { recursive: true });
  const nodeId = options.nodeId ?? (await loadOrCreateNodeId(options.dataDir, logger));
  const hostname = osHostname();
  const workers = options.workers ?? availableParallelism();
  const dnsConfig = options.dns ?? dnsSettings();
  const log = logger.child({ node_id: nodeId });

  const metrics = new DataPlaneMetrics();
  metrics.setSyncState(options.controlPlane ? 'disconnected' : 'disabled');
  const tls = options.proxyTlsListen
    ? {
        ...options.proxyTlsListen,
        ...(options.tlsCertificate ??
          createCertificate({ commonName: 'localhost', altNames: ['localhost'] })),
        policy: options.tlsPolicy ?? DEFAULT_TLS_POLICY,
      }
    : null;
  // The process's one NATS connection (traffic summaries, the cluster policy), connecting in the
  // background; closed last. Throws on a malformed URL or an unreadable TLS file.
  const nats = options.natsUrl
    ? connectNats({
        settings: { url: options.natsUrl, tls: options.natsTls ?? {} },
        name: `gatehouse-dp-${nodeId}`,
        logger: log,
      })
    : undefined;
  // The node's one `cluster` rate-limit policy (NATS), while a config uses it; workers count
  // through it over IPC.
  const clusterLimits = new ClusterNode({
    nats,
    region: options.region,
    nodeId,
    logger: log,
    onLocalDecision: () => metrics.clusterRateLimitLocalDecisions.inc(),
  });
  metrics.clusterPolicy = () => clusterLimits.status();
  const trafficPeriodMs = dbless && !options.natsUrl ? 0 : (options.trafficSummaryIntervalMs ?? 10_000);
  const nodeLedger = new MemoryLedger();
  // oauth2 access tokens revoked outside the config (pushed by the CP, or revoked by a refresh
  // redeemed here): the node's list, passed to every worker.
  const revoked = new RevokedTokens();
  metrics.oauth2RevocationList = () => revoked;
  const revoke = (tokens: Iterable<unknown>) => pool.broadcastOAuth2Revocations(revoked.add(tokens));
  let client: ConfigClient | null = null;
  const pool = new WorkerPool({
    trafficFlushMs: workerFlushMs(trafficPeriodMs),
    clusterCounters: () => clusterLimits.counters(),
    // oauth2 codes and refresh tokens are single use through the control plane; a DB-less node
    // keeps its own ledger (single use on this node only: docs/plugins.md, oauth2).
    // A refresh redeemed here revokes the old access token on this node at once (the CP's push
    // reaches the other nodes; a DB-less node has only this).
    redeemGrant: async (m) => {
      const cp = client;
      const result = await (cp === null
        ? nodeLedger.redeem(m.grant, m.alsoRevoke)
        : // The cluster messages load with the stream, after the cache is served (start path).
          import('@gatehouse/proto').then(({ oauth2Redemption }) =>
            cp.redeemOAuth2Grant(
              oauth2Redemption(
                { ...m.grant, expiresAt: BigInt(m.grant.expiresAt) },
                m.alsoRevoke.map((t) => ({ ...t, expiresAt: BigInt(t.expiresAt) })),
              ),
            ),
          ));
      if (result === 'redeemed') revoke(m.alsoRevoke);
      return result;
    },
    revokedTokens: () => revoked.list(),
    // A worker that (re)applies a config catches up with the node's health.
    unhealthyTargets: () => nodeHealth.unhealthyTargets(),
    pluginDirs: options.pluginDirs ?? [],
    trustedIps: options.trustedIps ?? [],
    dns: dnsConfig,
    requestPolicy: options.requestPolicy ?? {},
    clientLimits: options.clientLimits,
    http2: options.http2,
    proxyCacheMemorySize: options.proxyCacheMemorySize,
    upstreamClient: options.upstreamClient,
    logs: options.logs,
    tls,
    size: workers,
    listen: options.proxyListen,
    logger: log,
    applyTimeoutMs: options.applyTimeoutMs,
    drainTimeoutMs: options.drainTimeoutMs,
  });
  const nodeHealth = new NodeHealth(
    log,
    (changes) => pool.broadcastHealth(changes),
    // The CP hears of a target health change with the next heartbeat, sent soon.
    () => client?.reportSoon(),
  );
  pool.on('workers', (n) => metrics.workersAlive.set(n));
  pool.on('restart', () => metrics.workerRestarts.inc());
  pool.on('health', (change) => nodeHealth.report(change));
  // The workers boot (load their modules) while this process does the rest: the cached snapshot
  // is read and verified meanwhile and handed to them as they become ready (a round waits for a
  // booting worker), so each compiles it before it listens. Awaited below.
  const booting = pool.start();
  booting.catch(() => undefined);
  try {
    return await startWhileBooting(booting);
  } catch (e) {
    await pool.stop();
    throw e;
  }

  // The rest of the start, while the workers boot; stops what it started if it fails.
  async function startWhileBooting(booting: Promise<void>): Promise<DataPlane> {
    // One registry for the plugin list in Hello and the checks of a DB-less file; each worker loads
    // the same folders itself. The primary serves no traffic: it never opens an upstream pool.
    const registry = await loadPluginRegistry({
      customDirs: options.pluginDirs ?? [],
      handlers: 'on-demand',
    });
    // The node's request series: the workers' deltas, pulled at each scrape of /metrics.
    const series = new NodeSeries({
      nodeId,
      version: softwareVersion,
      cpConnected: () => (metrics.syncState === 'connected' ? 1 : 0),
      upstreamHealth: () => nodeHealth.health(),
    });
    series.register(metrics.registry);
    pool.on('metrics', (worker, delta) => series.add(worker, delta));

    // The workers compile each config (and refuse one they cannot serve: no worker swaps it in).
    // The primary serves no traffic and parses no config: it compiles only the upstreams of the
    // node part a worker sends back, and once every worker serves the config, the node's active
    // health checks follow those upstreams.
    // The primary resolves the upstreams' host-name targets too (its own resolver), so its active
    // checks probe each address; a changed answer recompiles the upstreams it checks.
    const dns = new DnsResolver(dnsConfig, { logger: log });
    let dnsNode: { node: NodeConfig; view: DnsView } | null = null;
    const compileNode = (node: NodeConfig): { upstreams: UpstreamSet; view: DnsView } => {
      const view = new DnsView(dns);
      return { upstreams: compileUpstreams(completeConfig(node), nodeHealth.serving, undefined, view), view };
    };
    const commitDns = (node: NodeConfig, view: DnsView): void => {
      dnsNode = view.names.size === 0 ? null : { node, view };
      dns.track(view.names);
    };
    dns.onChange((name) => {
      if (dnsNode === null || !dnsNode.view.names.has(name)) return;
      const { upstreams, view } = compileNode(dnsNode.node);
      nodeHealth.commit(upstreams);
      commitDns(dnsNode.node, view);
    });
    const compiler: ConfigCompiler = {
      compile(node) {
        const { upstreams, view } = compileNode(node);
        return () => {
          nodeHealth.commit(upstreams);
          commitDns(node, view);
          series.setKongExport(node.kongExport);
          clusterLimits.follow(node.usesClusterPolicy);
        };
      },
    };
    const cache = new SnapshotCache(options.dataDir, log, { key: options.cacheKey });
    const floor = new VersionFloor(options.dataDir, log);
    await floor.load();
    const allowRollback = options.allowVersionRollback ?? false;
    if (allowRollback) {
      log.warn('--allow-version-rollback: snapshots older than the highest version accepted are served');
    }
    const applier = new SnapshotApplier({
      trustedKeys,
      compiler,
      target: pool,
      cache,
      floor,
      allowRollback,
      logger: log,
      metrics,
    });
    const expiry = new SnapshotExpiryWatch({ held: () => applier.held, logger: log, metrics });
    applier.on('applied', () => expiry.check());
    expiry.start();
    let coldStart: JetStreamBoot | null = null;
    const telemetry = new NodeTelemetry({
      nodeId,
      region: options.region,
      nats,
      periodMs: trafficPeriodMs,
      stream: dbless ? null : { name: 'stream', send: (s) => client?.sendTrafficSummary(s) ?? false },
      serving: () => pool.serving,
      configuredWorkers: workers,
      hasConfig: () => applier.held !== null,
      logger: log,
    });
    const declarative = dbless
      ? new DeclarativeSource({
          file: options.declarativeFile!,
          applier,
          load: slicedLoader(
            options.loadDeclarative ??
              // The YAML parser loads only in DB-less mode.
              (async (path) =>
                (await import('@gatehouse/shared/declarative/load')).loadDeclarativeFile(path, {
                  plugins: registry,
                })),
            { region: options.region ?? '', labels: options.labels ?? {} },
          ),
          logger: log,
        })
      : null;

    const ready = () => applier.held !== null;
    const status = (): DataPlaneStatus => {
      const held: HeldConfig | null = applier.held;
      return {
        node_id: nodeId,
        hostname,
        region: options.region ?? null,
        labels: options.labels ?? {},
        software_version: softwareVersion,
        uptime_seconds: Math.round((Date.now() - startedAt) / 1000),
        ready: ready(),
        config: held && {
          version: held.version.toString(),
          hash: held.hash,
          source: held.source,
          applied_at: held.appliedAt.toISOString(),
          kid: held.kid,
          expires_at: held.expiresAt === null ? null : new Date(held.expiresAt * 1000).toISOString(),
          expired: expiry.expired,
        },
        declarative: declarative?.status ?? null,
        sync: {
          ...(client?.syncStatus ?? initialSyncStatus('disabled')),
          last_refusal: applier.lastRefusal('control_plane'),
        },
        cache: dbless
          ? null
          : {
              file: cache.file,
              encrypted: cache.encrypted,
              highest_version: floor.version?.toString() ?? null,
              allow_version_rollback: allowRollback,
              last_refusal: applier.lastRefusal('cache'),
              last_apply_failure: applier.lastCacheApplyFailure,
            },
        workers: {
          configured: workers,
          alive: pool.alive,
          serving: pool.serving,
          restarts: pool.restartCount,
        },
        proxy: { host: options.proxyListen.host, port: pool.port },
        nats: nats?.status() ?? null,
        rate_limiting: { cluster: clusterLimits.status() },
        traffic_summaries: telemetry.status(),
        jetstream_boot: coldStart?.status() ?? null,
      };
    };

    const statusServer = new StatusServer({
      status,
      ready,
      registry: metrics.registry,
      beforeMetrics: () => {
        series.beginScrape();
        expiry.check();
        return pool.pullMetrics();
      },
      logger: log,
    });
    const statusAddress = await statusServer.listen(options.statusListen.port, options.statusListen.host);
    log.info({ host: statusAddress.address, port: statusAddress.port }, 'status server listening');

    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      expiry.stop();
      await coldStart?.stop();
      await client?.stop();
      await pool.stop();
      await telemetry.close();
      await clusterLimits.close();
      await nats?.close();
      await statusServer.close();
      nodeHealth.close();
      dns.close();
      log.info('data plane stopped');
    };

    try {
      let cached = false;
      if (declarative) {
        await declarative.start();
      } else if (await applier.loadFromCache()) {
        cached = true;
        log.info({ version: applier.held?.version.toString() }, 'serving the cached snapshot');
      }
      await booting;
      log.info({ workers }, 'workers started');
      if (!declarative && !cached && nats && options.jetstreamBoot !== false) {
        const { JetStreamBoot } = await import('./sync/jetstream-boot.js');
        coldStart = new JetStreamBoot({
          nats,
          sliceKey: sliceKeyOf(options.region, options.labels),
          applier,
          nodeId,
          logger: log,
          onResult: (result) => metrics.jetstreamBoot.inc({ result }),
        });
        coldStart.start();
      }
      if (controlPlanes) {
        const plugins = options.plugins ?? registry.pluginInfos();
        const channel = await clusterChannelOf(channelTls!);
        const { ConfigClient } = await import('./sync/config-client.js');
        client = new ConfigClient({
          controlPlanes,
          applier,
          node: {
            nodeId,
            hostname,
            region: options.region,
            labels: options.labels,
            softwareVersion,
            plugins,
          },
          logger: log,
          credentials: channel.credentials,
          channelOptions: { ...channel.channelOptions, ...options.sync?.channelOptions },
          backoff: options.sync?.backoff,
          heartbeatIntervalMs: options.sync?.heartbeatIntervalMs,
          watchdogMs: options.sync?.watchdogMs,
          refusalDelayMs: options.sync?.refusalDelayMs,
          health: () => ({ ...telemetry.health(), ...targetHealthReport(nodeHealth.unhealthyTargets()) }),
        });
        client.on('state', (s) => metrics.setSyncState(s));
        // A heartbeat goes right after Hello, while the node may still be 'starting'; once a config
        // is applied its health changes, so the CP hears of it at once rather than a period later.
        client.on('ack', () => client?.reportSoon());
        client.on('reconnect', () => metrics.cpReconnects.inc());
        client.on('refusal', (r) => metrics.cpRefusals.inc({ sync_status: r.syncStatus }));
        client.on('targetHealth', (order) => {
          const found = nodeHealth.setByOperator(order.upstreamId, order.target, order.healthy);
          log.info(
            { upstream: order.upstreamId, target: order.target, healthy: order.healthy, found },
            'target health set by the control plane (Admin API)',
          );
        });
        client.on('oauth2Revoked', (tokens) => revoke(tokens));
        client.on('purge', (order) => {
          log.info({ plugin_id: order.pluginId, key: order.key }, 'proxy-cache purge from the control plane');
          pool.broadcastPurge(order);
        });
        client.start();
      } else if (!declarative) {
        log.warn('no control plane given; serving the cached snapshot only');
      }
    } catch (e) {
      await stop();
      throw e;
    }

    return {
      nodeId,
      statusAddress,
      proxyPort: () => pool.port,
      ready,
      status,
      pool,
      applier,
      health: nodeHealth,
      get configClient() {
        return client;
      },
      metrics,
      reload: () =>
        declarative
          ? declarative.reload().then((outcome) => {
              metrics.declarativeReloads.inc({
                result: !outcome.ok ? 'refused' : outcome.changed ? 'applied' : 'unchanged',
              });
              return outcome;
            })
          : Promise.resolve({
              ok: false as const,
              code: 'GH_ERR_CONFIG_INVALID_SETTING',
              message: 'nothing to reload: this data plane takes its config from a control plane, not a file',
            }),
      stop,
    };
  }
}
