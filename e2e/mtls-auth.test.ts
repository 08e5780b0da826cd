/**
 * mtls-auth through a real CP and DP (issue 13): client certificates made by a real CA (the
 * `openssl` CLI), presented over the DP's HTTPS listener with node:tls and with `openssl
 * s_client`. A valid certificate reaches the upstream with consumer headers; no certificate, a
 * certificate of another CA and a revoked one (on the CA's CRL, served over HTTP) are refused with
 * Kong's 401s; a route without the plugin on the same listener and name does not need one; an
 * `mtls_auth_credentials` entity made through the Admin API maps a certificate to a consumer.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCa, type Issued } from '../data-plane/src/plugins/mtls-auth/test-pki.js';
import {
  adminJson,
  freePort,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

function get(port: number, path: string, client?: Issued): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'api.mtls.test',
        rejectUnauthorized: false,
        agent: false,
        ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** One request through `openssl s_client` (with the client's certificate when given): its raw output. */
function sClient(port: number, path: string, client?: Issued): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-servername',
      'api.mtls.test',
      '-quiet',
      '-ign_eof',
    ];
    if (client !== undefined) args.push('-cert', client.certFile, '-key', client.keyFile);
    const proc = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    proc.on('error', reject);
    proc.on('close', () => resolve(out));
    proc.stdin.end(`GET ${path} HTTP/1.1\r\nHost: api.mtls.test\r\nConnection: close\r\n\r\n`);
  });
}

