import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientIpResolver } from '../../../data-plane/src/net/client-ip.js';
import { call } from './helpers.js';

/**
 * ClientIpResolver on the peer addresses node really reports: a server that answers with the
 * client IP it resolves, on an IPv4 listener and on a dual-stack one (peers as ::ffff:a.b.c.d).
 */
async function ipServer(host: string, trusted: string[]) {
  const resolver = new ClientIpResolver(trusted);
  const server = http.createServer((req, res) => {
    res.end(resolver.resolve(req.socket.remoteAddress, req.rawHeaders));
  });
  server.listen(0, host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

describe('client IP over real sockets', () => {
  const servers: http.Server[] = [];
  let untrusted: number;
  let trusted: number;
  let dualStackTrusted: number;
  beforeAll(async () => {
    const a = await ipServer('127.0.0.1', ['10.0.0.0/8']);
    const b = await ipServer('127.0.0.1', ['127.0.0.1', '10.0.0.0/8']);
    const c = await ipServer('::', ['127.0.0.0/8']);
    servers.push(a.server, b.server, c.server);
    untrusted = a.port;
    trusted = b.port;
    dualStackTrusted = c.port;
  });
  afterAll(async () => {
    for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', async () => {
    const r = await call(untrusted, '/', { headers: { 'x-forwarded-for': '10.9.9.9' } });
    expect(r.body.toString()).toBe('127.0.0.1');
  });

  it('takes the client from X-Forwarded-For when the peer is a trusted proxy, skipping trusted hops', async () => {
    const r = await call(trusted, '/', { headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.5' } });
    expect(r.body.toString()).toBe('198.51.100.7');
  });

  it('treats a dual-stack listener peer ::ffff:127.0.0.1 as the trusted IPv4 127.0.0.1', async () => {
    const r = await call(dualStackTrusted, '/', { headers: { 'x-forwarded-for': '2001:db8::1' } });
    expect(r.body.toString()).toBe('2001:db8::1');
    const none = await call(dualStackTrusted, '/');
    expect(none.body.toString()).toBe('127.0.0.1');
  });
});
