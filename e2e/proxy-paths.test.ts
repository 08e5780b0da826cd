/**
 * Issue 8 item 10: encoded traversal. A DB-less data plane process serves `/admin` (key-auth)
 * and `/public` (no auth) in front of one recording upstream that resolves paths as a lax,
 * decoding server would (`laxUpstreamResolve`: decodes three times, overlong UTF-8, `\`, `;`
 * parameters, dot segments, case-insensitive). The whole traversal corpus is sent on raw
 * sockets without a key: with `reject` (the default) and `unescape`, nothing reaches an
 * `/admin` path of the upstream; with `keep` (what Gatehouse did before) some does.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { laxUpstreamResolve, TRAVERSAL_CORPUS } from '../data-plane/src/proxy/fixtures/path-corpus.js';
import { rawGet } from './helpers/raw-http.js';
import { startDblessDp, tempDir, type Proc } from './helpers/processes.js';

interface Seen {
  url: string;
  resolved: string;
  consumer: string | undefined;
}

const MODES = ['reject', 'unescape', 'keep'] as const;
type Mode = (typeof MODES)[number];

describe('encoded traversal through a real data plane (corpus)', () => {
  let upstream: Server;
  const seen: Seen[] = [];
  const dps = new Map<Mode, { proc: Proc; port: number }>();

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      seen.push({
        url: req.url!,
        resolved: laxUpstreamResolve(req.url!),
        consumer: req.headers['x-consumer-username'] as string | undefined,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir('paths');
    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      stringify({
        _format_version: '3.0',
        services: [
          {
            name: 'recorder',
            url: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`,
            routes: [
              { name: 'admin', paths: ['/admin'], strip_path: false, plugins: [{ name: 'key-auth' }] },
              { name: 'public', paths: ['/public'], strip_path: false },
            ],
          },
        ],
        consumers: [{ username: 'ops', keyauth_credentials: [{ key: 'ops-secret-key' }] }],
      }),
    );
    await Promise.all(
      MODES.map(async (mode) => {
        const { proc, proxy } = await startDblessDp({
          file,
          dataDir: join(dir, `dp-${mode}`),
          workers: 1,
          args: mode === 'reject' ? [] : ['--path-escaped-slashes', mode],
        });
        dps.set(mode, { proc, port: Number(new URL(proxy).port) });
      }),
    );
  });

  afterAll(async () => {
    await Promise.all([...dps.values()].map((d) => d.proc.stop()));
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  async function runCorpus(mode: Mode): Promise<{ statuses: Map<number | null, number>; reached: Seen[] }> {
    const port = dps.get(mode)!.port;
    seen.length = 0;
    const statuses = new Map<number | null, number>();
    const byTarget: string[] = [];
    for (const target of TRAVERSAL_CORPUS) {
      const reply = await rawGet(port, target);
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      byTarget.push(`${reply.status} ${target}`);
    }
    const routed = seen.filter((s) => s.resolved.startsWith('/public')).length;
    const reached = seen.filter((s) => s.resolved.startsWith('/admin'));
    console.log(
      `[corpus ${mode}] ${TRAVERSAL_CORPUS.length} targets: ` +
        [...statuses].map(([s, n]) => `${n}×${s}`).join(', ') +
        `; upstream got ${seen.length} (resolving under /public: ${routed}, under /admin: ${reached.length}, elsewhere: ${seen.length - routed - reached.length})`,
    );
    return { statuses, reached };
  }

  it('reject (default): no corpus request reaches /admin without the key; the issue paths get 400', async () => {
    const port = dps.get('reject')!.port;
    const { statuses, reached } = await runCorpus('reject');
    expect(reached).toEqual([]);
    expect(statuses.has(null)).toBe(false);
    for (const s of statuses.keys()) expect(s).toBeLessThan(500);
    for (const p of [
      '/public/..%2Fadmin/x',
      '/public%2f..%2fadmin/x',
      '/public/..%5cadmin/x',
      '/public/%252e%252e/admin/x',
      '/public\\..\\admin\\x',
    ]) {
      const r = await rawGet(port, p);
      expect(r.status, p).toBe(400);
      expect(r.headers['x-gatehouse-error-code']).toBe('GH_ERR_PROXY_BAD_PATH');
    }
    // Dot segments are removed before routing: `/public/../admin/x` is `/admin/x`, key required.
    expect((await rawGet(port, '/public/%2e%2e/admin/x')).status).toBe(401);
    const withKey = await rawGet(port, '/public/%2e%2e/admin/x', ['apikey: ops-secret-key']);
    expect(withKey.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ url: '/admin/x', consumer: 'ops' });
  });

  it('unescape: escaped slashes are decoded before routing, so they meet the key check', async () => {
    const port = dps.get('unescape')!.port;
    const { statuses, reached } = await runCorpus('unescape');
    expect(reached).toEqual([]);
    expect(statuses.has(null)).toBe(false);
    for (const s of statuses.keys()) expect(s).toBeLessThan(500);
    expect((await rawGet(port, '/public/..%2Fadmin/x')).status).toBe(401);
    expect((await rawGet(port, '/public\\..\\admin\\x')).status).toBe(401);
    expect((await rawGet(port, '/public/%252e%252e/admin/x')).status).toBe(400);
  });

  it('keep (the old behaviour, a setting that weakens security): encoded traversal reaches /admin', async () => {
    const { reached } = await runCorpus('keep');
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.every((s) => s.consumer === undefined)).toBe(true);
    expect(reached.map((s) => s.url)).toContain('/public/..%2Fadmin/x');
  });
});
