/**
 * proxy-cache through a real in-process proxy in front of a real upstream that counts what it
 * receives. The store's clock is the test's (no wall-clock assertions): ages and TTLs move only
 * when a test moves it.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  completeConfig,
  createLogger,
  ROUTE_DEFAULTS,
  SERVICE_DEFAULTS,
  type Plugin,
} from '@gatehouse/shared';
import { loadPluginRegistry } from '../registry.js';
import { ProxyServer } from '../../proxy/proxy-server.js';
import { applyPurge, configureProxyCacheStore, type CacheStore } from './store.js';

interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Held until the promise resolves. */
  hold?: Promise<void>;
}

let clock = 1_000_000;
let store: CacheStore;
const hits = new Map<string, number>();
const replies = new Map<string, Reply>();
let upstream: http.Server;
let proxy: ProxyServer;
let base: string;

function seen(path: string): number {
  return hits.get(path) ?? 0;
}

const PLUGIN_ID = '6f3a0b4e-0000-4000-8000-000000000001';

function pluginRow(config: Record<string, unknown>, extra: Partial<Plugin> = {}): Plugin {
  return {
    id: PLUGIN_ID,
    name: 'proxy-cache',
    instance_name: null,
    config: { strategy: 'memory', ...config },
    protocols: ['http', 'https'],
    enabled: true,
    service: null,
    route: null,
    consumer: null,
    consumer_group: null,
    tags: null,
    created_at: 0,
    updated_at: 0,
    ...extra,
  };
}

/** Serves `config` as the proxy-cache of every route (and key-auth on /auth), on a fresh store. */
function serve(config: Record<string, unknown>, maxBytes = 1024 * 1024): void {
  store = configureProxyCacheStore({ maxBytes, now: () => clock });
  const port = (upstream.address() as AddressInfo).port;
  const route = (id: string, path: string) => ({
    ...ROUTE_DEFAULTS,
    id,
    name: id,
    paths: [path],
    strip_path: false,
    service: { id: 's' },
    created_at: 0,
    updated_at: 0,
  });
  proxy.apply(
    completeConfig({
      services: [
        { ...SERVICE_DEFAULTS, id: 's', name: 's', host: '127.0.0.1', port, created_at: 0, updated_at: 0 },
      ],
      routes: [route('r-open', '/'), route('r-auth', '/auth')],
      consumers: [
        { id: 'c1', username: 'ann', custom_id: null, tags: null, created_at: 0, updated_at: 0 },
        { id: 'c2', username: 'bob', custom_id: null, tags: null, created_at: 0, updated_at: 0 },
      ],
      keyauth_credentials: [
        { id: 'k1', consumer: { id: 'c1' }, key: 'ann-key', ttl: null, tags: null, created_at: 0 },
        { id: 'k2', consumer: { id: 'c2' }, key: 'bob-key', ttl: null, tags: null, created_at: 0 },
      ],
      plugins: [
        pluginRow(config),
        { ...pluginRow({}), id: 'ka', name: 'key-auth', config: {}, route: { id: 'r-auth' } },
      ],
    }),
  );
}

async function get(
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{
  status: number;
  cache: string | null;
  key: string | null;
  age: string | null;
  body: string;
  headers: Headers;
}> {
  const r = await fetch(`${base}${path}`, { method, headers });
  const body = await r.text();
  return {
    status: r.status,
    cache: r.headers.get('x-cache-status'),
    key: r.headers.get('x-cache-key'),
    age: r.headers.get('age'),
    body,
    headers: r.headers,
  };
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const path = req.url!;
    const n = (hits.get(path) ?? 0) + 1;
    hits.set(path, n);
    const reply = replies.get(path.split('?')[0]!) ?? {};
    const send = () => {
      res.writeHead(reply.status ?? 200, {
        'content-type': 'application/json',
        ...reply.headers,
      });
      res.end(reply.body ?? JSON.stringify({ n, path }));
    };
    if (reply.hold) void reply.hold.then(send);
    else send();
  });
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const registry = await loadPluginRegistry();
  proxy = new ProxyServer({
    logger: createLogger('proxy-cache-test', { level: 'silent' }),
    plugins: registry,
  });
  await proxy.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await proxy.close();
  upstream.closeAllConnections();
  upstream.close();
});

beforeEach(() => {
  hits.clear();
  replies.clear();
});

