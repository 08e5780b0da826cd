/**
 * Wires one control-plane process: database (PGlite or Postgres), Admin API, snapshot
 * publisher and the cluster gRPC server. Used by `gatehouse cp` and by tests.
 */
import { grantRedeemer, startOAuth2Purge, type RevokedListener } from './oauth2/grant-redemption.js';
import {
  DEFAULT_OAUTH2_KEY_SETTINGS,
  startOAuth2KeyRotation,
  type OAuth2KeySettings,
} from './oauth2/signing-keys.js';
import { liveRevokedTokens } from './store/oauth2-used-tokens.js';
import { MAX_OAUTH2_REVOCATIONS } from '@gatehouse/proto';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  CLUSTER_CERT_FILES,
  clusterTlsFiles,
  ConfigErrors,
  DEV_CLUSTER_CERT_DIR,
  loadClusterTls,
  loadSigningKey,
  parseNatsUrl,
  PRIVATE_KEY_FILE,
  PUBLIC_KEYS_FILE,
  writeRootKeyPair,
  type ClusterTlsSettings,
  type Listen,
  type Logger,
} from '@gatehouse/shared';
import { createAdminApp } from './admin/index.js';
import { DEFAULT_AUDIT_RETENTION_MS, startAuditRetention } from './audit/retention.js';
import { ControlPlaneMetrics } from './admin/metrics.js';
import { oauth2TokenEndpoints } from './admin/oauth2-token-endpoints.js';
import { proxyCacheEndpoints } from './admin/proxy-cache-endpoints.js';
import { upstreamHealthEndpoints } from './admin/upstream-health-endpoints.js';
import { Analytics, DEFAULT_RETENTION_MS } from './analytics/index.js';
import {
  adminGuiOrigins,
  checkAdminAccess,
  isLoopbackListen,
  type AdminAccessPolicy,
} from './admin/access.js';
import { ADMIN_GUI_LISTEN, parseAdminGuiListen, type GuiListener } from './admin/access-settings.js';
import {
  ADMIN_GUI_SSL_CERT,
  ADMIN_GUI_SSL_CERT_KEY,
  createAdminHttpsServer,
  resolveAdminTls,
} from './admin/admin-tls.js';
import { LoginThrottle } from './admin/login-throttle.js';
import { adminRoutes, type AdminRoute } from './admin/routes.js';
import { RbacErrors } from '@gatehouse/shared';
import { RbacStore, SEED_ADMIN_NAME } from './rbac/rbac-store.js';
import { loadPluginSchemas } from '@gatehouse/data-plane/schemas';
import {
  createClusteringRouter,
  createFleet,
  DataPlaneRegistry,
  generateClusterCerts,
  startClusterServer,
  type ClusterServerTls,
} from './cluster/index.js';
import { createConfigRouter } from './declarative/index.js';
import {
  createConfigHistoryRouter,
  DEFAULT_CONFIG_HISTORY_RETENTION,
  parseHistoryRetention,
  startConfigHistory,
  type ConfigHistoryRetention,
} from './history/index.js';
import { connectReplicas, createCpMessaging, ReplicaErrors, type NatsTlsOptions } from './messaging/index.js';
import { DataFolderLock, databaseDir } from './data-folder.js';
import { openDatabase } from './db/index.js';
import { useLeanHeap } from './heap-sizing.js';
import { nodeConfiguration } from './node-info.js';
import { RolloutManager } from './rollouts/manager.js';
import { createRolloutRouter } from './rollouts/router.js';
import { SnapshotDeltas, SnapshotPublisher, storeSnapshotsInJetStream } from './snapshot/index.js';
import { ConfigStore } from './store/index.js';
import { createKeysRouter, hasCertifiedKeys, rotateSigningKey, SigningKeyring } from './keys/index.js';
import { fileExists } from './files.js';
import { loadSnapshotHook } from './cluster/test-hook.js';
import { startAdminGui } from './admin-gui/server.js';

/** Snapshots and deltas expire this long after they are signed (a DP then alerts, and keeps serving). */
export const DEFAULT_SNAPSHOT_TTL_SECONDS = 7 * 24 * 3600;

