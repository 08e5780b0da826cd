/**
 * DNS balancing through a real data plane process (2 workers): `gatehouse dp --config FILE
 * --dns-resolver 127.0.0.1:<port>` asks the test's DNS server (test/helpers/dns-server.ts) for a
 * service host and an upstream target name, balances over the addresses, follows a changed answer
 * once its TTL ran out, and answers Kong's 503 "name resolution failed" for a name that does not
 * exist.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../test/helpers/dns-server.js';
import { startDblessDp, tempDir, waitUntil, type Proc } from './helpers/processes.js';

async function backend(address: string, port = 0): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const name = `${address}:${(server.address() as AddressInfo).port}`;
    res.writeHead(200, { 'x-backend': name, 'x-host': req.headers.host ?? '' });
    res.end(name);
  });
  server.listen(port, address);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

async function get(url: string): Promise<{ status: number; backend: string | null; code: string | null }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await r.text();
  return {
    status: r.status,
    backend: r.headers.get('x-backend'),
    code: r.headers.get('x-gatehouse-error-code'),
  };
}

describe('DNS balancing through a data plane process', () => {
  let dns: TestDnsServer;
  let servers: http.Server[] = [];
  let port: number;
  let dp: { proc: Proc; proxy: string; status: string };

  beforeAll(async () => {
    dns = await startDnsServer();
    const a = await backend('127.0.0.1');
    const b = await backend('127.0.0.2', a.port);
    port = a.port;
    servers = [a.server, b.server];
    dns.set('web.e2e.test', { A: ['127.0.0.1', '127.0.0.2'], ttl: 1 });
    dns.set('pool-node.e2e.test', { A: ['127.0.0.1', '127.0.0.2'], ttl: 60 });
    const dir = tempDir('dns');
    const file = join(dir, 'kong.yaml');
    await writeFile(
      file,
      `_format_version: "3.0"
services:
  - name: web
    host: web.e2e.test
    port: ${port}
    routes:
      - name: web
        paths: ["/web"]
  - name: pooled
    host: pool.upstream
    routes:
      - name: pooled
        paths: ["/pooled"]
  - name: nowhere
    host: nowhere.e2e.test
    port: ${port}
    routes:
      - name: nowhere
        paths: ["/nowhere"]
upstreams:
  - name: pool.upstream
    targets:
      - target: pool-node.e2e.test:${port}
`,
    );
    dp = await startDblessDp({
      file,
      dataDir: dir,
      workers: 2,
      args: ['--dns-resolver', dns.address, '--dns-hostsfile', join(dir, 'no-hosts')],
    });
  });

  afterAll(async () => {
    await dp?.proc.stop();
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    await dns?.close();
  });

  it('balances a service host and an upstream target name over both addresses', async () => {
    for (const path of ['/web', '/pooled']) {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const r = await get(`${dp.proxy}${path}`);
        expect(r.status).toBe(200);
        seen.add(r.backend!);
      }
      expect(seen).toEqual(new Set([`127.0.0.1:${port}`, `127.0.0.2:${port}`]));
    }
    // Every worker asked the test's server (the resolver is the one given by --dns-resolver).
    expect(dns.questions.some((q) => q === 'A web.e2e.test')).toBe(true);
  });

  it("answers Kong's 503 name resolution failed for a host that does not exist", async () => {
    const r = await get(`${dp.proxy}/nowhere`);
    expect(r.status).toBe(503);
    expect(r.code).toBe('GH_ERR_PROXY_NAME_RESOLUTION');
  });

  it('follows a changed answer once its TTL ran out', async () => {
    dns.set('web.e2e.test', { A: ['127.0.0.2'], ttl: 1 });
    await waitUntil(
      'only 127.0.0.2 serves /web',
      async () => {
        const all = await Promise.all(Array.from({ length: 6 }, () => get(`${dp.proxy}/web`)));
        return all.every((r) => r.status === 200 && r.backend === `127.0.0.2:${port}`);
      },
      20_000,
    );
  });
});