describe('proxy-cache: miss, hit, refresh, bypass', () => {
  it('answers the second GET from the cache: Miss then Hit with the same key and body, upstream called once', async () => {
    serve({});
    const first = await get('/a');
    expect(first).toMatchObject({ status: 200, cache: 'Miss' });
    expect(first.key).toMatch(/^[0-9a-f]{64}$/);
    expect(first.age).toBeNull();
    clock += 7_000;
    const second = await get('/a');
    expect(second).toMatchObject({ status: 200, cache: 'Hit', key: first.key, age: '7', body: first.body });
    expect(second.headers.get('content-type')).toBe('application/json');
    expect(seen('/a')).toBe(1);
  });

  it('caches HEAD apart from GET (the method is part of the key)', async () => {
    serve({});
    const head = await get('/h', {}, 'HEAD');
    const g = await get('/h');
    expect(head.cache).toBe('Miss');
    expect(g.cache).toBe('Miss');
    expect(head.key).not.toBe(g.key);
    expect((await get('/h', {}, 'HEAD')).cache).toBe('Hit');
  });

  it('refreshes an entry older than cache_ttl that storage_ttl still keeps', async () => {
    serve({ cache_ttl: 10, storage_ttl: 100 });
    await get('/r');
    clock += 11_000;
    expect((await get('/r')).cache).toBe('Refresh');
    expect((await get('/r')).cache).toBe('Hit');
    expect(seen('/r')).toBe(2);
  });

  it('drops an entry once its storage TTL (cache_ttl by default) is over: a Miss again', async () => {
    serve({ cache_ttl: 5 });
    await get('/t');
    clock += 4_000;
    expect((await get('/t')).cache).toBe('Hit');
    clock += 2_000;
    expect((await get('/t')).cache).toBe('Miss');
  });

  it('bypasses a method that is not listed', async () => {
    serve({});
    const r = await get('/p', {}, 'POST');
    expect(r.cache).toBe('Bypass');
    expect(r.key).toBeNull();
    expect((await get('/p', {}, 'POST')).cache).toBe('Bypass');
    expect(seen('/p')).toBe(2);
  });

  it('bypasses (and does not store) a response whose status or Content-Type is not listed', async () => {
    serve({});
    replies.set('/html', { headers: { 'content-type': 'text/html' } });
    replies.set('/500', { status: 500 });
    replies.set('/params', { headers: { 'content-type': 'application/json; charset=utf-8' } });
    for (const path of ['/html', '/500', '/params']) {
      expect((await get(path)).cache).toBe('Bypass');
      expect((await get(path)).cache).toBe('Bypass');
      expect(seen(path)).toBe(2);
    }
  });

  it('matches content types exactly, parameters included, and a wildcard type', async () => {
    serve({ content_type: ['application/json; charset=utf-8', 'text/*'] });
    replies.set('/u', { headers: { 'content-type': 'Application/JSON;charset=utf-8' } });
    replies.set('/x', { headers: { 'content-type': 'text/html' } });
    replies.set('/j', {});
    await get('/u');
    await get('/x');
    await get('/j');
    expect((await get('/u')).cache).toBe('Hit');
    expect((await get('/x')).cache).toBe('Hit');
    expect((await get('/j')).cache).toBe('Bypass');
  });

  it('caches 404 (listed by default) and replays its status', async () => {
    serve({});
    replies.set('/missing', { status: 404 });
    await get('/missing');
    expect(await get('/missing')).toMatchObject({ status: 404, cache: 'Hit' });
  });

  it('hides the diagnostic headers response_headers turns off, unless Kong-Debug is sent', async () => {
    serve({ response_headers: { age: false, 'X-Cache-Status': false, 'X-Cache-Key': false } });
    const miss = await get('/quiet');
    expect([miss.cache, miss.key]).toEqual([null, null]);
    const hit = await get('/quiet');
    expect([hit.cache, hit.key, hit.age]).toEqual([null, null, null]);
    expect(seen('/quiet')).toBe(1);
    const dbg = await get('/quiet', { 'Kong-Debug': '1' });
    expect(dbg.cache).toBe('Hit');
    expect(dbg.age).toBe('0');
  });

  it('does not replay hop-by-hop headers or upstream ratelimit-remaining', async () => {
    serve({});
    replies.set('/hop', { headers: { 'X-RateLimit-Remaining-Minute': '3', 'X-Kept': 'yes' } });
    await get('/hop');
    const hit = await get('/hop');
    expect(hit.cache).toBe('Hit');
    expect(hit.headers.get('x-kept')).toBe('yes');
    expect(hit.headers.get('x-ratelimit-remaining-minute')).toBeNull();
  });
});

