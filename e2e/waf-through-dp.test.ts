/**
 * The waf plugin through a real data plane process (`gatehouse dp --config`, DB-less, 2
 * workers): an attack on the block route gets 403 and never reaches the upstream, benign
 * requests pass, the detect route proxies the attack, and the decisions are counted on the
 * status port's /metrics.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startDblessDp, startUpstream, tempDir, waitUntil, type Proc } from './helpers/processes.js';

describe('waf through a real data plane process', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let hits = 0;
  let dp: Proc;
  let proxy: string;
  let status: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    upstream.server.prependListener('request', () => hits++);
    const dir = tempDir('waf');
    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      stringify({
        _format_version: '3.0',
        services: [
          {
            name: 'echo',
            url: upstream.url,
            routes: [
              { name: 'block', paths: ['/block'], plugins: [{ name: 'waf' }] },
              { name: 'detect', paths: ['/detect'], plugins: [{ name: 'waf', config: { mode: 'detect' } }] },
            ],
          },
        ],
      }),
    );
    ({ proc: dp, proxy, status } = await startDblessDp({ file, dataDir: join(dir, 'dp'), workers: 2 }));
  });

  afterAll(async () => {
    await dp?.stop();
    await upstream?.close();
  });

  const get = (path: string, init: RequestInit = {}) =>
    fetch(`${proxy}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
  const attack = `?id=${encodeURIComponent("1' OR '1'='1' --")}`;

  it('answers 403 "Forbidden" to an attack on the block route without calling the upstream', async () => {
    const before = hits;
    const r = await get(`/block${attack}`);
    expect(r.status).toBe(403);
    expect(await r.json()).toEqual({ message: 'Forbidden' });
    expect(r.headers.get('x-gatehouse-error-code')).toBe('GH_ERR_PLUGIN_WAF_BLOCKED');
    const xss = await get('/block/comments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: '<svg onload=alert(1)>' }),
    });
    expect(xss.status).toBe(403);
    await xss.arrayBuffer();
    expect(hits).toBe(before);
  });

  it('proxies benign requests on the block route', async () => {
    const r = await get(
      `/block/users?name=${encodeURIComponent("O'Brien")}&q=${encodeURIComponent('Tom & Jerry')}`,
    );
    expect(r.status).toBe(200);
    await r.arrayBuffer();
    const post = await get('/block/comments', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: "Great product; I'd buy it again :)", email: 'ob@example.com' }),
    });
    expect(post.status).toBe(200);
    await post.arrayBuffer();
  });

  it('proxies the attack on the detect route and counts blocked and detected decisions in /metrics', async () => {
    const r = await get(`/detect${attack}`);
    expect(r.status).toBe(200);
    await r.arrayBuffer();
    await waitUntil('waf counters on /metrics', async () => {
      const text = await (await fetch(`${status}/metrics`)).text();
      return (
        /gatehouse_plugin_outcomes_total\{plugin="waf",outcome="blocked"\} [2-9]/.test(text) &&
        /gatehouse_plugin_outcomes_total\{plugin="waf",outcome="detected"\} 1/.test(text)
      );
    });
  });
});