describe('mtls-auth through a real CP and DP', () => {
  let cp: CpHandle;
  let dp: DpHandle;
  let upstream: http.Server;
  let crlServer: http.Server;
  let tlsPort: number;
  let root: TestCa;
  let alice: Issued;
  let service: Issued;
  let revoked: Issued;
  let stranger: Issued;

  beforeAll(async () => {
    // The upstream echoes the headers it received.
    upstream = http.createServer((req, res) => {
      const body = JSON.stringify({ url: req.url, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    crlServer = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(root.crl());
    });
    await new Promise<void>((r) => crlServer.listen(0, '127.0.0.1', r));
    const crlUrl = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}/root.crl`;

    root = TestCa.root('E2E Root CA');
    alice = root.client({ subject: '/O=Example/CN=alice', san: 'DNS:alice.example', crlUrl });
    service = root.client({ subject: '/CN=billing-service', crlUrl });
    revoked = root.client({ subject: '/CN=alice', crlUrl });
    root.revoke(revoked);
    stranger = TestCa.root('E2E Other CA').client({ subject: '/CN=alice' });

    cp = await startCp({ dataDir: tempDir('mtls-cp') });
    const ca = await adminJson(cp.admin, 'POST', '/ca_certificates', { cert: root.cert });
    expect(ca.status, JSON.stringify(ca.json)).toBe(201);
    expect((await adminJson(cp.admin, 'POST', '/consumers', { username: 'alice' })).status).toBe(201);
    expect((await adminJson(cp.admin, 'POST', '/consumers', { username: 'billing' })).status).toBe(201);
    const cred = await adminJson(cp.admin, 'POST', '/consumers/billing/mtls-auth', {
      subject_name: 'billing-service',
      ca_certificate: { id: ca.json.id },
    });
    expect(cred.status, JSON.stringify(cred.json)).toBe(201);
    const port = (upstream.address() as AddressInfo).port;
    expect(
      (await adminJson(cp.admin, 'POST', '/services', { name: 'svc', url: `http://127.0.0.1:${port}` }))
        .status,
    ).toBe(201);
    expect(
      (await adminJson(cp.admin, 'POST', '/services/svc/routes', { name: 'secure', paths: ['/secure'] }))
        .status,
    ).toBe(201);
    expect(
      (await adminJson(cp.admin, 'POST', '/services/svc/routes', { name: 'open', paths: ['/open'] })).status,
    ).toBe(201);
    const plugin = await adminJson(cp.admin, 'POST', '/routes/secure/plugins', {
      name: 'mtls-auth',
      config: { ca_certificates: [ca.json.id], cert_cache_ttl: 1000 },
    });
    expect(plugin.status, JSON.stringify(plugin.json)).toBe(201);

    tlsPort = await freePort();
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      tls: cp.dpTlsArgs,
      dataDir: tempDir('mtls-dp'),
      workers: 1,
      args: ['--listen-ssl', `127.0.0.1:${tlsPort}`],
    });
    await waitUntil(
      'the mtls-auth route is served',
      async () => (await get(tlsPort, '/secure', alice)).status === 200,
      60_000,
    );
  }, 150_000);

  afterAll(async () => {
    await dp?.proc.stop();
    await cp?.proc.stop();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
    await new Promise<void>((r) => (crlServer ? crlServer.close(() => r()) : r()));
  });

  it('proxies a request with a valid client certificate, with the consumer headers', async () => {
    const res = await get(tlsPort, '/secure', alice);
    expect(res.status).toBe(200);
    const headers = res.json.headers as Record<string, string>;
    expect(headers['x-consumer-username']).toBe('alice');
    expect(headers['x-client-cert-dn']).toBeUndefined();
  });

  it('maps a certificate through an mtls_auth_credentials entity made with the Admin API', async () => {
    const res = await get(tlsPort, '/secure', service);
    expect(res.status).toBe(200);
    expect((res.json.headers as Record<string, string>)['x-consumer-username']).toBe('billing');
    const listed = await adminJson(cp.admin, 'GET', '/consumers/billing/mtls-auth');
    expect(listed.json.data).toMatchObject([{ subject_name: 'billing-service' }]);
  });

  it('answers 401 without a certificate and for a certificate of another CA', async () => {
    expect(await get(tlsPort, '/secure')).toEqual({
      status: 401,
      json: { message: 'No required TLS certificate was sent' },
    });
    expect(await get(tlsPort, '/secure', stranger)).toEqual({
      status: 401,
      json: { message: 'TLS certificate failed verification' },
    });
  });

  it('refuses a certificate its CA revoked (on the CRL of its distribution point)', async () => {
    expect(await get(tlsPort, '/secure', revoked)).toEqual({
      status: 401,
      json: { message: 'TLS certificate failed verification' },
    });
  });

  it('does not demand a certificate on a route without the plugin on the same listener and name', async () => {
    const res = await get(tlsPort, '/open');
    expect(res.status).toBe(200);
    expect((res.json.headers as Record<string, string>)['x-consumer-username']).toBeUndefined();
  });

  it('authenticates openssl s_client with the certificate, and refuses it without', async () => {
    const withCert = await sClient(tlsPort, '/secure', alice);
    expect(withCert).toMatch(/^HTTP\/1\.1 200/m);
    expect(withCert).toContain('"x-consumer-username":"alice"');
    const without = await sClient(tlsPort, '/secure');
    expect(without).toMatch(/^HTTP\/1\.1 401/m);
    expect(without).toContain('No required TLS certificate was sent');
  });

  it('reads the client certificate over HTTP/2 too (h2 by ALPN on the same listener)', async () => {
    const ask = (client?: Issued): Promise<Answer & { alpn: string | false | undefined }> =>
      new Promise((resolve, reject) => {
        const session = http2.connect(`https://127.0.0.1:${tlsPort}`, {
          servername: 'api.mtls.test',
          rejectUnauthorized: false,
          ...(client === undefined ? {} : { cert: client.cert, key: client.key }),
        });
        session.on('error', reject);
        const stream = session.request({ ':path': '/secure' });
        let status = 0;
        let text = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (text += c));
        stream.on('end', () => {
          const alpn = session.alpnProtocol;
          session.close();
          resolve({ status, json: JSON.parse(text) as Record<string, unknown>, alpn });
        });
        stream.on('error', reject);
      });
    const ok = await ask(alice);
    expect(ok.alpn).toBe('h2');
    expect(ok.status).toBe(200);
    expect((ok.json.headers as Record<string, string>)['x-consumer-username']).toBe('alice');
    expect(await ask()).toEqual({
      status: 401,
      json: { message: 'No required TLS certificate was sent' },
      alpn: 'h2',
    });
  });
});
