/**
 * `gatehouse cp`, `gatehouse keys generate`, `gatehouse certs generate`, `gatehouse config …` and
 * `gatehouse audit verify`.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CLUSTER_CERT_FILES,
  CLUSTER_TLS_SETTINGS,
  clusterTlsSettings,
  createLogger,
  isGatehouseError,
  NATS_TLS_SETTINGS,
  natsSettings,
  natsUrlSetting,
  jetstreamSnapshotsSetting,
  jetstreamSnapshotsOn,
  parseSettings,
  type SettingValue,
  settingsHelp,
  stopOnSignals,
  SettingsError,
  writeRootKeyPair,
  writeSigningKeyPair,
  type Listen,
  type NatsSettings,
  type SettingSpec,
} from '@gatehouse/shared';
import {
  ADMIN_ACCESS_SETTINGS,
  parseAdminGuiApiUrl,
  parseAdminGuiListen,
  resolveAdminToken,
} from './admin/access-settings.js';
import { ADMIN_TLS_SETTINGS, parseAdminSslListen } from './admin/admin-tls.js';
import { runConfigCommand } from './config-cli.js';
import {
  DEFAULT_CERT_DAYS,
  DEFAULT_CP_HOSTS,
  DEFAULT_DP_COMMON_NAME,
  generateClusterCerts,
} from './cluster/index.js';
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
import { DEFAULT_SIGNING_KEY_DAYS, revokeSigningKey, rotateSigningKey } from './keys/index.js';
import { DEFAULT_AUDIT_RETENTION, parseAuditRetention } from './audit/retention.js';
import { runAuditCommand } from './audit/verify-cli.js';
import {
  DEFAULT_CONFIG_HISTORY_RETENTION,
  parseHistoryRetention,
  type ConfigHistoryRetention,
} from './history/index.js';

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

const KEYS_SETTINGS: SettingSpec[] = [
  {
    key: 'dir',
    flag: 'dir',
    env: ['GATEHOUSE_KEYS_DIR'],
    kind: 'string',
    default: '.gatehouse/keys',
    description: 'Folder to write the key pair into.',
  },
  {
    key: 'force',
    flag: 'force',
    env: [],
    kind: 'bool',
    default: 'false',
    description: 'Replace an existing key pair.',
  },
];

const CERTS_SETTINGS: SettingSpec[] = [
  {
    key: 'dir',
    flag: 'dir',
    env: ['GATEHOUSE_CERTS_DIR'],
    kind: 'string',
    default: '.gatehouse/certs',
    description: 'Folder to write the certificates and keys into.',
  },
  {
    key: 'cpHosts',
    flag: 'cp-hosts',
    env: [],
    kind: 'list',
    default: DEFAULT_CP_HOSTS.join(','),
    description:
      "Comma-separated DNS names / IPs data planes dial the CP by (the CP certificate's SANs; a DP checks one, see --cluster-server-name).",
  },
  {
    key: 'dpCommonName',
    flag: 'dp-common-name',
    env: [],
    kind: 'string',
    default: DEFAULT_DP_COMMON_NAME,
    description: "The DP certificate's common name (what --cluster-allowed-common-names matches).",
  },
  {
    key: 'shared',
    flag: 'shared',
    env: [],
    kind: 'bool',
    default: 'false',
    description: `Also write a shared-mode pair (${CLUSTER_CERT_FILES.sharedCert}, ${CLUSTER_CERT_FILES.sharedKey}).`,
  },
  {
    key: 'days',
    flag: 'days',
    env: [],
    kind: 'int',
    min: 1,
    max: 36500,
    default: String(DEFAULT_CERT_DAYS),
    description: 'Validity in days.',
  },
  {
    key: 'force',
    flag: 'force',
    env: [],
    kind: 'bool',
    default: 'false',
    description: 'Replace existing files.',
  },
];

/** Cluster TLS paths resolved against the working directory. */
function resolvePaths<T extends { cert?: string; key?: string; ca?: string }>(s: T): T {
  const r = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  return { ...s, cert: r(s.cert), key: r(s.key), ca: r(s.ca) };
}

function fail(message: string, code = 2): never {
  process.stderr.write(`gatehouse: ${message}\n`);
  process.exit(code);
}