export interface ControlPlaneOptions {
  adminListen: Listen;
  clusterListen: Listen;
  dataDir: string;
  databaseUrl?: string;
  /** Plain mode: one signing key (private JWK); no certificate. */
  signingKeyFile?: string;
  /**
   * Root-key mode: the folder of root-certified signing keys (keys/key-store.ts; default
   * `<dataDir>/keys`). Dev mode makes a root key and a first certified key there if the folder
   * holds no key at all.
   */
  signingKeysDir?: string;
  /** How often the keys folder is read again (rotation, revocation). Default 2000 ms; 0: never. */
  signingKeysReloadMs?: number;
  /** Snapshot expiry, seconds after signing (default 7 days; 0: snapshots carry no expiry). */
  snapshotTtlSeconds?: number;
  /**
   * The oauth2 token signing keys' schedule (oauth2/signing-keys.ts; default: a new key every 30
   * days, signing 300 s after it is made) and how often it is checked (default 60 s).
   */
  oauth2Keys?: Partial<OAuth2KeySettings> & { checkMs?: number };
  dev: boolean;
  cpId?: string;
  /** Folders with custom plugins (their schemas validate plugin config at write time). */
  pluginsDirs?: string[];
  /** Admin API token (required on a non-loopback `adminListen`), allowed origins and hosts. */
  adminToken?: string;
  adminOrigins?: string[];
  adminHosts?: string[];
  /**
   * Where the admin UI is served (Kong's `admin_gui_listen`; default that of `--admin-gui-listen`,
   * 127.0.0.1:8002; `[]` for none): its origins are allowed as `adminOrigins` are.
   */
  adminGuiListen?: GuiListener[];
  /**
   * The admin UI's static build (ui/dist). Unset: no UI is served (the listeners above still
   * decide the allowed origins); `gatehouse cp` sets it.
   */
  adminGuiDir?: string;
  /** The Admin API origin the UI calls (Kong's `admin_gui_api_url`; default this CP's). */
  adminGuiApiUrl?: string;
  /**
   * Kong's `enforce_rbac` (`--enforce-rbac on`): Admin API requests need an RBAC user's token and
   * its roles' permission. `adminToken` seeds the first super admin (`kong_admin`); without one
   * and without any super admin in the database the CP refuses to start.
   */
  enforceRbac?: boolean;
  /**
   * Login throttling of failed Admin API tokens per client address (unset or maxFailures 0: none;
   * `gatehouse cp` passes its settings, default 10 per 60 s).
   */
  loginThrottle?: { maxFailures: number; windowMs: number };
  /**
   * The Admin API over HTTPS (unset: no HTTPS listener; `gatehouse cp` defaults it to the admin
   * host, port 8444), with the certificate files given or one generated in `<dataDir>/admin-tls`.
   */
  adminSslListen?: Listen;
  adminSslCert?: string;
  adminSslCertKey?: string;
  /**
   * The admin UI's `ssl` listeners' certificate (Kong's `admin_gui_ssl_cert`); default: the HTTPS
   * Admin API's (the files given, or the self-signed pair in `<dataDir>/admin-tls`).
   */
  adminGuiSslCert?: string;
  adminGuiSslCertKey?: string;
  /**
   * Cluster channel mutual TLS (default mode pki). Outside dev mode the certificate files are
   * required; in dev mode missing ones are generated in `<dataDir>/cluster`. Mode `off`
   * (plaintext) is for tests where the channel is not under test.
   */
  clusterTls?: ClusterTlsSettings & {
    /** pki: accept only DP certificates with one of these common names (empty: any signed by the CA). */
    allowedCommonNames?: string[];
  };
  /**
   * NATS server(s) (NATS_URL): this CP is one of several replicas over one Postgres; writes and
   * proxy-cache purges are published to the others, and DPs' traffic summaries arrive on it (unset:
   * on the cluster streams only). Requires `databaseUrl`.
   */
  natsUrl?: string;
  /** TLS files for the NATS connection (CA to verify the server; client certificate and key). */
  natsTls?: NatsTlsOptions;
  /**
   * With `natsUrl`: store the newest signed snapshot in JetStream (KV bucket `gatehouse_snapshots`)
   * for data planes that start with no disk cache while no CP answers. Default true.
   */
  jetstreamSnapshots?: boolean;
  /** Delta sync to DPs that take deltas (`--cluster-deltas`). Default true; false: full snapshots only. */
  clusterDeltas?: boolean;
  /**
   * How long /analytics keeps traffic beyond the hour in memory, in the database (its hourly
   * tier; default 7 days; 0: no history).
   */
  analyticsRetentionMs?: number;
  /** How often each replica re-reads the staged rollout state and (on one) judges the gate. Default 1000 ms. */
  rolloutTickMs?: number;
  /** The 5-minute tier's retention (default 2 days; at most analyticsRetentionMs). */
  analyticsRetention5mMs?: number;
  /** How long audit log entries are kept (`--audit-retention`; default 30 days; 0: forever). */
  auditRetentionMs?: number;
  /** What the config history keeps (`--config-history-retention`; default the newest 100 versions). */
  configHistoryRetention?: ConfigHistoryRetention;
  logger: Logger;
}

