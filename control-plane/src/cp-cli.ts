/**
 * `gatehouse cp`: parses the control plane's settings and starts it. Loaded by cli.ts only for
 * that command, so the other commands (`gatehouse keys`, `certs`, …) do not load the control
 * plane (its database, gRPC, the Admin API).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLUSTER_TLS_SETTINGS, clusterTlsSettings } from '@gatehouse/shared/cluster-tls';
import { isGatehouseError } from '@gatehouse/shared/errors';
import { createLogger } from '@gatehouse/shared/logger';
import {
  NATS_TLS_SETTINGS,
  natsSettings,
  natsUrlSetting,
  jetstreamSnapshotsSetting,
  jetstreamSnapshotsOn,
  type NatsSettings,
} from '@gatehouse/shared/nats/settings';
import { stopOnSignals } from '@gatehouse/shared/process';
import {
  parseSettings,
  settingsHelp,
  SettingsError,
  type Listen,
  type SettingSpec,
} from '@gatehouse/shared/settings';
import {
  ADMIN_ACCESS_SETTINGS,
  parseAdminGuiApiUrl,
  parseAdminGuiListen,
  resolveAdminToken,
} from './admin/access-settings.js';
import { ADMIN_TLS_SETTINGS, parseAdminSslListen } from './admin/admin-tls.js';
import {
  DEFAULT_FIVE_MINUTE_RETENTION,
  DEFAULT_RETENTION,
  parseRetention,
} from './analytics/retention-setting.js';
import { DEFAULT_SNAPSHOT_TTL_SECONDS, startControlPlane } from './control-plane.js';
import {
  DEFAULT_OAUTH2_KEY_ACTIVATION_SECONDS,
  DEFAULT_OAUTH2_KEY_ROTATION_SECONDS,
} from './oauth2/signing-keys.js';
import { DEFAULT_AUDIT_RETENTION, parseAuditRetention } from './audit/retention.js';
import {
  DEFAULT_CONFIG_HISTORY_RETENTION,
  parseHistoryRetention,
  type ConfigHistoryRetention,
} from './history/index.js';
import { fail } from './generate-cli.js';

/** The admin UI's build in this installation: control-plane/dist/cli.js → ui/dist. */
const DEFAULT_ADMIN_GUI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui', 'dist');

