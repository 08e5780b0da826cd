/**
 * The HTTPS proxy listener of a real DP (issue 13, "TLS on the proxy"): Kong's default
 * `intermediate` suite (TLS 1.2 and 1.3, AEAD ciphers with forward secrecy) on the default
 * certificate and on an SNI certificate from the configuration; `--ssl-cipher-suite modern`
 * refuses TLS 1.2; a bad setting stops the DP with a message naming it; and a certificate
 * replaced through the Admin API reaches new connections while an open keep-alive connection
 * keeps being served.
 */
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificate } from '../data-plane/src/tls/x509.js';
import {
  adminJson,
  freePort,
  runGatehouse,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

interface Handshake {
  ok: boolean;
  protocol?: string | null;
  cipher?: string;
  fingerprint?: string;
  error?: string;
}

function handshake(port: number, options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    socket.once('secureConnect', () => {
      const result = {
        ok: true,
        protocol: socket.getProtocol(),
        cipher: socket.getCipher().name,
        fingerprint: socket.getPeerCertificate().fingerprint256,
      };
      socket.destroy();
      resolve(result);
    });
    socket.once('error', (e) => resolve({ ok: false, error: e.message }));
  });
}

/** A cipher Node's own default list accepts and Kong's intermediate suite does not (CBC, SHA-1). */
const WEAK = 'ECDHE-ECDSA-AES128-SHA';

describe('the HTTPS proxy listener of a real DP', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let dp: DpHandle;
  let modern: DpHandle;
  let tlsPort: number;
  let modernPort: number;
  let certId: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    cp = await startCp({ dataDir: tempDir('tls-policy-cp') });
    const first = createCertificate({ commonName: 'a.test', altNames: ['a.test'] });
    const created = await adminJson(cp.admin, 'POST', '/certificates', { ...first, snis: ['a.test'] });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    certId = created.json.id;
    const service = await adminJson(cp.admin, 'POST', '/services', { name: 'svc', url: upstream.url });
    expect(service.status).toBe(201);
    expect((await adminJson(cp.admin, 'POST', '/services/svc/routes', { paths: ['/t'] })).status).toBe(201);
    tlsPort = await freePort();
    modernPort = await freePort();
    const common = { cluster: `127.0.0.1:${cp.clusterPort}`, publicKeys: cp.publicKeys, tls: cp.dpTlsArgs };
    [dp, modern] = await Promise.all([
      startDp({
        ...common,
        dataDir: tempDir('tls-policy-dp'),
        workers: 1,
        args: ['--listen-ssl', `127.0.0.1:${tlsPort}`],
      }),
      startDp({
        ...common,
        dataDir: tempDir('tls-policy-modern'),
        workers: 1,
        args: ['--listen-ssl', `127.0.0.1:${modernPort}`, '--ssl-cipher-suite', 'modern'],
      }),
    ]);
    await waitUntil('the SNI certificate is served', async () => {
      const h = await handshake(tlsPort, { servername: 'a.test' });
      return h.ok && h.fingerprint !== (await handshake(tlsPort, { servername: 'other.test' })).fingerprint;
    });
  }, 150_000);

  afterAll(async () => {
    await Promise.all([dp?.proc.stop(), modern?.proc.stop()]);
    await cp?.proc.stop();
    await upstream?.close();
  });

  it('speaks TLS 1.3 and TLS 1.2 with an AEAD cipher, on the default certificate and on an SNI one', async () => {
    for (const servername of ['a.test', 'other.test']) {
      expect(await handshake(tlsPort, { servername })).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
      const v12 = await handshake(tlsPort, { servername, maxVersion: 'TLSv1.2' });
      expect(v12).toMatchObject({ ok: true, protocol: 'TLSv1.2' });
      expect(v12.cipher).toMatch(/GCM|CHACHA20/);
    }
  });

  it('refuses a CBC/SHA-1 cipher and TLS 1.1, on the default certificate and on an SNI one', async () => {
    for (const servername of ['a.test', 'other.test']) {
      expect(await handshake(tlsPort, { servername, maxVersion: 'TLSv1.2', ciphers: WEAK })).toMatchObject({
        ok: false,
      });
      expect(
        await handshake(tlsPort, {
          servername,
          minVersion: 'TLSv1.1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        }),
      ).toMatchObject({ ok: false });
    }
  });

  it('with --ssl-cipher-suite modern, refuses TLS 1.2 and speaks TLS 1.3', async () => {
    expect(await handshake(modernPort, { servername: 'a.test', maxVersion: 'TLSv1.2' })).toMatchObject({
      ok: false,
    });
    expect(await handshake(modernPort, { servername: 'a.test' })).toMatchObject({
      ok: true,
      protocol: 'TLSv1.3',
    });
  });

  it('refuses to start with --ssl-ciphers but no custom suite, naming the setting', async () => {
    const proc = runGatehouse('dp-bad-tls', [
      'dp',
      '--config',
      '/nonexistent.yaml',
      '--listen-ssl',
      '127.0.0.1:0',
      '--ssl-ciphers',
      WEAK,
    ]);
    const code = await proc.exited;
    expect(code).toBe(2);
    expect(proc.output).toContain(
      'invalid setting --ssl-ciphers needs --ssl-cipher-suite custom (it is intermediate)',
    );
  });

  it('serves a replaced certificate on new connections and keeps serving an open keep-alive one', async () => {
    const agent = new https.Agent({
      keepAlive: true,
      maxSockets: 1,
      rejectUnauthorized: false,
      servername: 'a.test',
    });
    const get = () =>
      new Promise<{ status: number; socket: tls.TLSSocket; fingerprint: string }>((resolve, reject) => {
        const req = https.get(
          { host: '127.0.0.1', port: tlsPort, path: '/t', agent, servername: 'a.test' },
          (res) => {
            // Read while the response holds the socket: the agent takes it back at the end.
            const socket = res.socket as tls.TLSSocket;
            const { fingerprint256 } = socket.getPeerCertificate();
            res.resume();
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, socket, fingerprint: fingerprint256 }),
            );
          },
        );
        req.on('error', reject);
      });
    try {
      const before = await get();
      expect(before.status).toBe(200);
      const oldPrint = before.fingerprint;

      const second = createCertificate({ commonName: 'a.test', altNames: ['a.test'] });
      const patched = await adminJson(cp.admin, 'PATCH', `/certificates/${certId}`, second);
      expect(patched.status, JSON.stringify(patched.json)).toBe(200);
      await waitUntil('new connections get the new certificate', async () => {
        const h = await handshake(tlsPort, { servername: 'a.test' });
        return h.ok && h.fingerprint !== oldPrint;
      });

      const after = await get();
      expect(after.status).toBe(200);
      expect(after.socket).toBe(before.socket);
      expect(after.fingerprint).toBe(oldPrint);
    } finally {
      agent.destroy();
    }
  });
});