async function runCp(argv: string[]): Promise<void> {
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

/** What a `gatehouse <noun> generate` command is: its settings, its help and what it writes. */
interface GenerateCommand {
  noun: string;
  usage: string;
  description: string;
  settings: readonly SettingSpec[];
  /** Writes the files; returns the lines that say what was written and where each goes. */
  write(values: Record<string, SettingValue>): Promise<string[]>;
}

/** `gatehouse <noun> generate [options]`: parse, help, write, print; a Gatehouse error exits 1. */
async function runGenerate(argv: string[], cmd: GenerateCommand): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'generate') {
    process.stdout.write(`Usage: ${cmd.usage}\n`);
    if (sub === '--help' || sub === '-h') return;
    fail(sub ? `unknown ${cmd.noun} command "${sub}"` : `missing ${cmd.noun} command`);
  }
  let parsed;
  try {
    parsed = parseSettings(cmd.settings, rest);
  } catch (e) {
    if (e instanceof SettingsError) fail(e.message);
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(
      settingsHelp(`gatehouse ${cmd.noun} generate [options]`, cmd.description, cmd.settings),
    );
    return;
  }
  if (parsed.positionals.length) fail(`unexpected argument "${parsed.positionals[0]}"`);
  try {
    process.stdout.write((await cmd.write(parsed.values)).join('\n') + '\n');
  } catch (e) {
    if (isGatehouseError(e)) fail(e.message, 1);
    throw e;
  }
}

const KEYS_COMMAND: GenerateCommand = {
  noun: 'keys',
  usage:
    'gatehouse keys generate [--dir DIR] [--force]   (plain mode)\n' +
    '       gatehouse keys root --out DIR | rotate --root-key FILE [--dir DIR] | revoke KID --root-key FILE [--dir DIR]',
  description:
    'Writes an Ed25519 snapshot signing key pair: the private key for the control plane and a JWKS of\npublic keys for the data planes (--trusted-keys).',
  settings: KEYS_SETTINGS,
  async write(v) {
    const r = await writeSigningKeyPair(resolve(v.dir as string), { force: v.force as boolean });
    return [
      `kid:          ${r.kid}`,
      `private key:  ${r.privateKeyFile}   (control plane: --signing-key)`,
      `public keys:  ${r.publicKeysFile}   (data planes: --trusted-keys)`,
    ];
  },
};

const ROOT_KEY_SETTING: SettingSpec = {
  key: 'rootKey',
  flag: 'root-key',
  env: ['GATEHOUSE_ROOT_KEY'],
  kind: 'string',
  description:
    'The root PRIVATE key (snapshot-root.key.json from `gatehouse keys root`; keep it offline). Required.',
};
const SIGNING_KEYS_DIR_SETTING: SettingSpec = {
  key: 'dir',
  flag: 'dir',
  env: ['GATEHOUSE_SIGNING_KEYS_DIR'],
  kind: 'string',
  default: '.gatehouse/cp/keys',
  description: "The control plane's signing keys folder (its --signing-keys-dir; default <data-dir>/keys).",
};

/** `gatehouse keys root|rotate|revoke`: root-certified signing keys (docs/security.md, "Signing keys"). */
interface KeysSubcommand {
  usage: string;
  description: string;
  settings: readonly SettingSpec[];
  run(values: Record<string, SettingValue>, positionals: string[]): Promise<string[]>;
}