const CP_SETTINGS: SettingSpec[] = [
  {
    key: 'adminListen',
    flag: 'admin-listen',
    env: ['GATEHOUSE_ADMIN_LISTEN'],
    kind: 'listen',
    default: '127.0.0.1:8001',
    description: 'Admin API address (host:port). Not loopback: an admin token is required.',
  },
  ...ADMIN_ACCESS_SETTINGS,
  ...ADMIN_TLS_SETTINGS,
  {
    key: 'clusterListen',
    flag: 'cluster-listen',
    env: ['GATEHOUSE_CLUSTER_LISTEN'],
    kind: 'listen',
    default: '127.0.0.1:8005',
    description: 'Cluster gRPC address data planes connect to (host:port).',
  },
  ...CLUSTER_TLS_SETTINGS,
  {
    key: 'clusterAllowedCommonNames',
    flag: 'cluster-allowed-common-names',
    env: ['GATEHOUSE_CLUSTER_ALLOWED_COMMON_NAMES'],
    kind: 'list',
    description:
      'pki mode: comma-separated common names of the DP certificates accepted (default: any signed by --cluster-ca-cert).',
  },
  {
    key: 'dataDir',
    flag: 'data-dir',
    env: ['GATEHOUSE_DATA_DIR'],
    kind: 'string',
    default: '.gatehouse/cp',
    description:
      "Folder for the embedded database (PGlite), dev keys, the CP id, the HTTPS Admin API's generated certificate (admin-tls/), and while it runs its lock (cp.lock: one process per embedded database) and Admin API address (cp.json).",
  },
  {
    key: 'databaseUrl',
    flag: 'database-url',
    env: ['GATEHOUSE_DATABASE_URL', 'DATABASE_URL'],
    kind: 'string',
    description: 'Postgres URL; unset = embedded PGlite in the data folder.',
  },
  natsUrlSetting(
    'this CP is one of several replicas over one Postgres (requires --database-url); writes and proxy-cache purges reach every replica (gatehouse.config.changed, gatehouse.proxy-cache.purge); the DPs’ traffic summaries arrive on gatehouse.telemetry.> (for /analytics). One connection per process. Unset: one CP.',
  ),
  ...NATS_TLS_SETTINGS,
  jetstreamSnapshotsSetting(
    'With --nats-url: store the newest signed snapshot in the JetStream KV bucket gatehouse_snapshots (created if missing), so a data plane with no disk cache can start while no control plane answers. off: store nothing.',
  ),
  {
    key: 'clusterDeltas',
    flag: 'cluster-deltas',
    env: ['GATEHOUSE_CLUSTER_DELTAS'],
    kind: 'enum',
    values: ['on', 'off'],
    default: 'on',
    description:
      'Delta sync: a data plane that holds an earlier config is sent a signed delta (entity upserts and deletes) instead of the full snapshot, and falls back to the full one on any mismatch. off: every data plane gets full snapshots.',
  },
  {
    key: 'analyticsRetention',
    flag: 'analytics-retention',
    env: ['GATEHOUSE_ANALYTICS_RETENTION'],
    kind: 'string',
    default: DEFAULT_RETENTION,
    description:
      'How long /analytics keeps traffic beyond the last hour, in the database, at 1-hour resolution (a duration from 2h to 400d: 7d, 36h, …); 0 = no history, only the hour in memory.',
  },
  {
    key: 'analyticsRetention5m',
    flag: 'analytics-retention-5m',
    env: ['GATEHOUSE_ANALYTICS_RETENTION_5M'],
    kind: 'string',
    default: DEFAULT_FIVE_MINUTE_RETENTION,
    description:
      'How long the analytics history keeps its 5-minute buckets (a duration from 2h to 400d, at most --analytics-retention); longer windows are answered at 1-hour resolution.',
  },
  {
    key: 'auditRetention',
    flag: 'audit-retention',
    env: ['GATEHOUSE_AUDIT_RETENTION'],
    kind: 'string',
    default: DEFAULT_AUDIT_RETENTION,
    description:
      "How long the audit log (/audit/requests, /audit/objects) keeps entries (a duration from 1h to 3650d: 30d, 90d, …; Kong's audit_log_record_ttl); 0 = keep every entry.",
  },
  {
    key: 'configHistoryRetention',
    flag: 'config-history-retention',
    env: ['GATEHOUSE_CONFIG_HISTORY_RETENTION'],
    kind: 'string',
    default: DEFAULT_CONFIG_HISTORY_RETENTION,
    description:
      'What the config history (/config/versions) keeps: a count of versions (100), an age (30d, 36h) or both (100,30d); the newest version is always kept.',
  },
  {
    key: 'signingKey',
    flag: 'signing-key',
    env: ['GATEHOUSE_SIGNING_KEY'],
    kind: 'string',
    description:
      'Plain mode: one snapshot signing key (private JWK from `gatehouse keys generate`). Default: root-key mode with the certified keys in --signing-keys-dir.',
  },
  {
    key: 'signingKeysDir',
    flag: 'signing-keys-dir',
    env: ['GATEHOUSE_SIGNING_KEYS_DIR'],
    kind: 'string',
    description:
      'Root-key mode: the folder of root-certified signing keys (`gatehouse keys rotate --dir`), read again every 2 s. Default: <data-dir>/keys.',
  },
  {
    key: 'snapshotTtl',
    flag: 'snapshot-ttl',
    env: ['GATEHOUSE_SNAPSHOT_TTL'],
    kind: 'int',
    min: 0,
    max: 400 * 86_400,
    default: String(DEFAULT_SNAPSHOT_TTL_SECONDS),
    description:
      'Seconds after signing a snapshot expires (the CP re-signs it at half that); a DP holding an expired one keeps serving it and alerts. 0: no expiry.',
  },
  {
    key: 'oauth2KeyRotation',
    flag: 'oauth2-key-rotation',
    env: ['GATEHOUSE_OAUTH2_KEY_ROTATION'],
    kind: 'int',
    min: 10,
    max: 400 * 86_400,
    default: String(DEFAULT_OAUTH2_KEY_ROTATION_SECONDS),
    description:
      'Seconds the newest oauth2 token signing key signs before the CP makes the next (oauth2 instances without token_signing_secrets).',
  },
  {
    key: 'oauth2KeyActivation',
    flag: 'oauth2-key-activation',
    env: ['GATEHOUSE_OAUTH2_KEY_ACTIVATION'],
    kind: 'int',
    min: 0,
    max: 86_400,
    default: String(DEFAULT_OAUTH2_KEY_ACTIVATION_SECONDS),
    description:
      'Seconds between making an oauth2 token signing key and signing with it: longer than a snapshot takes to reach every DP.',
  },
  {
    key: 'dev',
    flag: 'dev',
    env: ['GATEHOUSE_DEV'],
    kind: 'bool',
    default: 'false',
    description:
      'Dev mode: generate a signing key pair and cluster certificates (<data-dir>/cluster) in the data folder if none exist.',
  },
  {
    key: 'cpId',
    flag: 'cp-id',
    env: ['GATEHOUSE_CP_ID'],
    kind: 'string',
    description:
      'Id of this CP replica, carried in snapshot claims. Default: generated and kept in the data folder.',
  },
  {
    key: 'pluginsDirs',
    flag: 'plugins-dir',
    env: ['GATEHOUSE_PLUGINS_DIRS'],
    kind: 'list',
    description: 'Comma-separated folders with custom plugins (their schemas validate plugin config).',
  },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: ['GATEHOUSE_LOG_LEVEL'],
    kind: 'enum',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    description: 'Log level.',
  },
];

/** Cluster TLS paths resolved against the working directory. */
function resolvePaths<T extends { cert?: string; key?: string; ca?: string }>(s: T): T {
  const r = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  return { ...s, cert: r(s.cert), key: r(s.key), ca: r(s.ca) };
}

