/**
 * Cluster channel TLS (Kong's `cluster_mtls`), the part both planes share: the settings, loading
 * and checking the PEM files, and reading a peer certificate's identity.
 *
 *  - `pki`: a CA (`--cluster-ca-cert`); CP and DP each present a certificate signed by it. The CP
 *    verifies DP client certificates against the CA (and, optionally, an allow-list of common
 *    names); the DP verifies the CP's certificate against the CA and the server name.
 *  - `shared`: one certificate and key for the CP and every DP. Each side trusts only that one
 *    certificate and compares the peer's leaf with it by SHA-256 fingerprint.
 *  - `off`: plaintext, no authentication of either side. Explicit only; see docs/security.md.
 *
 * Generating certificates is the control plane's (`gatehouse certs generate`).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigErrors } from './errors.js';
import type { SettingSpec, SettingValue } from './settings.js';

export const CLUSTER_MTLS_MODES = ['pki', 'shared', 'off'] as const;
export type ClusterMtlsMode = (typeof CLUSTER_MTLS_MODES)[number];

/** The server name (SNI) used in `shared` mode, where no host name is checked (Kong: `kong_clustering`). */
export const SHARED_CLUSTER_SERVER_NAME = 'gatehouse_clustering';

/** Largest PEM file read (a certificate bundle is a few KiB). */
const MAX_PEM_BYTES = 1024 * 1024;

/** The cluster TLS settings both `gatehouse cp` and `gatehouse dp` take (each adds its own). */
export const CLUSTER_TLS_SETTINGS: readonly SettingSpec[] = [
  {
    key: 'clusterMtls',
    flag: 'cluster-mtls',
    env: ['GATEHOUSE_CLUSTER_MTLS'],
    kind: 'enum',
    values: [...CLUSTER_MTLS_MODES],
    default: 'pki',
    description:
      "Cluster channel mutual TLS (Kong's cluster_mtls): pki (a CA signs CP and DP certificates), shared (one certificate for all), off (plaintext: tests only, weakens security).",
  },
  {
    key: 'clusterCert',
    flag: 'cluster-cert',
    env: ['GATEHOUSE_CLUSTER_CERT'],
    kind: 'string',
    description:
      "PEM certificate this node presents on the cluster channel (pki: this node's; shared: the shared one). See 'gatehouse certs generate'.",
  },
  {
    key: 'clusterCertKey',
    flag: 'cluster-cert-key',
    env: ['GATEHOUSE_CLUSTER_CERT_KEY'],
    kind: 'string',
    description: 'PEM private key of --cluster-cert.',
  },
  {
    key: 'clusterCaCert',
    flag: 'cluster-ca-cert',
    env: ['GATEHOUSE_CLUSTER_CA_CERT'],
    kind: 'string',
    description: 'pki mode: PEM CA certificate the peer certificate must be signed by.',
  },
];

/** Paths to the PEM files of one node (as the settings name them). */
export interface ClusterTlsFiles {
  mode: 'pki' | 'shared';
  cert: string;
  key: string;
  /** pki only. */
  ca?: string;
}

/** The loaded and checked material. */
export interface ClusterTlsMaterial {
  mode: 'pki' | 'shared';
  cert: Buffer;
  key: Buffer;
  /** What the peer's chain is verified against: the CA (pki) or the shared certificate itself. */
  trust: Buffer;
  /** SHA-256 fingerprint of this node's certificate (Node's `AA:BB:…` form). */
  fingerprint256: string;
  identity: PeerIdentity;
}

/** A certificate's identity as the registry and logs show it. */
export interface PeerIdentity {
  /** The subject, e.g. `CN=dp-1, O=Acme` (RFC 4514-ish, comma separated). */
  subject: string;
  /** The single common name, or null when there is none (or more than one). */
  commonName: string | null;
  expiresAt: Date;
  fingerprint256: string;
}

const SETTING_NAMES = {
  cert: '--cluster-cert (GATEHOUSE_CLUSTER_CERT)',
  key: '--cluster-cert-key (GATEHOUSE_CLUSTER_CERT_KEY)',
  ca: '--cluster-ca-cert (GATEHOUSE_CLUSTER_CA_CERT)',
} as const;

