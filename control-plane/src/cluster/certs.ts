/**
 * Cluster certificates (`gatehouse certs generate`, and the CP's dev mode): a CA, a CP
 * certificate (server + client auth, SANs for the names DPs dial) and a DP certificate (client
 * auth, its common name is the DP's identity), all signed by the CA, plus optionally a `shared`
 * mode pair (one self-signed certificate for every node). ECDSA P-256 keys, SHA-256 signatures.
 *
 * X.509 is built with @peculiar/x509 over node's WebCrypto (no openssl binary is needed: a fresh
 * clone has only Node and npm). Keys are written 0600, certificates 0644, each atomically.
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it first
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { CLUSTER_CERT_FILES, SHARED_CLUSTER_SERVER_NAME } from '@gatehouse/shared/cluster-tls';
import { ConfigErrors } from '@gatehouse/shared/errors';
import { fileExists, writeFileAtomic } from '../files.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

export const DEFAULT_CP_HOSTS = ['localhost', '127.0.0.1', '::1'];
export const DEFAULT_DP_COMMON_NAME = 'gatehouse-dp';
export const DEFAULT_CERT_DAYS = 1095;

export interface GenerateClusterCertsOptions {
  /** Names DPs dial the CP by (DNS names or IPs): the CP certificate's SANs. */
  cpHosts?: string[];
  /** The DP certificate's common name (what `--cluster-allowed-common-names` matches). */
  dpCommonName?: string;
  /** Also write the `shared` mode pair. */
  shared?: boolean;
  /** Validity in days. */
  days?: number;
  /** Replace existing files. */
  force?: boolean;
}

export type ClusterCertPaths = { [K in keyof typeof CLUSTER_CERT_FILES]?: string };

/** A DNS name or IP for a SAN; a common name. Kept to what certificate names hold. */
const NAME = /^[A-Za-z0-9*][A-Za-z0-9._*-]{0,252}$/;
// Starts and ends with a letter, digit or one of ._@- : a space at either end is not kept as given
// in the certificate subject (X.509 escapes it), so it could never match the allow-list.
const COMMON_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9 ._@-]{0,62}[A-Za-z0-9._@-])?$/;

function checkOptions(o: GenerateClusterCertsOptions): Required<Omit<GenerateClusterCertsOptions, 'force'>> {
  const cpHosts = o.cpHosts?.length ? o.cpHosts : DEFAULT_CP_HOSTS;
  for (const h of cpHosts) {
    if (!isIP(h) && !NAME.test(h))
      throw ConfigErrors.invalidSetting(`invalid setting --cp-hosts: "${h}" is not a DNS name or IP address`);
  }
  const dpCommonName = o.dpCommonName ?? DEFAULT_DP_COMMON_NAME;
  if (!COMMON_NAME.test(dpCommonName))
    throw ConfigErrors.invalidSetting(
      `invalid setting --dp-common-name: must be 1-64 letters, digits, spaces or ._@- , not ending in a space, got "${dpCommonName}"`,
    );
  const days = o.days ?? DEFAULT_CERT_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > 36_500)
    throw ConfigErrors.invalidSetting(`invalid setting --days: must be 1-36500, got ${days}`);
  return { cpHosts, dpCommonName, shared: o.shared ?? false, days };
}

const serial = () => {
  const b = randomBytes(16);
  b[0]! &= 0x7f; // positive
  return b.toString('hex');
};

async function keyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

async function keyPem(keys: CryptoKeyPair): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
}

function sans(hosts: string[]): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension(
    hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h })),
  );
}

function validity(days: number) {
  const now = Date.now();
  // A day back: a node whose clock runs up to a day behind the one that made them still takes
  // them (the chaos suite's F12 runs data planes an hour late; a minute was not enough).
  return { notBefore: new Date(now - DAY_MS), notAfter: new Date(now + days * DAY_MS) };
}

async function leaf(
  ca: { cert: x509.X509Certificate; keys: CryptoKeyPair },
  name: string,
  usages: x509.ExtendedKeyUsage[],
  hosts: string[] | null,
  days: number,
) {
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${name}, O=Gatehouse`,
    issuer: ca.cert.subject,
    ...validity(days),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages),
      ...(hosts ? [sans(hosts)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { cert: cert.toString('pem') + '\n', key: (await keyPem(keys)) + '\n' };
}

/**
 * Writes a CA, a CP and a DP certificate (and with `shared`, the shared pair) into `dir`.
 * Refuses to overwrite any existing file unless `force`. Returns the paths written.
 */
export async function generateClusterCerts(
  dir: string,
  options: GenerateClusterCertsOptions = {},
): Promise<ClusterCertPaths> {
  const o = checkOptions(options);
  const names: (keyof typeof CLUSTER_CERT_FILES)[] = [
    'ca',
    'caKey',
    'cpCert',
    'cpKey',
    'dpCert',
    'dpKey',
    ...(o.shared ? (['sharedCert', 'sharedKey'] as const) : []),
  ];
  const paths: ClusterCertPaths = Object.fromEntries(names.map((n) => [n, join(dir, CLUSTER_CERT_FILES[n])]));
  if (!options.force) {
    for (const n of names) {
      if (await fileExists(paths[n]!))
        throw ConfigErrors.clusterTls(
          `${paths[n]} exists; pass --force to replace the certificates in ${dir}`,
        );
    }
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const caKeys = await keyPair();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Gatehouse cluster CA, O=Gatehouse',
    ...validity(o.days),
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca = { cert: caCert, keys: caKeys };
  const cp = await leaf(
    ca,
    'gatehouse-cp',
    [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    o.cpHosts,
    o.days,
  );
  const dp = await leaf(ca, o.dpCommonName, [x509.ExtendedKeyUsage.clientAuth], null, o.days);
  const files: [keyof typeof CLUSTER_CERT_FILES, string, number][] = [
    ['caKey', (await keyPem(caKeys)) + '\n', 0o600],
    ['ca', caCert.toString('pem') + '\n', 0o644],
    ['cpKey', cp.key, 0o600],
    ['cpCert', cp.cert, 0o644],
    ['dpKey', dp.key, 0o600],
    ['dpCert', dp.cert, 0o644],
  ];
  if (o.shared) {
    const keys = await keyPair();
    const shared = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${SHARED_CLUSTER_SERVER_NAME}, O=Gatehouse`,
      ...validity(o.days),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        sans([SHARED_CLUSTER_SERVER_NAME]),
      ],
    });
    files.push(
      ['sharedKey', (await keyPem(keys)) + '\n', 0o600],
      ['sharedCert', shared.toString('pem') + '\n', 0o644],
    );
  }
  for (const [name, text, mode] of files) await writeFileAtomic(paths[name]!, text, mode);
  return paths;
}