/** GET through the proxy, answering the raw header lines (name as sent, in order). */
async function rawGet(path: string): Promise<[string, string][]> {
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get(`${base}${path}`, resolve).on('error', reject),
  );
  res.resume();
  await once(res, 'end');
  const pairs: [string, string][] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
  return pairs;
}

describe('proxy-cache: what a hit replays', () => {
  it("replays repeated upstream headers in order, and the cache's own headers once each", async () => {
    serve({});
    // The upstream sends Set-Cookie twice and X-Multi in two spellings.
    replies.set('/multi', { headers: { 'X-Multi': 'one' } });
    const upstreamSend = upstream.listeners('request')[0] as http.RequestListener;
    upstream.removeAllListeners('request');
    upstream.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (req.url !== '/multi') return upstreamSend(req, res);
      hits.set('/multi', seen('/multi') + 1);
      res.writeHead(
        200,
        [
          ['Content-Type', 'application/json'],
          ['Set-Cookie', 'a=1'],
          ['x-multi', 'one'],
          ['Set-Cookie', 'b=2'],
          ['X-MULTI', 'two'],
        ].flat(),
      );
      res.end('{"m":1}');
    });
    try {
      const miss = await rawGet('/multi');
      const hit = await rawGet('/multi');
      expect(seen('/multi')).toBe(1);
      const named = (pairs: [string, string][], name: string) =>
        pairs.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
      for (const pairs of [miss, hit]) {
        expect(named(pairs, 'set-cookie')).toEqual(['a=1', 'b=2']);
        expect(named(pairs, 'x-multi')).toEqual(['one', 'two']);
        expect(named(pairs, 'x-cache-key')).toHaveLength(1);
      }
      expect(named(hit, 'x-cache-status')).toEqual(['Hit']);
      expect(named(hit, 'x-cache-key')).toEqual(named(miss, 'x-cache-key'));
      expect(named(hit, 'age')).toEqual(['0']);
    } finally {
      upstream.removeAllListeners('request');
      upstream.on('request', upstreamSend);
    }
  });
});

describe('proxy-cache: the key', () => {
  it('takes every query argument, in any order, unless vary_query_params narrows it', async () => {
    serve({});
    const a = await get('/q?a=1&b=2');
    const b = await get('/q?b=2&a=1');
    expect(b).toMatchObject({ cache: 'Hit', key: a.key });
    expect((await get('/q?a=1&b=3')).cache).toBe('Miss');

    serve({ vary_query_params: ['a'] });
    const c = await get('/v?a=1&b=2');
    expect(await get('/v?a=1&b=9')).toMatchObject({ cache: 'Hit', key: c.key });
    expect((await get('/v?a=2&b=2')).cache).toBe('Miss');
  });

  it('takes only the vary_headers, case-insensitively', async () => {
    serve({ vary_headers: ['X-Lang'] });
    const en = await get('/vh', { 'x-lang': 'en' });
    expect((await get('/vh', { 'X-LANG': 'en', 'X-Other': '1' })).key).toBe(en.key);
    expect((await get('/vh', { 'x-lang': 'fr' })).cache).toBe('Miss');
    expect((await get('/vh')).cache).toBe('Miss');
    expect(seen('/vh')).toBe(3);
  });

  it('ignores the case of the path with ignore_uri_case', async () => {
    serve({ ignore_uri_case: true });
    const a = await get('/Case');
    expect((await get('/cASE')).key).toBe(a.key);
    serve({});
    const b = await get('/Case');
    expect((await get('/case')).key).not.toBe(b.key);
  });

  it("keys an authenticated request by its consumer: one consumer never gets another one's entry", async () => {
    serve({});
    const ann = await get('/auth/me', { apikey: 'ann-key' });
    const bob = await get('/auth/me', { apikey: 'bob-key' });
    expect([ann.cache, bob.cache]).toEqual(['Miss', 'Miss']);
    expect(ann.key).not.toBe(bob.key);
    expect((await get('/auth/me', { apikey: 'ann-key' })).cache).toBe('Hit');
    expect(seen('/auth/me')).toBe(2);
  });
});