export interface ControlPlane {
  adminUrl: string;
  /** The HTTPS Admin API (`https://host:port`), when it listens. */
  adminHttpsUrl?: string;
  /** Every Admin API route (path and methods), read from its router (admin/routes.ts). */
  adminRoutes(): AdminRoute[];
  clusterAddress: string;
  cpId: string;
  stop(): Promise<void>;
}

const REPLICAS_NEED_POSTGRES =
  'NATS_URL (--nats-url) makes this control plane one of several replicas, and replicas share one ' +
  'Postgres database: set DATABASE_URL (--database-url). The embedded PGlite database serves one process.';

/**
 * The key the CP signs with. `--signing-key`: plain mode. Otherwise the keys folder: root-key
 * mode when it holds certified keys, plain mode when it holds only the key `gatehouse keys
 * generate` writes (an older data folder), and in dev mode with no key at all a root key and a
 * first certified key are made there (root-key mode: the secure default).
 */
async function openKeyring(o: ControlPlaneOptions): Promise<SigningKeyring> {
  const ttl = o.snapshotTtlSeconds ?? DEFAULT_SNAPSHOT_TTL_SECONDS;
  const common = { logger: o.logger, snapshotTtlSeconds: ttl > 0 ? ttl : undefined };
  if (o.signingKeyFile) return SigningKeyring.plain(await loadSigningKey(o.signingKeyFile), common);
  const dir = o.signingKeysDir ?? join(o.dataDir, 'keys');
  const open = () => SigningKeyring.open({ dir, reloadMs: o.signingKeysReloadMs, ...common });
  if (await hasCertifiedKeys(dir)) return open();
  const plainFile = join(dir, PRIVATE_KEY_FILE);
  if (await fileExists(plainFile)) {
    o.logger.warn(
      { file: plainFile },
      'snapshot signing in plain mode (one key, no root certificate): see docs/security.md "Signing keys" to move to root-key mode',
    );
    return SigningKeyring.plain(await loadSigningKey(plainFile), common);
  }
  if (!o.dev) {
    throw ConfigErrors.missingKey(
      `no snapshot signing key in ${dir}. Make a root key with 'gatehouse keys root --out <offline dir>', then ` +
        `'gatehouse keys rotate --root-key <offline dir>/snapshot-root.key.json --dir ${dir}' (or pass --signing-key ` +
        `with a key from 'gatehouse keys generate'), or run with --dev to generate dev keys in the data folder`,
    );
  }
  const root = await writeRootKeyPair(dir);
  const first = await rotateSigningKey(dir, root.privateKeyFile);
  // The first key's public JWKS too, for DPs started in plain mode (--trusted-keys) against a
  // dev CP: they accept snapshots of this key (not of keys rotated in later).
  await writeFile(
    join(dir, PUBLIC_KEYS_FILE),
    JSON.stringify({ keys: [{ ...first.claims.jwk, use: 'sig' }] }, null, 2) + '\n',
  );
  o.logger.warn(
    { rootKid: root.kid, kid: first.kid, rootPublicKey: root.publicKeyFile },
    'dev mode: generated a root key and a certified snapshot signing key (the root private key stays in the data folder: dev only)',
  );
  return open();
}

