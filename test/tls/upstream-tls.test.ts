import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import https from 'node:https';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { completeConfig, type CaCertificate, type GatehouseConfig, type Service } from '@gatehouse/shared';
import type { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { createCertificate } from '../../data-plane/src/tls/x509.js';
import { call, route, service, startProxy } from '../proxy/helpers.js';
import { target, upstream } from '../balancer/fixtures.js';
import { certificate } from './helpers.js';

interface SeenTls {
  server: string;
  clientCn: string | null;
}

async function httpsServer(
  name: string,
  options: https.ServerOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = https.createServer(options, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    const cn = peer?.subject?.CN;
    const clientCn = Array.isArray(cn) ? (cn[0] ?? null) : (cn ?? null);
    const body = JSON.stringify({ server: name, clientCn } satisfies SeenTls);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function caCertificate(id: string, cert: string): CaCertificate {
  return { id, cert, cert_digest: id, tags: null, created_at: 1, updated_at: 1 };
}

describe('TLS to upstreams (real sockets)', () => {
  const root = createCertificate({ commonName: 'Upstream Root CA', isCa: true });
  const intermediate = createCertificate({
    commonName: 'Upstream Intermediate CA',
    isCa: true,
    issuer: { commonName: 'Upstream Root CA', key: root.key },
  });
  const direct = createCertificate({
    commonName: 'localhost',
    altNames: ['localhost', '127.0.0.1'],
    issuer: { commonName: 'Upstream Root CA', key: root.key },
  });
  const chained = createCertificate({
    commonName: 'localhost',
    altNames: ['localhost', '127.0.0.1'],
    issuer: { commonName: 'Upstream Intermediate CA', key: intermediate.key },
  });
  const clientCa = createCertificate({ commonName: 'Client CA', isCa: true });
  const client = createCertificate({
    commonName: 'gatehouse-dp',
    issuer: { commonName: 'Client CA', key: clientCa.key },
  });

  let plainTls: { port: number; close(): Promise<void> };
  let chainTls: { port: number; close(): Promise<void> };
  let mtls: { port: number; close(): Promise<void> };
  let mtls2: { port: number; close(): Promise<void> };
  let proxy: ProxyServer | null = null;

  beforeAll(async () => {
    plainTls = await httpsServer('tls', { cert: direct.cert, key: direct.key });
    chainTls = await httpsServer('chain', { cert: chained.cert + intermediate.cert, key: chained.key });
    const mtlsOptions = {
      cert: direct.cert,
      key: direct.key,
      requestCert: true,
      rejectUnauthorized: true,
      ca: clientCa.cert,
    };
    mtls = await httpsServer('mtls-1', mtlsOptions);
    mtls2 = await httpsServer('mtls-2', mtlsOptions);
  });
  afterAll(async () => {
    await Promise.all([plainTls.close(), chainTls.close(), mtls.close(), mtls2.close()]);
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = null;
  });

  function cfg(port: number, fields: Partial<Service>): GatehouseConfig {
    return completeConfig({
      services: [service('s', port, { protocol: 'https', ...fields })],
      routes: [route('r', 's', { paths: ['/'] })],
      certificates: [certificate('client-cert', client)],
      ca_certificates: [caCertificate('root-ca', root.cert), caCertificate('client-ca', clientCa.cert)],
    });
  }

  async function status(config: GatehouseConfig): Promise<{ status: number; seen: SeenTls | null }> {
    await proxy?.close();
    const started = await startProxy(config);
    proxy = started.proxy;
    const reply = await call(started.port, '/x');
    return { status: reply.status, seen: reply.status === 200 ? reply.json<SeenTls>() : null };
  }

  it('tls_verify off (Kong’s default): an upstream with an untrusted certificate is served', async () => {
    expect((await status(cfg(plainTls.port, {}))).status).toBe(200);
    expect((await status(cfg(plainTls.port, { tls_verify: false }))).status).toBe(200);
  });

  it('tls_verify on: refused (502) unless ca_certificates holds the issuing CA', async () => {
    expect((await status(cfg(plainTls.port, { tls_verify: true }))).status).toBe(502);
    expect(
      (await status(cfg(plainTls.port, { tls_verify: true, ca_certificates: ['client-ca'] }))).status,
    ).toBe(502);
    const ok = await status(cfg(plainTls.port, { tls_verify: true, ca_certificates: ['root-ca'] }));
    expect(ok.status).toBe(200);
    expect(ok.seen!.server).toBe('tls');
  });

  it('tls_verify_depth bounds the chain: an intermediate needs depth 1', async () => {
    const base = { tls_verify: true, ca_certificates: ['root-ca'] };
    expect((await status(cfg(chainTls.port, { ...base }))).status).toBe(200);
    expect((await status(cfg(chainTls.port, { ...base, tls_verify_depth: 1 }))).status).toBe(200);
    expect((await status(cfg(chainTls.port, { ...base, tls_verify_depth: 0 }))).status).toBe(502);
  });

  it('client_certificate: mTLS to an upstream that requires a client certificate', async () => {
    expect((await status(cfg(mtls.port, {}))).status).toBe(502);
    const ok = await status(cfg(mtls.port, { client_certificate: { id: 'client-cert' } }));
    expect(ok.status).toBe(200);
    expect(ok.seen!.clientCn).toBe('gatehouse-dp');
  });

  it('a balanced https upstream uses the upstream’s client_certificate for every target', async () => {
    const up = upstream('u1', 'secure.pool', { client_certificate: { id: 'client-cert' } });
    const config = completeConfig({
      services: [service('s', 443, { protocol: 'https', host: 'secure.pool' })],
      routes: [route('r', 's', { paths: ['/'] })],
      upstreams: [up],
      targets: [target('t1', 'u1', `127.0.0.1:${mtls.port}`), target('t2', 'u1', `127.0.0.1:${mtls2.port}`)],
      certificates: [certificate('client-cert', client)],
    });
    const started = await startProxy(config);
    proxy = started.proxy;
    const servers = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const reply = await call(started.port, '/x');
      expect(reply.status).toBe(200);
      const seen = reply.json<SeenTls>();
      expect(seen.clientCn).toBe('gatehouse-dp');
      servers.add(seen.server);
    }
    expect(servers).toEqual(new Set(['mtls-1', 'mtls-2']));
  });

  it('a target failing certificate verification counts as a connection failure: retried on the next target', async () => {
    const untrusted = createCertificate({ commonName: 'localhost', altNames: ['localhost', '127.0.0.1'] });
    const rogue = await httpsServer('rogue', { cert: untrusted.cert, key: untrusted.key });
    try {
      const config = completeConfig({
        services: [
          service('s', 443, {
            protocol: 'https',
            host: 'verified.pool',
            tls_verify: true,
            ca_certificates: ['root-ca'],
          }),
        ],
        routes: [route('r', 's', { paths: ['/'] })],
        upstreams: [upstream('u1', 'verified.pool')],
        targets: [
          target('t1', 'u1', `127.0.0.1:${rogue.port}`),
          target('t2', 'u1', `127.0.0.1:${plainTls.port}`),
        ],
        ca_certificates: [caCertificate('root-ca', root.cert)],
      });
      const started = await startProxy(config);
      proxy = started.proxy;
      for (let i = 0; i < 4; i++) {
        const reply = await call(started.port, '/x');
        expect(reply.status).toBe(200);
        expect(reply.json<SeenTls>().server).toBe('tls');
      }
    } finally {
      await rogue.close();
    }
  });

  it('refuses a configuration naming an unknown CA certificate', async () => {
    const started = await startProxy();
    proxy = started.proxy;
    expect(() => started.proxy.apply(cfg(plainTls.port, { ca_certificates: ['missing'] }))).toThrow(
      expect.objectContaining({ code: 'GH_ERR_TLS_UNKNOWN_CERTIFICATE' }),
    );
  });
});