describe('proxy-cache: cache_control (Kong spec 02-access)', () => {
  it('caches for the response max-age and not past it', async () => {
    serve({ cache_control: true });
    replies.set('/ma', { headers: { 'cache-control': 'public, max-age=5' } });
    await get('/ma');
    clock += 4_000;
    expect((await get('/ma')).cache).toBe('Hit');
    clock += 2_000;
    expect((await get('/ma')).cache).toBe('Miss');
  });

  it('prefers s-maxage over max-age', async () => {
    serve({ cache_control: true });
    replies.set('/s', { headers: { 'cache-control': 'max-age=1, s-maxage=10' } });
    await get('/s');
    clock += 5_000;
    expect((await get('/s')).cache).toBe('Hit');
  });

  it('takes the lifetime from Expires when no max-age says it', async () => {
    serve({ cache_control: true });
    replies.set('/exp', { headers: { expires: new Date(clock + 60_000).toUTCString() } });
    await get('/exp');
    expect((await get('/exp')).cache).toBe('Hit');
  });

  it('does not cache a response stating no lifetime, or private, no-store, no-cache, max-age=0', async () => {
    serve({ cache_control: true });
    const cases: Record<string, string | undefined> = {
      '/none': undefined,
      '/private': 'private, max-age=60',
      '/nostore': 'no-store, max-age=60',
      '/nocache': 'no-cache, max-age=60',
      '/zero': 'max-age=0',
    };
    for (const [path, cc] of Object.entries(cases)) {
      replies.set(path, { headers: cc === undefined ? {} : { 'cache-control': cc } });
      expect((await get(path)).cache, path).toBe('Bypass');
      expect((await get(path)).cache, path).toBe('Bypass');
    }
  });

  it('bypasses a request with no-store, no-cache or Authorization', async () => {
    serve({ cache_control: true });
    replies.set('/rq', { headers: { 'cache-control': 'max-age=60' } });
    await get('/rq');
    expect((await get('/rq', { 'cache-control': 'no-cache' })).cache).toBe('Bypass');
    expect((await get('/rq', { 'Cache-Control': 'no-store' })).cache).toBe('Bypass');
    expect((await get('/rq', { authorization: 'Bearer x' })).cache).toBe('Bypass');
    expect((await get('/rq')).cache).toBe('Hit');
  });

  it("refreshes when the entry is older than the client's max-age, or fresh for less than min-fresh", async () => {
    serve({ cache_control: true });
    replies.set('/cl', { headers: { 'cache-control': 'max-age=60' } });
    await get('/cl');
    clock += 10_000;
    expect((await get('/cl', { 'cache-control': 'max-age=20' })).cache).toBe('Hit');
    expect((await get('/cl', { 'cache-control': 'max-age=5' })).cache).toBe('Refresh');
    clock += 10_000;
    expect((await get('/cl', { 'cache-control': 'min-fresh=30' })).cache).toBe('Hit');
    expect((await get('/cl', { 'cache-control': 'min-fresh=55' })).cache).toBe('Refresh');
  });

  it('answers 504 to only-if-cached when nothing is stored', async () => {
    serve({ cache_control: true });
    expect((await get('/oic', { 'cache-control': 'only-if-cached' })).status).toBe(504);
    expect(seen('/oic')).toBe(0);
  });

  it('ignores Cache-Control when cache_control is off', async () => {
    serve({});
    replies.set('/off', { headers: { 'cache-control': 'private, no-store' } });
    await get('/off');
    expect((await get('/off', { 'cache-control': 'no-cache' })).cache).toBe('Hit');
  });
});