/** The cluster TLS policy: the files given, or (dev) generated in the data folder. */
async function resolveClusterTls(o: ControlPlaneOptions): Promise<ClusterServerTls> {
  const settings = o.clusterTls ?? {};
  const mode = settings.mode ?? 'pki';
  if (mode === 'off') return { mode: 'off' };
  const dir = join(o.dataDir, DEV_CLUSTER_CERT_DIR);
  const devFiles = {
    cert: join(dir, mode === 'pki' ? CLUSTER_CERT_FILES.cpCert : CLUSTER_CERT_FILES.sharedCert),
    key: join(dir, mode === 'pki' ? CLUSTER_CERT_FILES.cpKey : CLUSTER_CERT_FILES.sharedKey),
    ca: join(dir, CLUSTER_CERT_FILES.ca),
  };
  const given = settings.cert !== undefined || settings.key !== undefined;
  if (o.dev && !given) {
    const needed =
      mode === 'pki' ? [devFiles.cert, devFiles.key, devFiles.ca] : [devFiles.cert, devFiles.key];
    if (!(await Promise.all(needed.map(fileExists))).every(Boolean)) {
      await generateClusterCerts(dir, { shared: true, force: true });
      o.logger.warn(
        { dir },
        'dev mode: generated cluster certificates (a CA, CP and DP certificates, a shared pair)',
      );
    }
  }
  const files = clusterTlsFiles(settings, 'control plane', o.dev && !given ? devFiles : {});
  const material = await loadClusterTls(files!);
  return { mode: material.mode, material, allowedCommonNames: settings.allowedCommonNames ?? [] };
}

async function resolveCpId(o: ControlPlaneOptions): Promise<string> {
  if (o.cpId) return o.cpId;
  const file = join(o.dataDir, 'cp-id');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const id = `${hostname()}-${randomUUID().slice(0, 8)}`;
    await writeFile(file, id + '\n');
    return id;
  }
}

function listenHttp(server: Server | HttpsServer, l: Listen, scheme = 'http'): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(l.port, l.host, () => {
      server.off('error', reject);
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : l.port;
      resolvePromise(`${scheme}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${port}`);
    });
  });
}

