/**
 * rate-limiting and response-ratelimiting through a real data plane process (`gatehouse dp
 * --config`, DB-less, 2 workers) with the `local` policy: one limit per node, so the two
 * workers together admit exactly the limit (from allowance leases the primary hands out, with
 * no message per request). A DP of one worker counts in that worker, exactly too.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tempDir, type Proc, startDblessDp } from './helpers/processes.js';

function declarativeFile(upstream: string): string {
  return stringify({
    _format_version: '3.0',
    services: [
      {
        name: 'echo',
        url: upstream,
        routes: [
          {
            name: 'limited',
            paths: ['/limited'],
            plugins: [
              {
                name: 'rate-limiting',
                config: { day: 10, limit_by: 'header', header_name: 'x-tenant' },
              },
            ],
          },
          {
            name: 'tiers',
            paths: ['/tiers'],
            plugins: [
              { name: 'key-auth' },
              { name: 'rate-limiting', config: { day: 2, limit_by: 'consumer' } },
            ],
          },
          {
            name: 'videos',
            paths: ['/videos'],
            strip_path: false,
            plugins: [
              {
                name: 'response-ratelimiting',
                config: { limit_by: 'ip', limits: { videos: { day: 2 } } },
              },
            ],
          },
        ],
      },
    ],
    consumer_groups: [
      {
        name: 'gold',
        plugins: [{ name: 'rate-limiting', config: { day: 5, limit_by: 'consumer' } }],
      },
    ],
    consumers: [
      { username: 'goldie', keyauth_credentials: [{ key: 'gold-key' }], groups: [{ name: 'gold' }] },
      { username: 'plain', keyauth_credentials: [{ key: 'plain-key' }] },
    ],
  });
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection (no keep-alive): the node spreads connections over the workers. */
function send(base: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { agent: false, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** 40 concurrent requests of one new tenant to the route limited to 10 a day. */
async function burst(proxy: string, n: number): Promise<{ ok: Answer[]; refused: Answer[] }> {
  const tenant = randomUUID();
  const answers = await Promise.all(
    Array.from({ length: n }, () => send(proxy, '/limited', { 'x-tenant': tenant })),
  );
  return { ok: answers.filter((a) => a.status === 200), refused: answers.filter((a) => a.status === 429) };
}

async function startDp(workers: number): Promise<{ dp: Proc; proxy: string; upstream: Server }> {
  const upstream = createServer((req, res) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-served-by': 'echo' };
    // The upstream says what each answer consumes (Kong's X-Kong-Limit).
    if (req.url?.startsWith('/videos')) headers['x-kong-limit'] = 'videos=1';
    res.writeHead(200, headers).end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const up = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  const dir = tempDir('ratelimit');
  const file = join(dir, 'kong.yaml');
  writeFileSync(file, declarativeFile(up));
  const { proc, proxy } = await startDblessDp({ file, dataDir: join(dir, 'dp'), workers });
  return { dp: proc, proxy, upstream };
}

describe('rate limiting through a real data plane process (local policy, 2 workers)', () => {
  let upstream: Server;
  let dp: Proc;
  let proxy: string;

  beforeAll(async () => {
    ({ dp, proxy, upstream } = await startDp(2));
  });

  afterAll(async () => {
    await dp?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('admits exactly the limit across both workers, then answers 429 with Retry-After', async () => {
    const { ok, refused } = await burst(proxy, 40);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(30);
    expect(JSON.parse(refused[0]!.body)).toEqual({ message: 'API rate limit exceeded' });
    expect(refused[0]!.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused[0]!.headers['x-ratelimit-remaining-day']).toBe('0');
    expect(refused[0]!.headers['ratelimit-limit']).toBe('10');
    // Each worker answers its own estimate under leases (docs/plugins-traffic.md): within 0..9.
    for (const a of ok)
      expect(Number(a.headers['x-ratelimit-remaining-day'])).toBeOneOf([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ok[0]!.headers['x-ratelimit-limit-day']).toBe('10');
    // Another identifier has its own counter.
    expect((await send(proxy, '/limited', { 'x-tenant': randomUUID() })).status).toBe(200);
  });

  it('gives a consumer of the gold group the group-scoped higher limit', async () => {
    const plain = [];
    for (let i = 0; i < 4; i += 1) plain.push((await send(proxy, '/tiers', { apikey: 'plain-key' })).status);
    expect(plain).toEqual([200, 200, 429, 429]);
    const gold = [];
    for (let i = 0; i < 7; i += 1) gold.push(await send(proxy, '/tiers', { apikey: 'gold-key' }));
    expect(gold.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(gold[0]!.headers['x-ratelimit-limit-day']).toBe('5');
  });

  it('response-ratelimiting: counts what the upstream says each answer consumed, then refuses', async () => {
    const first = await send(proxy, '/videos');
    expect(first.status).toBe(200);
    expect(first.headers['x-kong-limit']).toBeUndefined();
    expect(first.headers['x-ratelimit-limit-videos-day']).toBe('2');
    expect(first.headers['x-ratelimit-remaining-videos-day']).toBe('1');
    expect(JSON.parse(first.body).headers['x-ratelimit-remaining-videos']).toBe('2');
    // The usage is added after the answer (log phase): wait until the next request sees it.
    let second: Answer = first;
    for (let i = 0; i < 50; i += 1) {
      second = await send(proxy, '/videos');
      if (second.headers['x-ratelimit-remaining-videos-day'] !== '1') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(second.status).toBe(200);
    expect(second.headers['x-ratelimit-remaining-videos-day']).toBe('0');
    let third: Answer = second;
    for (let i = 0; i < 50; i += 1) {
      third = await send(proxy, '/videos');
      if (third.status === 429) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(third.status).toBe(429);
    expect(third.body).toBe('');
    // As Kong: the upstream answered (its headers stay), its body is dropped.
    expect(third.headers['x-served-by']).toBe('echo');
    expect(third.headers['content-length']).toBe('0');
    expect(third.headers['x-kong-limit']).toBeUndefined();
  });
});

describe('rate limiting through a data plane of one worker (local policy counted in the worker)', () => {
  let upstream: Server;
  let dp: Proc;
  let proxy: string;

  beforeAll(async () => {
    ({ dp, proxy, upstream } = await startDp(1));
  });

  afterAll(async () => {
    await dp?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('admits exactly the limit, each admitted request seeing its own count', async () => {
    const { ok, refused } = await burst(proxy, 40);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(30);
    expect(ok.map((a) => Number(a.headers['x-ratelimit-remaining-day'])).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });
});
