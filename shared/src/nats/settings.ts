/**
 * The NATS settings both planes take: `--nats-url` (NATS_URL) and `--nats-tls-ca/-cert/-key`.
 * Each plane lists them among its own settings (the URL's description says what NATS carries
 * for that plane) and reads them back with `natsSettings`, which checks them once at start.
 */
import { ConfigErrors } from '../errors.js';
import type { SettingSpec, SettingValue } from '../settings.js';
import { parseNatsUrl } from './url.js';

/** PEM files for the NATS connection: CA that signs the server; client certificate and key. */
export interface NatsTlsFiles {
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
}

/** What a plane connects with: the URL setting as given (credentials in it) and the TLS files. */
export interface NatsSettings {
  url: string;
  tls: NatsTlsFiles;
}

/** `--nats-url` / NATS_URL; `carries` says what travels on NATS for this plane. */
export function natsUrlSetting(carries: string): SettingSpec {
  return {
    key: 'natsUrl',
    flag: 'nats-url',
    env: ['GATEHOUSE_NATS_URL', 'NATS_URL'],
    kind: 'string',
    description: `NATS server(s), comma-separated (nats://host:port, tls://host:port; credentials as nats://user:pass@host or nats://token@host, never logged): ${carries}`,
  };
}

/**
 * `--jetstream-snapshots on|off` (GATEHOUSE_JETSTREAM_SNAPSHOTS, default on): the JetStream KV
 * bucket gatehouse_snapshots, written by CPs and read by DPs booting without a cache; `does`
 * says what the setting does in the command that takes it. Read it with `jetstreamSnapshotsOn`.
 */
export function jetstreamSnapshotsSetting(does: string): SettingSpec {
  return {
    key: 'jetstreamSnapshots',
    flag: 'jetstream-snapshots',
    env: ['GATEHOUSE_JETSTREAM_SNAPSHOTS'],
    kind: 'enum',
    values: ['on', 'off'],
    default: 'on',
    description: does,
  };
}

/** Whether `jetstreamSnapshotsSetting` is on in parsed values. */
export function jetstreamSnapshotsOn(values: Record<string, SettingValue>): boolean {
  return values.jetstreamSnapshots !== 'off';
}

export const NATS_TLS_SETTINGS: readonly SettingSpec[] = [
  {
    key: 'natsTlsCa',
    flag: 'nats-tls-ca',
    env: ['GATEHOUSE_NATS_TLS_CA'],
    kind: 'string',
    description: 'CA certificate (PEM) that signs the NATS server certificate; turns TLS on for NATS.',
  },
  {
    key: 'natsTlsCert',
    flag: 'nats-tls-cert',
    env: ['GATEHOUSE_NATS_TLS_CERT'],
    kind: 'string',
    description: 'Client certificate (PEM) for NATS servers that verify clients (with --nats-tls-key).',
  },
  {
    key: 'natsTlsKey',
    flag: 'nats-tls-key',
    env: ['GATEHOUSE_NATS_TLS_KEY'],
    kind: 'string',
    description: 'Private key (PEM) of --nats-tls-cert.',
  },
];

/**
 * Reads `natsUrlSetting` and `NATS_TLS_SETTINGS` out of parsed values: undefined without a URL.
 * Throws GH_ERR_CONFIG_INVALID_SETTING naming the setting (a malformed URL, a certificate without
 * its key, TLS files without a URL). `resolvePath` makes file paths absolute.
 */
export function natsSettings(
  values: Record<string, SettingValue>,
  resolvePath: (file: string) => string = (f) => f,
): NatsSettings | undefined {
  const url = values.natsUrl as string | undefined;
  const file = (v: SettingValue) => (typeof v === 'string' && v !== '' ? resolvePath(v) : undefined);
  const tls: NatsTlsFiles = {
    caFile: file(values.natsTlsCa),
    certFile: file(values.natsTlsCert),
    keyFile: file(values.natsTlsKey),
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined))
    throw ConfigErrors.invalidSetting('--nats-tls-cert and --nats-tls-key go together');
  if (url === undefined || url.trim() === '') {
    if (tls.caFile || tls.certFile)
      throw ConfigErrors.invalidSetting('--nats-tls-ca/--nats-tls-cert/--nats-tls-key need --nats-url');
    return undefined;
  }
  parseNatsUrl(url);
  return { url, tls };
}
