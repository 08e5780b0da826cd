/**
 * The Admin API over HTTPS (Kong's `admin_listen ... ssl`, port 8444): the same app, with the
 * same access rules, on a second listener. Its certificate comes from `--admin-ssl-cert` and
 * `--admin-ssl-cert-key`, or is generated self-signed into `<data-dir>/admin-tls/` on the first
 * start (ECDSA P-256, for localhost, 127.0.0.1, ::1 and the listen host; 0600 key).
 */
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it first
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { RequestListener } from 'node:http';
import {
  ConfigErrors,
  DEFAULT_TLS_POLICY,
  parseListen,
  secureContextOptions,
  type Listen,
  type SettingSpec,
} from '@gatehouse/shared';
import { settingName } from './access-settings.js';
import { fileExists, writeFileAtomic } from '../files.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** Kong's Admin API HTTPS port. */
export const ADMIN_SSL_PORT = 8444;
/** Kong's Admin API HTTP port (`--admin-listen`'s default). */
const DEFAULT_ADMIN_PORT = 8001;
export const ADMIN_TLS_DIR = 'admin-tls';
export const ADMIN_TLS_FILES = { cert: 'admin.crt', key: 'admin.key' } as const;

export const ADMIN_SSL_LISTEN: SettingSpec = {
  key: 'adminSslListen',
  flag: 'admin-ssl-listen',
  env: ['GATEHOUSE_ADMIN_SSL_LISTEN'],
  kind: 'string',
  description:
    `Admin API over HTTPS (host:port), or "off". Default: the --admin-listen host, port ${ADMIN_SSL_PORT} while ` +
    '--admin-listen has its default port 8001 (port 0, any free one, when it has port 0; off for any other port, ' +
    'so CPs moved to other ports do not contend for 8444). Same app and access rules as the HTTP listener.',
};

export const ADMIN_SSL_CERT: SettingSpec = {
  key: 'adminSslCert',
  flag: 'admin-ssl-cert',
  env: ['GATEHOUSE_ADMIN_SSL_CERT'],
  kind: 'string',
  description: `PEM certificate (chain) of the HTTPS Admin API. Default: self-signed, generated into <data-dir>/${ADMIN_TLS_DIR}/.`,
};

export const ADMIN_SSL_CERT_KEY: SettingSpec = {
  key: 'adminSslCertKey',
  flag: 'admin-ssl-cert-key',
  env: ['GATEHOUSE_ADMIN_SSL_CERT_KEY'],
  kind: 'string',
  description: 'PEM private key of --admin-ssl-cert.',
};

/** Kong's `admin_gui_ssl_cert`: the certificate of the admin UI's `ssl` listeners (`--admin-gui-listen … ssl`). */
export const ADMIN_GUI_SSL_CERT: SettingSpec = {
  key: 'adminGuiSslCert',
  flag: 'admin-gui-ssl-cert',
  env: ['GATEHOUSE_ADMIN_GUI_SSL_CERT'],
  kind: 'string',
  description:
    'PEM certificate (chain) of the admin UI over HTTPS (--admin-gui-listen "host:port ssl"). Default: the HTTPS Admin API\'s (--admin-ssl-cert, or the self-signed one).',
};

export const ADMIN_GUI_SSL_CERT_KEY: SettingSpec = {
  key: 'adminGuiSslCertKey',
  flag: 'admin-gui-ssl-cert-key',
  env: ['GATEHOUSE_ADMIN_GUI_SSL_CERT_KEY'],
  kind: 'string',
  description: 'PEM private key of --admin-gui-ssl-cert.',
};

export const ADMIN_TLS_SETTINGS: readonly SettingSpec[] = [
  ADMIN_SSL_LISTEN,
  ADMIN_SSL_CERT,
  ADMIN_SSL_CERT_KEY,
  ADMIN_GUI_SSL_CERT,
  ADMIN_GUI_SSL_CERT_KEY,
];

/**
 * `--admin-ssl-listen`: a listen address, or null for `off`. Unset: derived from `--admin-listen`
 * (its host; port 8444 beside 8001, 0 beside 0, else off).
 */
export function parseAdminSslListen(text: string | undefined, adminListen: Listen): Listen | null {
  if (text === undefined) {
    if (adminListen.port === DEFAULT_ADMIN_PORT) return { host: adminListen.host, port: ADMIN_SSL_PORT };
    return adminListen.port === 0 ? { host: adminListen.host, port: 0 } : null;
  }
  if (text.trim().toLowerCase() === 'off') return null;
  const listen = parseListen(text);
  if (!listen)
    throw ConfigErrors.invalidSetting(
      `invalid setting ${settingName(ADMIN_SSL_LISTEN)}: "${text.slice(0, 80)}" is not host:port, or "off"`,
    );
  return listen;
}

export interface AdminTlsMaterial {
  cert: string;
  key: string;
  /** Where they were read from (or generated into). */
  certFile: string;
  keyFile: string;
  generated: boolean;
}

