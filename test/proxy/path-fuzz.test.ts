/**
 * Issue 15, fuzzer 1: the router's path normaliser on the real request path. Every generated
 * request target goes over a raw socket both to a bare node:http server (llhttp's parse: the
 * reference for what the request line says) and to a real ProxyServer in this process, whose
 * upstream echoes the path it received and whose witness plugin records the path plugins see
 * (`ctx.path`) and the route they run for. For every input:
 *
 * - llhttp refuses ⇒ the gateway answers 400 and nothing reaches the upstream; no answer is a 5xx;
 * - accepted ⇒ the path plugins authorise on = the path the router matched on (the route is the
 *   longest matching prefix of it) = the reference normalisation of llhttp's path (RFC 3986
 *   §6.2.2 percent-decoding of unreserved characters, §5.2.4 dot-segment removal, repeated
 *   slashes merged, as the gateway defines it) = the path the upstream received (strip_path
 *   applied on the strip route), and the query goes through unchanged;
 * - nothing reaches the upstream outside its route's prefix, nor inside `/admin` (a route the
 *   gateway terminates with 403), even as a lax upstream reads the forwarded path or the raw
 *   target (every escape decoded, `\` as `/`, `;` parameters dropped, dot segments removed).
 *
 * Bounded: GATEHOUSE_FUZZ_RUNS inputs per policy (default 300); CI pins the seed.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeConfig, createLogger } from '@gatehouse/shared';
import { ProxyServer } from '../../data-plane/src/proxy/proxy-server.js';
import { definePlugin } from '../../data-plane/src/plugins/api.js';
import { PluginRegistry } from '../../data-plane/src/plugins/registry.js';
import { upstreamPath } from '../../data-plane/src/router/upstream-path.js';
import type { PathEscapedSlashesAction } from '../../data-plane/src/proxy/path-policy.js';
import { plugin } from '../plugins/auth/helpers.js';
import { route, service } from './helpers.js';

const RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 300);

/** Records what the plugins of a request see, on the upstream request (URI-encoded). */
const witness = definePlugin({
  name: 'path-witness',
  version: '1.0.0',
  priority: 100_000,
  schema: { type: 'record', required: true, fields: {} },
  access(ctx) {
    ctx.setUpstreamHeader('x-witness-path', encodeURIComponent(ctx.request.path));
    ctx.setUpstreamHeader('x-witness-route', ctx.route.name ?? '');
  },
});

// ---------------------------------------------------------------------------------------------
// Reference decoders, written from RFC 3986 (not from router/normalize.ts).

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** RFC 3986 §6.2.2.1–2: unreserved characters decoded, the hex of other escapes upper-cased. */
function decodeUnreservedRef(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : m.toUpperCase();
  });
}

/** RFC 3986 §5.2.4 remove_dot_segments, the input-buffer algorithm as written there. */
function removeDotSegmentsRef(input: string): string {
  let inp = input;
  let out = '';
  while (inp.length > 0) {
    if (inp.startsWith('../')) inp = inp.slice(3);
    else if (inp.startsWith('./')) inp = inp.slice(2);
    else if (inp.startsWith('/./')) inp = inp.slice(2);
    else if (inp === '/.') inp = '/';
    else if (inp.startsWith('/../') || inp === '/..') {
      inp = '/' + inp.slice(inp === '/..' ? 3 : 4);
      out = out.slice(0, Math.max(0, out.lastIndexOf('/')));
    } else if (inp === '.' || inp === '..') inp = '';
    else {
      const next = inp.indexOf('/', 1);
      const seg = next < 0 ? inp : inp.slice(0, next);
      out += seg;
      inp = inp.slice(seg.length);
    }
  }
  return out === '' ? '/' : out;
}

/**
 * The path the gateway routes and forwards for llhttp's path, as the gateway defines it: in
 * `unescape` mode `%2F`, `%5C` and `\` are `/` first; then unreserved escapes decoded, repeated
 * slashes merged, dot segments removed.
 */
function gatewayPathRef(rawPath: string, mode: PathEscapedSlashesAction): string {
  let p = rawPath;
  if (mode === 'unescape') p = p.replace(/%2F|%5C|\\/gi, '/');
  p = decodeUnreservedRef(p);
  p = p.replace(/\/{2,}/g, '/');
  return removeDotSegmentsRef(p);
}

/**
 * The path a lax upstream serves (case kept): every escape decoded up to three times, overlong
 * UTF-8 read as ASCII, `\` as `/`, `;` parameters dropped from each segment, repeated slashes
 * merged, dot segments removed.
 */