const invalid = (message: string) => ConfigErrors.clusterTls(message);

/** The identity of a parsed certificate. */
export function certificateIdentity(cert: X509Certificate): PeerIdentity {
  const lines = cert.subject.split('\n').filter(Boolean);
  const cns = lines.filter((l) => l.startsWith('CN=')).map((l) => l.slice(3));
  return {
    subject: lines.join(', '),
    commonName: cns.length === 1 ? cns[0]! : null,
    expiresAt: new Date(cert.validTo),
    fingerprint256: cert.fingerprint256,
  };
}

/** The identity of a peer certificate in DER (`tls.PeerCertificate.raw`), or null if it cannot be parsed. */
export function identityFromDer(raw: Buffer | undefined): PeerIdentity | null {
  if (!raw || raw.length === 0) return null;
  try {
    return certificateIdentity(new X509Certificate(raw));
  } catch {
    return null;
  }
}

async function readPem(file: string, what: keyof typeof SETTING_NAMES): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (e) {
    throw invalid(
      `cannot read ${SETTING_NAMES[what]} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (data.length > MAX_PEM_BYTES) throw invalid(`${SETTING_NAMES[what]} ${file} is larger than 1 MiB`);
  if (!data.includes('-----BEGIN ')) throw invalid(`${SETTING_NAMES[what]} ${file} is not a PEM file`);
  return data;
}

function parseCertificate(pem: Buffer, what: 'cert' | 'ca', file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw invalid(`${SETTING_NAMES[what]} ${file} is not a PEM certificate: ${(e as Error).message}`);
  }
}

function checkValidity(cert: X509Certificate, what: 'cert' | 'ca', file: string, now: Date): void {
  if (new Date(cert.validTo).getTime() <= now.getTime())
    throw invalid(`${SETTING_NAMES[what]} ${file} expired on ${new Date(cert.validTo).toISOString()}`);
  if (new Date(cert.validFrom).getTime() > now.getTime())
    throw invalid(
      `${SETTING_NAMES[what]} ${file} is not valid before ${new Date(cert.validFrom).toISOString()}`,
    );
}

/**
 * Reads and checks one node's cluster TLS files: each is a PEM of the right kind, the key belongs
 * to the certificate, nothing has expired, and (pki) the certificate is signed by the CA.
 * Throws GH_ERR_CONFIG_CLUSTER_TLS naming the setting and what is wrong.
 */
export async function loadClusterTls(files: ClusterTlsFiles, now = new Date()): Promise<ClusterTlsMaterial> {
  const certPem = await readPem(files.cert, 'cert');
  const keyPem = await readPem(files.key, 'key');
  const cert = parseCertificate(certPem, 'cert', files.cert);
  checkValidity(cert, 'cert', files.cert, now);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw invalid(`${SETTING_NAMES.key} ${files.key} is not a PEM private key: ${(e as Error).message}`);
  }
  if (!cert.checkPrivateKey(key))
    throw invalid(`${SETTING_NAMES.key} ${files.key} is not the key of ${SETTING_NAMES.cert} ${files.cert}`);
  let trust: Buffer;
  if (files.mode === 'pki') {
    if (!files.ca) throw invalid(`${SETTING_NAMES.ca} is required in pki mode`);
    trust = await readPem(files.ca, 'ca');
    const ca = parseCertificate(trust, 'ca', files.ca);
    checkValidity(ca, 'ca', files.ca, now);
    if (!ca.ca) throw invalid(`${SETTING_NAMES.ca} ${files.ca} is not a CA certificate`);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
      throw invalid(`${SETTING_NAMES.cert} ${files.cert} is not signed by ${SETTING_NAMES.ca} ${files.ca}`);
  } else {
    if (files.ca)
      throw invalid(`${SETTING_NAMES.ca} is for pki mode; shared mode trusts --cluster-cert only`);
    trust = certPem;
  }
  try {
    createSecureContext({ cert: certPem, key: keyPem, ca: trust });
  } catch (e) {
    throw invalid(`the cluster certificate files cannot be used for TLS: ${(e as Error).message}`);
  }
  return {
    mode: files.mode,
    cert: certPem,
    key: keyPem,
    trust,
    fingerprint256: cert.fingerprint256,
    identity: certificateIdentity(cert),
  };
}

/** Cluster TLS settings as given (paths unresolved are fine; unset = not given). */
export interface ClusterTlsSettings {
  mode?: ClusterMtlsMode;
  cert?: string;
  key?: string;
  ca?: string;
}

/** Reads the `CLUSTER_TLS_SETTINGS` out of parsed setting values. */
export function clusterTlsSettings(values: Record<string, SettingValue>): ClusterTlsSettings {
  return {
    mode: values.clusterMtls as ClusterMtlsMode | undefined,
    cert: values.clusterCert as string | undefined,
    key: values.clusterCertKey as string | undefined,
    ca: values.clusterCaCert as string | undefined,
  };
}

/**
 * The cluster TLS files the settings name, `null` for mode `off`. `defaults` fills in unset
 * paths (the CP's dev mode). Throws naming the missing settings and `gatehouse certs generate`.
 */
export function clusterTlsFiles(
  settings: ClusterTlsSettings,
  who: 'control plane' | 'data plane',
  defaults: Partial<Omit<ClusterTlsFiles, 'mode'>> = {},
): ClusterTlsFiles | null {
  const mode = settings.mode ?? 'pki';
  if (mode === 'off') return null;
  const cert = settings.cert ?? defaults.cert;
  const key = settings.key ?? defaults.key;
  const ca = settings.ca ?? (mode === 'pki' ? defaults.ca : undefined);
  const missing = [
    cert ? null : SETTING_NAMES.cert,
    key ? null : SETTING_NAMES.key,
    mode === 'pki' && !ca ? SETTING_NAMES.ca : null,
  ].filter((s) => s !== null);
  if (missing.length) {
    const dev =
      who === 'control plane' ? ', or run with --dev to generate dev certificates in the data folder' : '';
    throw invalid(
      `the cluster channel requires mutual TLS (--cluster-mtls ${mode}) and the ${who} has no ${missing.join(', ')}. ` +
        `Create the files with 'gatehouse certs generate --dir <dir>' and pass them${dev}`,
    );
  }
  return { mode, cert: cert!, key: key!, ...(mode === 'pki' ? { ca: ca! } : {}) };
}

/** File names `gatehouse certs generate` (and the CP's dev mode, under `<data-dir>/cluster`) writes. */
export const CLUSTER_CERT_FILES = {
  ca: 'ca.crt',
  caKey: 'ca.key',
  cpCert: 'cp.crt',
  cpKey: 'cp.key',
  dpCert: 'dp.crt',
  dpKey: 'dp.key',
  sharedCert: 'cluster.crt',
  sharedKey: 'cluster.key',
} as const;

/** Where the CP's dev mode keeps its generated cluster certificates. */
export const DEV_CLUSTER_CERT_DIR = 'cluster';

/**
 * The files a data plane uses to join a dev-mode CP whose data folder is `cpDataDir` (what the
 * CP's `--dev` generated under `<cpDataDir>/cluster`). For `gatehouse dev` and tests.
 */
export function devDataPlaneTlsFiles(cpDataDir: string, mode: 'pki' | 'shared' = 'pki'): ClusterTlsFiles {
  const dir = join(cpDataDir, DEV_CLUSTER_CERT_DIR);
  return mode === 'pki'
    ? {
        mode,
        cert: join(dir, CLUSTER_CERT_FILES.dpCert),
        key: join(dir, CLUSTER_CERT_FILES.dpKey),
        ca: join(dir, CLUSTER_CERT_FILES.ca),
      }
    : { mode, cert: join(dir, CLUSTER_CERT_FILES.sharedCert), key: join(dir, CLUSTER_CERT_FILES.sharedKey) };
}

/** `gatehouse dp` arguments for `files`. */
export function clusterTlsArgs(files: ClusterTlsFiles): string[] {
  return [
    '--cluster-mtls',
    files.mode,
    '--cluster-cert',
    files.cert,
    '--cluster-cert-key',
    files.key,
    ...(files.ca ? ['--cluster-ca-cert', files.ca] : []),
  ];
}