/** A self-signed server certificate for `hosts` (DNS names or IPs), valid for `days`. */
export async function selfSignedCertificate(
  hosts: readonly string[],
  days = 825,
): Promise<{ cert: string; key: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: 'CN=Gatehouse Admin API, O=Gatehouse',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * 86_400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((h) => ({ type: isIP(h) ? ('ip' as const) : ('dns' as const), value: h })),
      ),
    ],
  });
  const key = x509.PemConverter.encode(
    await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
    'PRIVATE KEY',
  );
  return { cert: cert.toString('pem') + '\n', key: key + '\n' };
}

/** The names a generated certificate covers: loopback names and a specific listen host. */
function certificateHosts(listenHost: string): string[] {
  const hosts = ['localhost', '127.0.0.1', '::1'];
  const h = listenHost.startsWith('[') ? listenHost.slice(1, -1) : listenHost;
  if (h !== '0.0.0.0' && h !== '::' && !hosts.includes(h) && (isIP(h) || /^[A-Za-z0-9.-]{1,253}$/.test(h)))
    hosts.push(h);
  return hosts;
}

/** Checks that a certificate and key are PEM and belong together; throws naming the settings. */
function checkPair(cert: string, key: string, where: string): void {
  let c: X509Certificate;
  try {
    c = new X509Certificate(cert);
  } catch (e) {
    throw ConfigErrors.invalidSetting(
      `invalid setting ${settingName(ADMIN_SSL_CERT)}: ${where} is not a PEM certificate (${(e as Error).message})`,
    );
  }
  let ok: boolean;
  try {
    ok = c.checkPrivateKey(createPrivateKey(key));
  } catch (e) {
    throw ConfigErrors.invalidSetting(
      `invalid setting ${settingName(ADMIN_SSL_CERT_KEY)}: not a PEM private key (${(e as Error).message})`,
    );
  }
  if (!ok)
    throw ConfigErrors.invalidSetting(
      `${settingName(ADMIN_SSL_CERT_KEY)} is not the private key of ${settingName(ADMIN_SSL_CERT)} (${where})`,
    );
}

/**
 * The HTTPS Admin API's certificate: the files given (both or neither), else the data folder's,
 * generated there when missing.
 */
export async function resolveAdminTls(o: {
  cert?: string;
  key?: string;
  dataDir: string;
  listenHost: string;
  /** The settings the files came from (named in errors); the HTTPS Admin API's by default. */
  specs?: { cert: SettingSpec; key: SettingSpec };
}): Promise<AdminTlsMaterial> {
  const specs = o.specs ?? { cert: ADMIN_SSL_CERT, key: ADMIN_SSL_CERT_KEY };
  if ((o.cert === undefined) !== (o.key === undefined))
    throw ConfigErrors.invalidSetting(
      `set both ${settingName(specs.cert)} and ${settingName(specs.key)}, or neither (a self-signed pair is generated)`,
    );
  const read = async (file: string, spec: SettingSpec) => {
    try {
      return await readFile(file, 'utf8');
    } catch (e) {
      throw ConfigErrors.invalidSetting(
        `invalid setting ${settingName(spec)}: cannot read ${file}: ${(e as Error).message}`,
      );
    }
  };
  if (o.cert !== undefined && o.key !== undefined) {
    const cert = await read(o.cert, specs.cert);
    const key = await read(o.key, specs.key);
    checkPair(cert, key, o.cert);
    return { cert, key, certFile: o.cert, keyFile: o.key, generated: false };
  }
  const dir = join(o.dataDir, ADMIN_TLS_DIR);
  const certFile = join(dir, ADMIN_TLS_FILES.cert);
  const keyFile = join(dir, ADMIN_TLS_FILES.key);
  let generated = false;
  if (!(await fileExists(certFile)) || !(await fileExists(keyFile))) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const pair = await selfSignedCertificate(certificateHosts(o.listenHost));
    await writeFileAtomic(keyFile, pair.key, 0o600);
    await writeFileAtomic(certFile, pair.cert, 0o644);
    generated = true;
  }
  const cert = await read(certFile, ADMIN_SSL_CERT);
  const key = await read(keyFile, ADMIN_SSL_CERT_KEY);
  checkPair(cert, key, certFile);
  return { cert, key, certFile, keyFile, generated };
}

/**
 * An HTTPS server for `app` with `material`, under the proxy listener's default policy (Kong's
 * `intermediate` suite: TLS 1.2 and 1.3, AEAD ciphers with forward secrecy only) — Node's own
 * default list would also accept CBC/SHA-1 suites on TLS 1.2.
 */
export function createAdminHttpsServer(app: RequestListener, material: AdminTlsMaterial): Server {
  return createServer(
    { cert: material.cert, key: material.key, ...secureContextOptions(DEFAULT_TLS_POLICY) },
    app,
  );
}