function laxResolve(rawPath: string): string {
  let p = rawPath.split('#')[0]!;
  for (let i = 0; i < 3; i++)
    p = p.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  p = p
    .replace(/\xc0\xae|\xe0\x80\xae/g, '.')
    .replace(/\xc0\xaf|\xe0\x80\xaf|\xf0\x80\x80\xaf/g, '/')
    .replace(/\xc1\x9c/g, '/')
    .replaceAll('\\', '/');
  const out: string[] = [];
  for (const raw of p.split('/')) {
    const seg = raw.split(';')[0]!;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

// ---------------------------------------------------------------------------------------------
// Inputs.

const PIECES = [
  '/',
  '//',
  '.',
  '..',
  '%2e',
  '%2E',
  '%2e%2e',
  '.%2e',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '\\',
  '%25',
  '%252e',
  '%252f',
  '%00',
  '\x00',
  '%',
  '%zz',
  ';',
  ';x',
  '#',
  '?',
  '?a=%2F',
  '&',
  '@',
  ':',
  '%3b',
  '%3B',
  '%20',
  '%41',
  '%61',
  '%c0%af',
  '%c0%ae',
  '%e0%80%ae',
  '\xc0\xaf',
  '\xc3\xa9',
  '%C3%A9',
  '~',
  '!',
  '*',
  '+',
  ',',
  '=',
  '$',
  "'",
  '(',
  ')',
  '[',
  ']',
  '|',
  '{',
  '"',
  '<',
  '^',
  '`',
  '\t',
  'public',
  'admin',
  'adm',
  'in',
  'Admin',
  'strip',
  'base',
  'x',
];

const target = fc
  .tuple(
    fc.constantFrom('', '', '', 'http://h', 'HTTP://h:80', 'https://h'),
    fc.constantFrom('/', '/public', '/public/', '/admin', '/strip', '/strip/', '/x/'),
    fc.array(fc.constantFrom(...PIECES), { maxLength: 10 }),
  )
  .map(([abs, start, parts]) => abs + start + parts.join(''));

// ---------------------------------------------------------------------------------------------
// The two servers.

interface Answer {
  status: number;
  body: string;
}

/** Sends `GET <target> HTTP/1.1` as latin1 bytes and reads the whole answer. */
function send(port: number, requestTarget: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () =>
      socket.write(
        Buffer.from(`GET ${requestTarget} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`, 'latin1'),
      ),
    );
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => (chunks.length > 0 ? undefined : reject(e)));
    socket.on('close', () => {
      const data = Buffer.concat(chunks).toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: end < 0 ? '' : data.slice(end + 4) });
    });
  });
}