const KEYS_SUBCOMMANDS: Record<string, KeysSubcommand> = {
  root: {
    usage: 'gatehouse keys root --out DIR [--force]',
    description:
      'Writes the root key pair that certifies snapshot signing keys: snapshot-root.key.json (PRIVATE: keep it\noffline, e.g. on removable media; it is needed only to rotate and revoke) and snapshot-root.pub.json\n(give it to every data plane: --cluster-root-key).',
    settings: [
      {
        key: 'out',
        flag: 'out',
        env: [],
        kind: 'string',
        description: 'Folder to write the root key pair into (required).',
      },
      {
        key: 'force',
        flag: 'force',
        env: [],
        kind: 'bool',
        default: 'false',
        description: 'Replace an existing root key.',
      },
    ],
    async run(v) {
      if (typeof v.out !== 'string') fail('missing --out DIR');
      const r = await writeRootKeyPair(resolve(v.out), { force: v.force as boolean });
      return [
        `root kid:     ${r.kid}`,
        `private key:  ${r.privateKeyFile}   (keep offline: gatehouse keys rotate/revoke --root-key)`,
        `public key:   ${r.publicKeyFile}   (data planes: --cluster-root-key)`,
      ];
    },
  },
  rotate: {
    usage: 'gatehouse keys rotate --root-key FILE [--dir DIR] [--days N]',
    description:
      "Adds a new snapshot signing key, certified by the root key, to a control plane's signing keys folder.\nThe control plane signs with it within seconds; data planes that trust the root accept it at once.",
    settings: [
      ROOT_KEY_SETTING,
      SIGNING_KEYS_DIR_SETTING,
      {
        key: 'days',
        flag: 'days',
        env: [],
        kind: 'int',
        min: 1,
        max: 3650,
        default: String(DEFAULT_SIGNING_KEY_DAYS),
        description: "The certificate's validity in days.",
      },
    ],
    async run(v) {
      if (typeof v.rootKey !== 'string') fail('missing --root-key FILE');
      const r = await rotateSigningKey(resolve(v.dir as string), resolve(v.rootKey), {
        days: v.days as number,
      });
      return [
        `kid:          ${r.kid}`,
        `key:          ${r.keyFile}`,
        `certificate:  ${r.certificateFile}   (valid until ${new Date(r.claims.expires_at * 1000).toISOString()})`,
      ];
    },
  },
  revoke: {
    usage: 'gatehouse keys revoke KID --root-key FILE [--dir DIR] [--force]',
    description:
      'Issues a new revocation list (signed by the root key) with KID added. The control plane sends it with\nevery snapshot; data planes then refuse anything signed by KID.',
    settings: [
      ROOT_KEY_SETTING,
      SIGNING_KEYS_DIR_SETTING,
      {
        key: 'force',
        flag: 'force',
        env: [],
        kind: 'bool',
        default: 'false',
        description: 'Revoke even the last key the control plane could sign with.',
      },
    ],
    async run(v, positionals) {
      if (typeof v.rootKey !== 'string') fail('missing --root-key FILE');
      const [kid, extra] = positionals;
      if (kid === undefined) fail('missing the key id to revoke');
      if (extra !== undefined) fail(`unexpected argument "${extra}"`);
      const r = await revokeSigningKey(resolve(v.dir as string), resolve(v.rootKey), kid, {
        force: v.force as boolean,
      });
      return [
        `revocation list version ${r.claims.version}: ${r.claims.revoked.join(', ')}`,
        `written to    ${r.file}`,
      ];
    },
  },
};

async function runKeys(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === undefined || !Object.hasOwn(KEYS_SUBCOMMANDS, sub)) return runGenerate(argv, KEYS_COMMAND);
  const cmd = KEYS_SUBCOMMANDS[sub]!;
  let parsed;
  try {
    parsed = parseSettings(cmd.settings, rest);
  } catch (e) {
    if (e instanceof SettingsError) fail(e.message);
    throw e;
  }
  if (parsed.help) {
    process.stdout.write(settingsHelp(cmd.usage, cmd.description, cmd.settings));
    return;
  }
  try {
    process.stdout.write((await cmd.run(parsed.values, parsed.positionals)).join('\n') + '\n');
  } catch (e) {
    if (isGatehouseError(e)) fail(e.message, 1);
    throw e;
  }
}

const CERTS_COMMAND: GenerateCommand = {
  noun: 'certs',
  usage: 'gatehouse certs generate [--dir DIR] [--cp-hosts H,H] [--shared] [--force]',
  description:
    'Writes cluster mTLS material: a CA, a CP certificate and a DP certificate signed by it (pki mode),\nand with --shared a shared-mode pair. ECDSA P-256; keys are written 0600.',
  settings: CERTS_SETTINGS,
  async write(v) {
    const p = await generateClusterCerts(resolve(v.dir as string), {
      cpHosts: v.cpHosts as string[],
      dpCommonName: v.dpCommonName as string,
      shared: v.shared as boolean,
      days: v.days as number,
      force: v.force as boolean,
    });
    const lines = [
      `CA:           ${p.ca}   (both planes: --cluster-ca-cert)`,
      `CA key:       ${p.caKey}   (keep offline; signs more DP certificates)`,
      `CP:           --cluster-cert ${p.cpCert} --cluster-cert-key ${p.cpKey}`,
      `DP:           --cluster-cert ${p.dpCert} --cluster-cert-key ${p.dpKey}`,
    ];
    if (p.sharedCert)
      lines.push(
        `shared mode:  --cluster-mtls shared --cluster-cert ${p.sharedCert} --cluster-cert-key ${p.sharedKey}   (CP and DPs)`,
      );
    return lines;
  },
};

const [command, ...args] = process.argv.slice(2);
if (command === 'cp') await runCp(args);
else if (command === 'config') process.exitCode = await runConfigCommand(args);
else if (command === 'audit') process.exitCode = await runAuditCommand(args);
else if (command === 'keys') await runKeys(args);
else if (command === 'certs') await runGenerate(args, CERTS_COMMAND);
else fail(`unknown command "${command ?? ''}"`);
