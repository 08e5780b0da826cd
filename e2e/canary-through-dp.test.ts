/**
 * The canary plugin through a real data plane process (`gatehouse dp --config`, DB-less, 2
 * workers) in front of two real upstream servers, a primary and a canary: the split, stickiness
 * per consumer across workers, the timed ramp's ends, routing by header, an upstream entity as
 * the canary, and the fallback when that upstream has no healthy target; and Gatehouse's cookie
 * options (`hash: cookie` with `hash_cookie`, `canary_by_cookie_name`).
 */
import { writeFileSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, tempDir, type Proc, startDblessDp } from './helpers/processes.js';

const CONSUMERS = 60;

async function named(name: string): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ server: name, url: req.url, host: req.headers.host }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

const portOf = (s: Server) => (s.address() as AddressInfo).port;

function declarativeFile(primary: number, canary: number, closed: number): string {
  const now = Math.floor(Date.now() / 1000);
  const route = (name: string, plugins: unknown[]) => ({ name, paths: [`/${name}`], plugins });
  const canaryAt = (config: Record<string, unknown>) => ({
    name: 'canary',
    config: { upstream_host: '127.0.0.1', upstream_port: canary, ...config },
  });
  return stringify({
    _format_version: '3.0',
    upstreams: [
      { name: 'canary.pool', targets: [{ target: `127.0.0.1:${canary}` }] },
      {
        name: 'down.pool',
        targets: [{ target: `127.0.0.1:${closed}` }],
        healthchecks: { passive: { unhealthy: { tcp_failures: 1 } } },
      },
    ],
    services: [
      {
        name: 'app',
        url: `http://127.0.0.1:${primary}`,
        retries: 0,
        routes: [
          route('split', [canaryAt({ percentage: 25, hash: 'header', hash_header: 'x-user' })]),
          route('cookie', [
            canaryAt({
              percentage: 40,
              hash: 'cookie',
              hash_cookie: 'ab_id',
              canary_by_cookie_name: 'canary',
            }),
          ]),
          route('sticky', [{ name: 'key-auth' }, canaryAt({ percentage: 50 })]),
          route('done', [canaryAt({ start: now - 7200, duration: 3600 })]),
          route('later', [
            canaryAt({ start: now + 86_400, duration: 3600, canary_by_header_name: 'x-canary' }),
          ]),
          route('pool', [
            {
              name: 'canary',
              config: { percentage: 100, hash: 'none', upstream_host: 'canary.pool', upstream_uri: '/v2' },
            },
          ]),
          route('fallback', [
            {
              name: 'canary',
              config: { percentage: 100, hash: 'none', upstream_host: 'down.pool', upstream_fallback: true },
            },
          ]),
        ],
      },
    ],
    consumers: Array.from({ length: CONSUMERS }, (_, n) => ({
      username: `user-${n}`,
      keyauth_credentials: [{ key: `key-${n}` }],
    })),
  });
}

