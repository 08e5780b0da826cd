/**
 * The Admin API over HTTPS (Kong's 8444): real TLS requests to a control plane in this process,
 * with the self-signed certificate it generates in the data folder on first start (and keeps),
 * with certificate files given by flag, and refusing a key that is not the certificate's.
 */
import { request } from 'node:https';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TLS_DIR,
  ADMIN_TLS_FILES,
  selfSignedCertificate,
} from '../../control-plane/src/admin/admin-tls.js';
import { startControlPlane, type ControlPlaneOptions } from '../../control-plane/src/control-plane.js';
import { databaseDir } from '../../control-plane/src/data-folder.js';
import { quietLogger } from '../helpers/db.js';
import { seedPglite } from '../helpers/pglite-template.js';

const TOKEN = 'https-admin-token-0123456789abcdef';
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-https-'));
  dirs.push(dir);
  await seedPglite(databaseDir(dir));
  return dir;
}

function start(dir: string, extra: Partial<ControlPlaneOptions> = {}) {
  return startControlPlane({
    adminListen: { host: '127.0.0.1', port: 0 },
    adminSslListen: { host: '127.0.0.1', port: 0 },
    clusterListen: { host: '127.0.0.1', port: 0 },
    dataDir: dir,
    dev: true,
    adminToken: TOKEN,
    logger: quietLogger('cp'),
    ...extra,
  });
}

/** One HTTPS GET verified against `ca` (the server's own certificate, self-signed). */
function get(
  url: string,
  ca: string,
  token?: string,
): Promise<{ status: number; body: unknown; cert: PeerCertificate; protocol: string | null }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: '/',
        ca,
        servername: 'localhost',
        headers: token ? { 'kong-admin-token': token } : {},
        agent: false,
      },
      (res) => {
        const socket = res.socket as import('node:tls').TLSSocket;
        const cert = socket.getPeerCertificate();
        const protocol = socket.getProtocol();
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), cert, protocol }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('Admin API over HTTPS', () => {
  it('serves the same app with the same access rules, on a certificate generated once in the data folder', async () => {
    const dir = await dataDir();
    let cp = await start(dir);
    let fingerprint: string;
    try {
      expect(cp.adminHttpsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(join(dir, ADMIN_TLS_DIR, ADMIN_TLS_FILES.cert), 'utf8');
      const ok = await get(cp.adminHttpsUrl!, ca, TOKEN);
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ tagline: 'Welcome to Gatehouse' });
      expect(['TLSv1.2', 'TLSv1.3']).toContain(ok.protocol);
      fingerprint = ok.cert.fingerprint256;
      const denied = await get(cp.adminHttpsUrl!, ca);
      expect(denied.status).toBe(401);
      expect(denied.body).toEqual({ message: 'Invalid credentials. Token or User credentials required' });
    } finally {
      await cp.stop();
    }
    // A restart keeps the certificate.
    cp = await start(dir);
    try {
      const ca = await readFile(join(dir, ADMIN_TLS_DIR, ADMIN_TLS_FILES.cert), 'utf8');
      expect((await get(cp.adminHttpsUrl!, ca, TOKEN)).cert.fingerprint256).toBe(fingerprint);
    } finally {
      await cp.stop();
    }
  }, 120_000);

  it('uses the certificate files given, and refuses a key that is not the certificate’s', async () => {
    const dir = await dataDir();
    const pair = await selfSignedCertificate(['localhost', '127.0.0.1']);
    const other = await selfSignedCertificate(['localhost']);
    const cert = join(dir, 'given.crt');
    const key = join(dir, 'given.key');
    const wrongKey = join(dir, 'wrong.key');
    await writeFile(cert, pair.cert);
    await writeFile(key, pair.key);
    await writeFile(wrongKey, other.key);

    await expect(start(dir, { adminSslCert: cert, adminSslCertKey: wrongKey })).rejects.toMatchObject({
      code: 'GH_ERR_CONFIG_INVALID_SETTING',
      message: expect.stringMatching(/--admin-ssl-cert-key .*is not the private key of --admin-ssl-cert/),
    });
    await expect(start(dir, { adminSslCert: cert })).rejects.toMatchObject({
      message: expect.stringMatching(/set both --admin-ssl-cert/),
    });

    const cp = await start(dir, { adminSslCert: cert, adminSslCertKey: key });
    try {
      const r = await get(cp.adminHttpsUrl!, pair.cert, TOKEN);
      expect(r.status).toBe(200);
      await expect(get(cp.adminHttpsUrl!, other.cert, TOKEN)).rejects.toThrow();
    } finally {
      await cp.stop();
    }
  }, 120_000);

  it('takes TLS 1.2 only with AEAD forward-secret ciphers (the proxy’s intermediate policy): a CBC/SHA-1 suite and TLS 1.1 are refused', async () => {
    const dir = await dataDir();
    const cp = await start(dir);
    try {
      const ca = await readFile(join(dir, ADMIN_TLS_DIR, ADMIN_TLS_FILES.cert), 'utf8');
      const port = Number(new URL(cp.adminHttpsUrl!).port);
      const handshake = (opts: {
        ciphers?: string;
        minVersion?: 'TLSv1' | 'TLSv1.2';
        maxVersion: 'TLSv1.1' | 'TLSv1.2';
      }) =>
        new Promise<string>((resolve, reject) => {
          const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...opts }, () => {
            const cipher = s.getCipher().name;
            s.end();
            resolve(cipher);
          });
          s.on('error', reject);
        });
      await expect(
        handshake({ ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' }),
      ).resolves.toBe('ECDHE-ECDSA-AES128-GCM-SHA256');
      await expect(handshake({ ciphers: 'ECDHE-ECDSA-AES128-SHA', maxVersion: 'TLSv1.2' })).rejects.toThrow();
      await expect(
        handshake({
          ciphers: 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0',
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
        }),
      ).rejects.toThrow();
    } finally {
      await cp.stop();
    }
  }, 120_000);
});