export async function startControlPlane(o: ControlPlaneOptions): Promise<ControlPlane> {
  const { logger } = o;
  const guiListeners = o.adminGuiListen ?? parseAdminGuiListen([ADMIN_GUI_LISTEN.default!]);
  const access: AdminAccessPolicy & { listenHost: string } = {
    token: o.adminToken,
    origins: [...adminGuiOrigins(guiListeners), ...(o.adminOrigins ?? [])],
    hosts: o.adminHosts,
    listenHost: o.adminListen.host,
  };
  checkAdminAccess({ ...access, rbacEnforced: o.enforceRbac });
  if (o.adminSslListen) {
    // The HTTPS listener's host is answered to as the HTTP one's is (when Host is checked).
    checkAdminAccess({ ...access, listenHost: o.adminSslListen.host, rbacEnforced: o.enforceRbac });
    const sslHost = o.adminSslListen.host;
    if (
      isLoopbackListen(access.listenHost) &&
      sslHost !== '0.0.0.0' &&
      sslHost !== '::' &&
      !isLoopbackListen(sslHost)
    )
      access.hosts = [...(access.hosts ?? []), sslHost];
  }
  if (o.loginThrottle && o.loginThrottle.maxFailures > 0)
    access.throttle = new LoginThrottle(o.loginThrottle);
  if (o.natsUrl) {
    parseNatsUrl(o.natsUrl);
    if (!o.databaseUrl) throw ReplicaErrors.needPostgres(REPLICAS_NEED_POSTGRES);
  }
  useLeanHeap();
  await mkdir(o.dataDir, { recursive: true });
  // The embedded database allows one process: hold the data folder's lock while we run (with
  // Postgres, several processes may share the database, so no lock).
  const lock = o.databaseUrl ? null : await DataFolderLock.acquire(o.dataDir, logger);
  const cleanups: (() => Promise<unknown>)[] = lock ? [() => lock.release()] : [];
  const stop = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (e) {
        logger.warn({ err: e }, 'error during shutdown');
      }
    }
  };
  try {
    // First: a production build given the test hook's variable refuses to start (test-hook.ts).
    const hookModule = await loadSnapshotHook();
    const signingKey = await openKeyring(o);
    cleanups.push(async () => signingKey.close());
    const cpId = await resolveCpId(o);
    const clusterTls = await resolveClusterTls(o);
    const db = await openDatabase({ databaseUrl: o.databaseUrl, dataDir: databaseDir(o.dataDir), logger });
    cleanups.push(() => db.close());
    const plugins = await loadPluginSchemas({ customDirs: o.pluginsDirs ?? [] });
    const store = new ConfigStore(db, { logger, plugins });
    const rbac = new RbacStore(db.prisma, logger);
    await rbac.seed(o.enforceRbac ? o.adminToken : undefined);
    if (o.enforceRbac) {
      if (!(await rbac.hasSuperAdmin()))
        throw RbacErrors.invalid(
          `RBAC is enforced (--enforce-rbac on) but no enabled user has the super-admin role: set the admin token ` +
            `(GATEHOUSE_ADMIN_TOKEN or --admin-token-file) to create ${SEED_ADMIN_NAME} with it`,
        );
      access.rbac = rbac;
    }
    const auditRetentionMs = o.auditRetentionMs ?? DEFAULT_AUDIT_RETENTION_MS;
    // The audit log's retention job (one replica at a time does the work; jobs/audit-retention.ts).
    const stopAuditRetention = startAuditRetention(db.prisma, auditRetentionMs, logger);
    cleanups.push(async () => stopAuditRetention());
    const publisher = new SnapshotPublisher({ source: store, key: signingKey, cpId, logger });
    const snapshotHook = hookModule
      ? await hookModule.module.startSnapshotHook(hookModule.listen, {
          publisher,
          key: signingKey,
          cpId,
          logger,
        })
      : null;
    if (snapshotHook) cleanups.push(() => snapshotHook.close());
    // Attached before the first build: the version the CP starts with is recorded too.
    const history = startConfigHistory({
      prisma: db.prisma,
      publisher,
      logger,
      retention: o.configHistoryRetention ?? parseHistoryRetention(DEFAULT_CONFIG_HISTORY_RETENTION),
    });
    cleanups.push(() => history.stop());
    await publisher.start();
    cleanups.push(async () => publisher.stop());
    // A rotated key or a new revocation list: the config is signed again (same version and bytes).
    const onKeyChange = () => publisher.resign();
    signingKey.on('changed', onKeyChange);
    cleanups.push(async () => void signingKey.off('changed', onKeyChange));
    const deltas = new SnapshotDeltas({ key: signingKey, cpId, logger });
    const registry = new DataPlaneRegistry(db.prisma, logger, { cpId });
    // The process's one NATS connection (none without NATS_URL): the replicas adapter owns it,
    // analytics and any other CP module use it through `messaging.nats`.
    const messaging = createCpMessaging({ natsUrl: o.natsUrl, tls: o.natsTls, cpId, logger });
    cleanups.push(() => messaging.close());
    const retentionMs = o.analyticsRetentionMs ?? DEFAULT_RETENTION_MS;
    const analytics = new Analytics({
      logger,
      nats: messaging.nats,
      ...(retentionMs > 0
        ? {
            history: {
              prisma: db.prisma,
              cpId,
              bootId: randomUUID().slice(0, 8),
              retentionMs,
              ...(o.analyticsRetention5mMs !== undefined
                ? { fiveMinuteRetentionMs: o.analyticsRetention5mMs }
                : {}),
            },
          }
        : {}),
    });
    cleanups.push(() => analytics.close());

    // Staged rollouts: which snapshot each DP gets while one runs, and the gate (rollouts/).
    let reoffer = () => {};
    const rollouts = new RolloutManager({
      prisma: db.prisma,
      store,
      key: signingKey,
      signer: () => publisher.signer,
      cpId,
      logger,
      tickMs: o.rolloutTickMs,
      connectedDataPlanes: () => registry.listConnected(),
      trafficByDataPlane: (fromMs, toMs) => {
        const latency = analytics.store.latencyByDataPlane(fromMs, toMs);
        return analytics.store.query({ dimension: 'data-planes', fromMs, toMs }).map((g) => ({
          nodeId: g.id ?? '',
          requests: g.requests,
          errors_5xx: g.errors_5xx,
          p99_ms: g.latency_ms.p99,
          latency: latency.get(g.id ?? ''),
        }));
      },
      reoffer: () => reoffer(),
      announce: (version) => messaging.publishConfigChanged(version),
    });
    await rollouts.start();
    cleanups.push(async () => rollouts.stop());
    const onReplicaChange = () => void rollouts.refresh();
    messaging.on('configChanged', onReplicaChange);
    cleanups.push(async () => void messaging.off('configChanged', onReplicaChange));

    let relayRevoked: RevokedListener = () => {};
    const cluster = await startClusterServer({
      host: o.clusterListen.host,
      port: o.clusterListen.port,
      publisher,
      registry,
      plugins: plugins.pluginInfos(),
      tls: clusterTls,
      logger,
      ...(o.clusterDeltas === false ? {} : { deltas }),
      ...(snapshotHook ? { tap: snapshotHook.tap } : {}),
      onTrafficSummary: (session, summary) =>
        analytics.ingest(summary, { nodeId: session.nodeId!, region: session.region }),
      select: (session, published) => rollouts.select(session, published),
      // A refresh revokes the access token it replaces: to every DP, on this replica and the others.
      redeemOAuth2Grant: grantRedeemer(store, (tokens) => relayRevoked(tokens)),
      liveOAuth2Revocations: () =>
        liveRevokedTokens(db.prisma, Math.floor(Date.now() / 1000), MAX_OAUTH2_REVOCATIONS),
    });
    cleanups.push(() => cluster.stop());
    const stopOAuth2Purge = startOAuth2Purge(store, logger);
    cleanups.push(async () => stopOAuth2Purge());
    const { checkMs: oauth2KeyCheckMs, ...oauth2KeySettings } = o.oauth2Keys ?? {};
    const stopOAuth2Keys = startOAuth2KeyRotation(
      store,
      logger,
      { ...DEFAULT_OAUTH2_KEY_SETTINGS, ...oauth2KeySettings },
      oauth2KeyCheckMs,
    );
    cleanups.push(async () => stopOAuth2Keys());
    reoffer = () => cluster.reoffer();

    // The other replicas (a no-op without NATS_URL); unwired before the cluster server stops.
    const replicas = connectReplicas({ messaging, store, publisher, local: cluster, logger });
    relayRevoked = (tokens) => replicas.oauth2RevocationRelay.broadcastOAuth2Revocations(tokens);
    cleanups.push(async () => replicas.stop());
    if (o.natsUrl && o.jetstreamSnapshots !== false) {
      const stored = storeSnapshotsInJetStream({
        messaging,
        publisher,
        logger,
        placements: () => registry.placements(),
      });
      cleanups.push(() => stored.close());
    }

    const fleet = createFleet({ registry, cpPlugins: plugins.pluginInfos() });
    const nodeInfo = (adminListen = o.adminListen) =>
      nodeConfiguration({
        adminListen,
        adminGuiListeners: guiListeners,
        database: { kind: db.kind, url: o.databaseUrl },
        cpId,
      });
    const info = nodeInfo();
    const metrics = new ControlPlaneMetrics({ dataPlanes: registry, publisher, deltas });
    const app = createAdminApp({
      store,
      logger,
      fleet,
      metrics,
      access,
      rbac,
      info,
      auditRetentionMs,
      routers: [
        createClusteringRouter(registry, publisher, { cpId, status: () => messaging.status() }),
        createKeysRouter(signingKey, registry),
        analytics.router(),
        createRolloutRouter({
          store,
          prisma: db.prisma,
          manager: rollouts,
          logger,
          plugins,
          dataPlanes: () => registry.listConnected(),
        }),
        createConfigHistoryRouter({ store, prisma: db.prisma, logger, plugins }),
        createConfigRouter(store, logger, { plugins }),
        proxyCacheEndpoints(store, replicas.purgeRelay),
        oauth2TokenEndpoints(db.prisma, replicas.oauth2RevocationRelay),
        upstreamHealthEndpoints(store, registry, replicas.targetHealthRelay, cpId),
      ],
    });
    const admin = createServer(app);
    const adminUrl = await listenHttp(admin, o.adminListen);
    // The bound port (port 0 picks one).
    Object.assign(info, nodeInfo({ host: o.adminListen.host, port: Number(new URL(adminUrl).port) }));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          admin.close(() => r());
          admin.closeAllConnections();
        }),
    );
    let adminHttpsUrl: string | undefined;
    if (o.adminSslListen) {
      const tls = await resolveAdminTls({
        cert: o.adminSslCert,
        key: o.adminSslCertKey,
        dataDir: o.dataDir,
        listenHost: o.adminSslListen.host,
      });
      if (tls.generated)
        logger.warn({ cert: tls.certFile }, 'generated a self-signed certificate for the HTTPS Admin API');
      const https = createAdminHttpsServer(app, tls);
      adminHttpsUrl = await listenHttp(https, o.adminSslListen, 'https');
      cleanups.push(
        () =>
          new Promise<void>((r) => {
            https.close(() => r());
            https.closeAllConnections();
          }),
      );
    }
    let adminGuiUrls: string[] | undefined;
    if (o.adminGuiDir && guiListeners.length > 0) {
      const sslGui = guiListeners.find((l) => l.ssl);
      const guiTls = sslGui
        ? await resolveAdminTls({
            cert: o.adminGuiSslCert ?? (o.adminGuiSslCertKey === undefined ? o.adminSslCert : undefined),
            key: o.adminGuiSslCertKey ?? (o.adminGuiSslCert === undefined ? o.adminSslCertKey : undefined),
            dataDir: o.dataDir,
            listenHost: sslGui.host,
            specs: { cert: ADMIN_GUI_SSL_CERT, key: ADMIN_GUI_SSL_CERT_KEY },
          })
        : undefined;
      if (guiTls?.generated)
        logger.warn(
          { cert: guiTls.certFile },
          'generated a self-signed certificate for the admin UI over HTTPS',
        );
      const gui = await startAdminGui(guiListeners, {
        dir: o.adminGuiDir,
        apiUrl: () => o.adminGuiApiUrl ?? adminUrl,
        // A page served over HTTPS calls the HTTPS Admin API when there is one (no mixed content).
        httpsApiUrl: () => o.adminGuiApiUrl ?? adminHttpsUrl ?? adminUrl,
        tls: guiTls,
        logger,
      });
      adminGuiUrls = gui.urls;
      cleanups.push(() => gui.close());
    }
    // Where `gatehouse config` finds us (it goes through the Admin API instead of opening the database).
    await lock?.publish({ adminUrl, clusterAddress: cluster.address, cpId });
    logger.info(
      {
        adminUrl,
        adminHttpsUrl,
        adminGuiUrls,
        adminToken: access.token !== undefined,
        rbac: o.enforceRbac === true,
        cluster: cluster.address,
        clusterMtls: clusterTls.mode,
        cpId,
        kid: signingKey.kid,
        signing: signingKey.mode,
        database: db.kind,
        messaging: messaging.state,
        pid: process.pid,
      },
      'control plane ready',
    );
    return {
      adminUrl,
      ...(adminHttpsUrl ? { adminHttpsUrl } : {}),
      adminRoutes: () => adminRoutes(app),
      clusterAddress: cluster.address,
      cpId,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
