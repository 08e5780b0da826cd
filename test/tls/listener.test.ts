import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { completeConfig, type GatehouseConfig } from '@gatehouse/shared';
import type { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { createCertificate } from '../../data-plane/src/tls/x509.js';
import {
  call,
  echo,
  route,
  service,
  startProxy,
  startUpstream,
  type SeenRequest,
  type Upstream,
} from '../proxy/helpers.js';
import { certificate, sni, tlsCall } from './helpers.js';

describe('HTTPS proxy listener (real sockets)', () => {
  let upstream: Upstream;
  let proxy: ProxyServer;
  let httpPort: number;
  let tlsPort: number;

  const exact = certificate('c-exact', createCertificate({ commonName: 'api.example.com' }));
  const wildcard = certificate('c-wild', createCertificate({ commonName: 'wildcard.example.com' }));
  const suffix = certificate('c-suffix', createCertificate({ commonName: 'shop.example.suffix' }));
  const replaced = certificate('c-new', createCertificate({ commonName: 'api-new.example.com' }));

  function cfg(apiCert = 'c-exact'): GatehouseConfig {
    return completeConfig({
      services: [service('s', upstream.port)],
      routes: [
        route('open', 's', { paths: ['/open'] }),
        route('only-https', 's', { paths: ['/secure'], protocols: ['https'] }),
        route('redirect', 's', { paths: ['/moved'], protocols: ['https'], https_redirect_status_code: 308 }),
        route('found', 's', { paths: ['/found'], protocols: ['https'], https_redirect_status_code: 302 }),
      ],
      certificates: [exact, wildcard, suffix, replaced],
      snis: [
        sni('n1', 'api.example.com', apiCert),
        sni('n2', '*.example.com', 'c-wild'),
        sni('n3', 'shop.example.*', 'c-suffix'),
      ],
    });
  }

  beforeAll(async () => {
    upstream = await startUpstream(echo);
    const started = await startProxy(cfg());
    proxy = started.proxy;
    httpPort = started.port;
    await proxy.listenTls(0, '127.0.0.1');
    tlsPort = (proxy.tlsServer!.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await proxy.close();
    await upstream.close();
  });

  it('serves the certificate of the exact SNI', async () => {
    const reply = await tlsCall(tlsPort, '/open', { servername: 'api.example.com' });
    expect(reply.status).toBe(200);
    expect(reply.peer.subject.CN).toBe('api.example.com');
  });

  it('serves the prefix wildcard (*.example.com) for other names of that domain', async () => {
    expect((await tlsCall(tlsPort, '/open', { servername: 'www.example.com' })).peer.subject.CN).toBe(
      'wildcard.example.com',
    );
  });

  it('serves the suffix wildcard (shop.example.*)', async () => {
    expect((await tlsCall(tlsPort, '/open', { servername: 'shop.example.org' })).peer.subject.CN).toBe(
      'shop.example.suffix',
    );
  });

  it('serves the generated default certificate without SNI or for an unknown name', async () => {
    expect((await tlsCall(tlsPort, '/open')).peer.subject.CN).toBe('localhost');
    expect((await tlsCall(tlsPort, '/open', { servername: 'unknown.test' })).peer.subject.CN).toBe(
      'localhost',
    );
  });

  it('tells the upstream the request came over https, on the TLS port', async () => {
    const reply = await tlsCall(tlsPort, '/open', { servername: 'api.example.com' });
    const seen = JSON.parse(reply.body) as SeenRequest;
    expect(seen.headers['x-forwarded-proto']).toBe('https');
    expect(seen.headers['x-forwarded-port']).toBe(String(tlsPort));
    const plain = (await call(httpPort, '/open')).json();
    expect(plain.headers['x-forwarded-proto']).toBe('http');
  });

  it('https-only route: 426 with Kong’s body over http, served over https', async () => {
    const reply = await call(httpPort, '/secure');
    expect(reply.status).toBe(426);
    expect(JSON.parse(reply.body.toString())).toEqual({ message: 'Please use HTTPS protocol' });
    expect(reply.headers.upgrade).toBe('TLS/1.2, HTTP/1.1');
    expect((await tlsCall(tlsPort, '/secure', { servername: 'api.example.com' })).status).toBe(200);
  });

  it('https-only route with a redirect code: Location https://<host><uri>', async () => {
    const moved = await call(httpPort, '/moved/a?b=1', { headers: { host: 'shop.example.com:8000' } });
    expect(moved.status).toBe(308);
    expect(moved.headers.location).toBe('https://shop.example.com/moved/a?b=1');
    const found = await call(httpPort, '/found', { headers: { host: 'www.example.com' } });
    expect(found.status).toBe(302);
    expect(found.headers.location).toBe('https://www.example.com/found');
  });

  it('a configuration swap changes the certificate served for a name', async () => {
    proxy.apply(cfg('c-new'));
    expect((await tlsCall(tlsPort, '/open', { servername: 'api.example.com' })).peer.subject.CN).toBe(
      'api-new.example.com',
    );
    proxy.apply(cfg());
    expect((await tlsCall(tlsPort, '/open', { servername: 'api.example.com' })).peer.subject.CN).toBe(
      'api.example.com',
    );
  });

  it('serves a default certificate given to listenTls (one for every worker) instead of generating one', async () => {
    const given = createCertificate({ commonName: 'dp-default.example' });
    const other = await startProxy(cfg());
    try {
      await other.proxy.listenTls(0, '127.0.0.1', given);
      const port = (other.proxy.tlsServer!.address() as AddressInfo).port;
      expect((await tlsCall(port, '/open')).peer.subject.CN).toBe('dp-default.example');
      expect((await tlsCall(port, '/open', { servername: 'api.example.com' })).peer.subject.CN).toBe(
        'api.example.com',
      );
    } finally {
      await other.proxy.close();
    }
  });

  it('refuses a configuration whose certificate cannot be loaded, keeping the old one', () => {
    const broken = cfg();
    broken.certificates = [...broken.certificates, certificate('c-bad', { cert: 'not a pem', key: 'nope' })];
    broken.snis = [...broken.snis, sni('n-bad', 'bad.example.net', 'c-bad')];
    expect(() => proxy.apply(broken)).toThrow(
      expect.objectContaining({ code: 'GH_ERR_TLS_INVALID_CERTIFICATE' }),
    );
  });
});