describe('canary through a real data plane process', () => {
  let primary: Server;
  let canary: Server;
  let dp: Proc;
  let proxy: string;

  beforeAll(async () => {
    primary = await named('primary');
    canary = await named('canary');
    const dir = tempDir('canary');
    const file = join(dir, 'kong.yaml');
    writeFileSync(file, declarativeFile(portOf(primary), portOf(canary), await freePort()));
    ({ proc: dp, proxy } = await startDblessDp({ file, dataDir: join(dir, 'dp'), workers: 2 }));
  });

  afterAll(async () => {
    await dp?.stop();
    for (const s of [primary, canary]) {
      s?.closeAllConnections();
      await new Promise((r) => s?.close(r));
    }
  });

  /** The server that answered a GET on a new connection, or 'error' for a gateway error. */
  const freshGet = (path: string, headers: Record<string, string> = {}) =>
    new Promise<string>((resolve, reject) => {
      const req = get(`${proxy}${path}`, { agent: false, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve(res.statusCode === 200 ? (JSON.parse(body) as { server: string }).server : 'error'),
        );
      });
      req.on('error', reject);
    });

  const serverOf = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${proxy}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    return (await res.json()) as { server: string; url: string; host: string };
  };

  // 400 distinct users, 25 % of 1000 buckets open: Binomial(400, 0.25) has mean 100 and
  // σ = √(400·0.25·0.75) ≈ 8.7. The users are fixed, so the count is too (no flake); ±6σ (±52)
  // is the bound a uniform hash meets.
  it('sends 25 % of distinct users to the canary, within 6σ, each always to the same side', async () => {
    const side = new Map<string, string>();
    for (let n = 0; n < 400; n++) side.set(`u${n}`, (await serverOf('/split', { 'x-user': `u${n}` })).server);
    const onCanary = [...side.values()].filter((s) => s === 'canary').length;
    expect(Math.abs(onCanary - 100)).toBeLessThanOrEqual(52);
    for (let n = 0; n < 50; n++)
      expect((await serverOf('/split', { 'x-user': `u${n}` })).server).toBe(side.get(`u${n}`));
  });

  // 400 distinct cookie values, 40 % of 1000 buckets open: Binomial(400, 0.4) has mean 160 and
  // σ = √(400·0.4·0.6) ≈ 9.8; the values are fixed, so the count is too; ±6σ (±59) is the bound.
  it('hash cookie: sends 40 % of cookie values to the canary, within 6σ, each value always the same way', async () => {
    const side = new Map<string, string>();
    for (let n = 0; n < 400; n++)
      side.set(`v${n}`, (await serverOf('/cookie', { cookie: `lang=en; ab_id=v${n}` })).server);
    const onCanary = [...side.values()].filter((s) => s === 'canary').length;
    console.log(`canary cookie split e2e: ${onCanary}/400 on the canary (expected 160 ± 59)`);
    expect(Math.abs(onCanary - 160)).toBeLessThanOrEqual(59);
    // The same value again, on new connections (both workers), with other cookies around it.
    for (let n = 0; n < 40; n++)
      expect(await freshGet('/cookie', { cookie: `ab_id=v${n}; theme=dark` })).toBe(side.get(`v${n}`));
  });

  it('canary_by_cookie_name: always and never override the cookie split', async () => {
    for (let n = 0; n < 20; n++) {
      const v = `v${n}`;
      expect((await serverOf('/cookie', { cookie: `ab_id=${v}; canary=always` })).server).toBe('canary');
      expect((await serverOf('/cookie', { cookie: `canary=never; ab_id=${v}` })).server).toBe('primary');
    }
  });

  it('keeps each authenticated consumer on one side across requests and workers, and uses both sides', async () => {
    const sides = new Set<string>();
    for (let n = 0; n < CONSUMERS; n++) {
      const first = (await serverOf('/sticky', { apikey: `key-${n}` })).server;
      for (let k = 0; k < 4; k++)
        expect((await serverOf('/sticky', { apikey: `key-${n}` })).server).toBe(first);
      sides.add(first);
    }
    expect(sides).toEqual(new Set(['primary', 'canary']));
  });

  it('a timed release sends everyone once it ended, no one before it starts', async () => {
    for (let n = 0; n < 20; n++) {
      const ip = { 'x-user': `u${n}` };
      expect((await serverOf('/done', ip)).server).toBe('canary');
      expect((await serverOf('/later', ip)).server).toBe('primary');
    }
  });

  it('canary_by_header_name: always overrides a release that has not started', async () => {
    const seen = await serverOf('/later/x', { 'x-canary': 'always' });
    expect(seen).toMatchObject({ server: 'canary', url: '/x', host: `127.0.0.1:${portOf(canary)}` });
  });

  it('an upstream entity as the canary, with upstream_uri', async () => {
    expect(await serverOf('/pool/ignored?a=1')).toMatchObject({ server: 'canary', url: '/v2?a=1' });
  });

  it('upstream_fallback: once the canary upstream has no healthy target, the primary serves', async () => {
    // A new connection per request, so both workers serve some. Each worker fails once on the
    // down target (passive check, tcp_failures 1: the upstream is then down), then falls back.
    const servers: string[] = [];
    for (let n = 0; n < 16; n++) servers.push(await freshGet('/fallback'));
    expect(servers.filter((s) => s === 'error').length).toBeLessThanOrEqual(2);
    expect(servers.slice(-10)).toEqual(Array(10).fill('primary'));
  });
});