const echo = (req: IncomingMessage, res: ServerResponse) => {
  req.resume();
  const body = JSON.stringify({
    url: req.url,
    witnessPath: req.headers['x-witness-path'],
    witnessRoute: req.headers['x-witness-route'],
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

async function listen(server: http.Server | ProxyServer): Promise<number> {
  if (server instanceof ProxyServer) {
    await server.listen(0, '127.0.0.1');
    return (server.server.address() as AddressInfo).port;
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** The prefix routes, longest first (Kong's order for plain prefixes). */
const PREFIXES: [string, string][] = [
  ['/public', 'public'],
  ['/admin', 'admin'],
  ['/strip', 'strip'],
  ['/', 'root'],
];

function expectedRoute(path: string): string {
  return PREFIXES.find(([p]) => path.startsWith(p))![1];
}

const MODES: PathEscapedSlashesAction[] = ['reject', 'unescape', 'keep'];

describe('path fuzzer: llhttp → router → plugins → upstream (real ProxyServer)', () => {
  let upstream: http.Server;
  let bare: http.Server;
  let barePort: number;
  let upstreamHits = 0;
  const proxies = new Map<PathEscapedSlashesAction, { proxy: ProxyServer; port: number }>();

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      upstreamHits++;
      echo(req, res);
    });
    const upstreamPort = await listen(upstream);
    // llhttp with node's defaults, answering the path it parsed.
    bare = http.createServer((req, res) => res.end(JSON.stringify({ url: req.url })));
    barePort = await listen(bare);
    const registry = new PluginRegistry([witness]);
    await registry.loadAll();
    const config = completeConfig({
      services: [service('svc', upstreamPort), service('svc-base', upstreamPort, { path: '/base' })],
      routes: [
        route('public', 'svc', { paths: ['/public'], strip_path: false }),
        route('admin', 'svc', { paths: ['/admin'], strip_path: false }),
        route('strip', 'svc-base', { paths: ['/strip'], strip_path: true }),
        route('root', 'svc', { paths: ['/'], strip_path: false }),
      ],
      plugins: [
        plugin('path-witness', {}),
        plugin('request-termination', { status_code: 403, message: 'admin' }, { route: { id: 'admin' } }),
      ],
    });
    for (const mode of MODES) {
      const proxy = new ProxyServer({
        logger: createLogger('path-fuzz', { level: 'silent' }),
        plugins: registry,
        requestPolicy: { pathEscapedSlashes: mode },
      });
      proxy.apply(config);
      proxies.set(mode, { proxy, port: await listen(proxy) });
    }
  });
  afterAll(async () => {
    for (const { proxy } of proxies.values()) await proxy.close();
    for (const s of [upstream, bare]) {
      s?.closeAllConnections();
      await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
    }
  });

  /** Runs one target through llhttp and the gateway in `mode` and checks every invariant. */
  async function check(requestTarget: string, mode: PathEscapedSlashesAction): Promise<void> {
    const { port } = proxies.get(mode)!;
    const parsed = await send(barePort, requestTarget);
    const hitsBefore = upstreamHits;
    const gw = await send(port, requestTarget);
    const what = `${mode} ${JSON.stringify(requestTarget)} → ${gw.status} ${gw.body.slice(0, 200)}`;
    expect(gw.status, what).toBeGreaterThanOrEqual(200);
    expect(gw.status, what).toBeLessThan(500);
    if (parsed.status !== 200) {
      // llhttp refused the request line: so does the gateway, before any upstream.
      expect(gw.status, what).toBe(400);
      expect(upstreamHits, what).toBe(hitsBefore);
      return;
    }
    const forwarded = upstreamHits > hitsBefore;
    if (!forwarded) {
      expect([400, 403, 404, 405], what).toContain(gw.status);
      return;
    }
    expect(gw.status, what).toBe(200);
    const seen = JSON.parse(gw.body) as { url: string; witnessPath?: string; witnessRoute?: string };
    let llhttpUrl = (JSON.parse(parsed.body) as { url: string }).url;
    const abs = /^https?:\/\/[^/?#]*/i.exec(llhttpUrl);
    if (abs !== null) llhttpUrl = llhttpUrl.slice(abs[0].length) || '/';
    const q = llhttpUrl.indexOf('?');
    const rawPath = q < 0 ? llhttpUrl : llhttpUrl.slice(0, q);
    const rawQuery = q < 0 ? '' : llhttpUrl.slice(q);

    // Routing = authorisation = reference normalisation of llhttp's path.
    const authorized = decodeURIComponent(seen.witnessPath ?? '');
    expect(authorized, what).toBe(gatewayPathRef(rawPath, mode === 'keep' ? 'keep' : mode));
    const routeName = expectedRoute(authorized);
    expect(seen.witnessRoute, what).toBe(routeName);
    expect(routeName, what).not.toBe('admin');

    // = the forwarded path (strip_path applied on the strip route), query unchanged.
    const uq = seen.url.indexOf('?');
    const upstreamPathSeen = uq < 0 ? seen.url : seen.url.slice(0, uq);
    expect(uq < 0 ? '' : seen.url.slice(uq), what).toBe(rawQuery);
    const expectedUpstream =
      routeName === 'strip'
        ? upstreamPath({
            path: authorized,
            prefixLength: '/strip'.length,
            stripPath: true,
            pathHandling: 'v0',
            servicePath: '/base',
          })
        : authorized;
    expect(upstreamPathSeen, what).toBe(expectedUpstream);

    if (mode === 'keep') return; // keep forwards escapes as data: not a protective mode.
    // Nothing reaches the upstream outside its route's prefix, nor inside /admin, as a lax
    // upstream reads the forwarded path or the raw target.
    const lax = laxResolve(upstreamPathSeen);
    const base = routeName === 'strip' ? '/base' : routeName === 'public' ? '/public' : '/';
    expect(lax.startsWith(base), `${what}: a lax upstream serves ${lax}`).toBe(true);
    expect(lax.startsWith('/admin'), `${what}: a lax upstream serves ${lax}`).toBe(false);
    expect(
      laxResolve(rawPath).startsWith('/admin'),
      `${what}: the raw target is /admin to a lax upstream`,
    ).toBe(false);
  }

  it('the reference decoders agree with RFC 3986 §5.2.4 examples', () => {
    expect(removeDotSegmentsRef('/a/b/c/./../../g')).toBe('/a/g');
    expect(removeDotSegmentsRef('mid/content=5/../6')).toBe('mid/6');
    expect(gatewayPathRef('/a//%2e%2E/b/%7euser/%2f', 'reject')).toBe('/b/~user/%2F');
    expect(gatewayPathRef('/a%5c..%2Fb', 'unescape')).toBe('/b');
    expect(laxResolve('/public/..;x/%252e%252e/admin')).toBe('/admin');
  });

  it('known traversal shapes: refused or routed where a lax upstream serves them', async () => {
    for (const t of [
      '/admin/../public',
      '/public/../admin',
      '/public/%2e%2e/admin',
      '/public/..%2Fadmin',
      '/public/%252e%252e/admin',
      '/public\\..\\admin',
      '/public/%00/../admin',
      '/public/%c0%ae%c0%ae/admin',
      '/public/..;/admin',
      '/;x/admin',
      '/;/admin',
      '/strip..;/admin',
      '/strip.;/x',
      '/strip.%2e%3b',
      '/x/..%3B/admin',
      'http://h/public/../admin',
    ])
      for (const mode of MODES) await check(t, mode);
  });

  it(`${RUNS} generated request targets per policy: routing = authorisation = forwarded path`, async () => {
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom(...MODES), async (t, mode) => check(t, mode)),
      { numRuns: RUNS * MODES.length },
    );
  }, 120_000);
});