export async function runCp(argv: string[]): Promise<void> {
  const usage = 'gatehouse cp [options]';
  const summary = 'Runs a control plane: Admin API, snapshot builder and the cluster gRPC server.';
  let parsed;
  try {
    parsed = parseSettings(CP_SETTINGS, argv);
  } catch (e) {
    if (e instanceof SettingsError) fail(`${e.message}\nRun 'gatehouse cp --help' for the options.`);
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(settingsHelp(usage, summary, CP_SETTINGS));
    return;
  }
  if (parsed.positionals.length) fail(`unexpected argument "${parsed.positionals[0]}"`);
  const v = parsed.values;
  let nats: NatsSettings | undefined;
  try {
    nats = natsSettings(v, resolve);
  } catch (e) {
    if (isGatehouseError(e)) fail(e.message);
    throw e;
  }
  let analyticsRetentionMs: number;
  try {
    analyticsRetentionMs = parseRetention(v.analyticsRetention as string);
  } catch (e) {
    fail(`--analytics-retention (GATEHOUSE_ANALYTICS_RETENTION) ${(e as Error).message}`);
  }
  let analyticsRetention5mMs: number;
  try {
    analyticsRetention5mMs = parseRetention(v.analyticsRetention5m as string, false);
  } catch (e) {
    fail(`--analytics-retention-5m (GATEHOUSE_ANALYTICS_RETENTION_5M) ${(e as Error).message}`);
  }
  let auditRetentionMs: number;
  try {
    auditRetentionMs = parseAuditRetention(v.auditRetention as string);
  } catch (e) {
    fail(`--audit-retention (GATEHOUSE_AUDIT_RETENTION) ${(e as Error).message}`);
  }
  let configHistoryRetention: ConfigHistoryRetention;
  try {
    configHistoryRetention = parseHistoryRetention(v.configHistoryRetention as string);
  } catch (e) {
    fail(`--config-history-retention (GATEHOUSE_CONFIG_HISTORY_RETENTION) ${(e as Error).message}`);
  }
  const logger = createLogger('gatehouse-cp', { level: v.logLevel as string });
  try {
    const cp = await startControlPlane({
      adminToken: await resolveAdminToken(v),
      adminOrigins: v.adminOrigins as string[] | undefined,
      adminGuiListen: parseAdminGuiListen(v.adminGuiListen as string[]),
      adminGuiApiUrl: parseAdminGuiApiUrl(v.adminGuiApiUrl as string | undefined),
      adminGuiDir: resolve((v.adminGuiDir as string | undefined) ?? DEFAULT_ADMIN_GUI_DIR),
      adminHosts: v.adminHosts as string[] | undefined,
      adminListen: v.adminListen as Listen,
      adminSslListen:
        parseAdminSslListen(v.adminSslListen as string | undefined, v.adminListen as Listen) ?? undefined,
      adminSslCert: v.adminSslCert ? resolve(v.adminSslCert as string) : undefined,
      adminSslCertKey: v.adminSslCertKey ? resolve(v.adminSslCertKey as string) : undefined,
      adminGuiSslCert: v.adminGuiSslCert ? resolve(v.adminGuiSslCert as string) : undefined,
      adminGuiSslCertKey: v.adminGuiSslCertKey ? resolve(v.adminGuiSslCertKey as string) : undefined,
      enforceRbac: v.enforceRbac === 'on',
      loginThrottle: {
        maxFailures: v.adminLoginMaxFailures as number,
        windowMs: (v.adminLoginWindow as number) * 1000,
      },
      clusterListen: v.clusterListen as Listen,
      dataDir: resolve(v.dataDir as string),
      databaseUrl: v.databaseUrl as string | undefined,
      natsUrl: nats?.url,
      natsTls: nats?.tls,
      jetstreamSnapshots: jetstreamSnapshotsOn(v),
      clusterDeltas: v.clusterDeltas !== 'off',
      signingKeyFile: v.signingKey ? resolve(v.signingKey as string) : undefined,
      signingKeysDir: v.signingKeysDir ? resolve(v.signingKeysDir as string) : undefined,
      snapshotTtlSeconds: v.snapshotTtl as number,
      oauth2Keys: {
        rotationSeconds: v.oauth2KeyRotation as number,
        activationSeconds: v.oauth2KeyActivation as number,
      },
      dev: v.dev as boolean,
      cpId: v.cpId as string | undefined,
      analyticsRetentionMs,
      analyticsRetention5mMs,
      auditRetentionMs,
      configHistoryRetention,
      pluginsDirs: ((v.pluginsDirs as string[] | undefined) ?? []).map((d) => resolve(d)),
      clusterTls: {
        ...resolvePaths(clusterTlsSettings(v)),
        allowedCommonNames: v.clusterAllowedCommonNames as string[] | undefined,
      },
      logger,
    });
    stopOnSignals('control plane', () => cp.stop(), logger);
  } catch (e) {
    if (isGatehouseError(e)) fail(`${e.message} (${e.code})`, 1);
    logger.fatal({ err: e }, 'control plane failed to start');
    process.exit(1);
  }
}