describe('proxy-cache: the memory store', () => {
  it('evicts the least recently used entries once the byte bound is reached', async () => {
    serve({}, 8 * 1024);
    const big = 'x'.repeat(2000);
    for (const p of ['/e1', '/e2', '/e3']) replies.set(p, { body: big });
    replies.set('/e4', { body: big });
    await get('/e1');
    await get('/e2');
    await get('/e3');
    expect((await get('/e1')).cache).toBe('Hit'); // e1 is now the most recently used
    await get('/e4'); // needs room: e2, the least recently used, goes
    expect(store.bytes).toBeLessThanOrEqual(8 * 1024);
    expect((await get('/e1')).cache).toBe('Hit');
    expect((await get('/e2')).cache).toBe('Miss');
  });

  it('does not buffer a response larger than the whole store (Content-Length), and bypasses it', async () => {
    serve({}, 4 * 1024);
    replies.set('/huge', { body: 'y'.repeat(10_000), headers: { 'content-length': '10000' } });
    const r = await get('/huge');
    expect(r.cache).toBe('Bypass');
    expect(r.body.length).toBe(10_000);
    expect((await get('/huge')).cache).toBe('Bypass');
  });

  it('serves a chunked response too large to store whole, and does not store it', async () => {
    serve({}, 4 * 1024);
    replies.set('/chunked', { body: 'z'.repeat(10_000) });
    const r = await get('/chunked');
    expect(r).toMatchObject({ status: 200, cache: 'Miss' });
    expect(r.body.length).toBe(10_000);
    expect((await get('/chunked')).cache).toBe('Miss');
    expect(store.size).toBe(0);
  });

  it('purges one key, the keys of one plugin, or everything', async () => {
    serve({});
    const a = await get('/pa');
    await get('/pb');
    expect(applyPurge({ pluginId: 'another-plugin', key: a.key })).toBe(0);
    expect(applyPurge({ pluginId: PLUGIN_ID, key: a.key })).toBe(1);
    expect((await get('/pa')).cache).toBe('Miss');
    expect((await get('/pb')).cache).toBe('Hit');
    expect(applyPurge({ pluginId: 'another-plugin', key: null })).toBe(0);
    expect(applyPurge({ pluginId: null, key: null })).toBe(2);
    expect((await get('/pb')).cache).toBe('Miss');
  });
});

describe('proxy-cache: request coalescing', () => {
  async function untilSeen(path: string, n: number): Promise<void> {
    while (seen(path) < n) await new Promise((r) => setTimeout(r, 5));
  }

  it('sends 50 concurrent misses of one key upstream once and answers all of them', async () => {
    serve({});
    let release!: () => void;
    replies.set('/slow', { hold: new Promise<void>((r) => (release = r)) });
    const all = Array.from({ length: 50 }, () => get('/slow'));
    await untilSeen('/slow', 1);
    // Let the other 49 reach the proxy while the first is held upstream.
    await new Promise((r) => setTimeout(r, 300));
    release();
    const results = await Promise.all(all);
    expect(seen('/slow')).toBe(1);
    expect(new Set(results.map((r) => r.body)).size).toBe(1);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(results.filter((r) => r.cache === 'Miss')).toHaveLength(1);
    expect(results.filter((r) => r.cache === 'Hit')).toHaveLength(49);
  });

  it('sends each waiting miss upstream itself when the first response is not cacheable', async () => {
    serve({});
    let release!: () => void;
    replies.set('/nc', {
      hold: new Promise<void>((r) => (release = r)),
      headers: { 'content-type': 'text/html' },
    });
    const all = Array.from({ length: 10 }, () => get('/nc'));
    await untilSeen('/nc', 1);
    await new Promise((r) => setTimeout(r, 200));
    release();
    const results = await Promise.all(all);
    expect(seen('/nc')).toBe(10);
    expect(results.every((r) => r.status === 200 && r.cache === 'Bypass')).toBe(true);
  });

  it('releases the waiting misses when the first one fails upstream', async () => {
    serve({});
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    replies.set('/fail', { hold: held, status: 503 });
    const all = Array.from({ length: 5 }, () => get('/fail'));
    await untilSeen('/fail', 1);
    await new Promise((r) => setTimeout(r, 200));
    release();
    const results = await Promise.all(all);
    expect(results.every((r) => r.status === 503)).toBe(true);
    expect(seen('/fail')).toBe(5);
  });
});

describe('proxy-cache: hostile requests', () => {
  it('answers any path, query and vary header with the upstream or the cache, never a 500', async () => {
    serve({ vary_headers: ['X-V', '__proto__'], vary_query_params: ['a', '__proto__', 'constructor'] });
    const safe = fc.stringMatching(/^[\x21-\x7e]{0,20}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', '__proto__', 'constructor', '%zz', '', '+'), safe), {
          maxLength: 5,
        }),
        fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).filter((s) => !/[\r\n\0]/.test(s)),
        async (args, header) => {
          const query = args.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
          const r = await get(`/fz?${query}`, { 'X-V': header.trim() });
          expect([200, 400]).toContain(r.status);
        },
      ),
      { numRuns: 60 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
