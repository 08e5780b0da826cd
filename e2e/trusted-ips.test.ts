/**
 * `gatehouse dp --trusted-ips`: behind a trusted proxy the client named in X-Forwarded-For is the
 * client IP that plugins (ip-restriction) and the upstream (X-Real-IP) see; X-Forwarded-For keeps
 * the whole chain; the X-Forwarded-Proto/-Host/-Port/-Path it sends are believed (an https-only
 * route is served when it says https). A bad value stops the process with a message naming the
 * setting.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runGatehouse, tempDir, type Proc, startDblessDp } from './helpers/processes.js';

describe('data plane behind a trusted proxy', () => {
  let upstream: Server;
  let dp: Proc;
  let proxy: string;

  beforeAll(async () => {
    upstream = createServer((req, res) => res.end(JSON.stringify({ headers: req.headers })));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir('trusted');
    const file = join(dir, 'kong.yaml');
    writeFileSync(
      file,
      stringify({
        _format_version: '3.0',
        services: [
          {
            name: 'echo',
            url: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`,
            routes: [
              {
                name: 'guarded',
                paths: ['/guarded'],
                plugins: [{ name: 'ip-restriction', config: { deny: ['203.0.113.0/24'] } }],
              },
              { name: 'https-only', paths: ['/secure'], protocols: ['https'] },
            ],
          },
        ],
      }),
    );
    ({ proc: dp, proxy } = await startDblessDp({
      file,
      dataDir: join(dir, 'dp'),
      workers: 1,
      args: ['--trusted-ips', '127.0.0.1,::1'],
    }));
  });

  afterAll(async () => {
    await dp?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('denies a client that the trusted proxy names in X-Forwarded-For', async () => {
    const r = await fetch(`${proxy}/guarded`, { headers: { 'x-forwarded-for': '203.0.113.7' } });
    expect(r.status).toBe(403);
  });

  it('lets another named client through and tells the upstream who it is', async () => {
    const r = await fetch(`${proxy}/guarded`, { headers: { 'x-forwarded-for': '198.51.100.4' } });
    expect(r.status).toBe(200);
    const { headers } = (await r.json()) as { headers: Record<string, string> };
    expect(headers['x-real-ip']).toBe('198.51.100.4');
    expect(headers['x-forwarded-for']).toBe('198.51.100.4, 127.0.0.1');
  });

  it('serves an https-only route over http when the trusted proxy says the client used https, and passes its X-Forwarded-* on', async () => {
    const plain = await fetch(`${proxy}/secure`);
    expect(plain.status).toBe(426);
    const r = await fetch(`${proxy}/secure`, {
      headers: {
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'api.example',
        'x-forwarded-port': '443',
        'x-forwarded-path': '/edge/secure',
      },
    });
    expect(r.status).toBe(200);
    const { headers } = (await r.json()) as { headers: Record<string, string> };
    expect(headers).toMatchObject({
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'api.example',
      'x-forwarded-port': '443',
      'x-forwarded-path': '/edge/secure',
    });
  });

  it('refuses a bad --trusted-ips value at start', async () => {
    const bad = runGatehouse('dp', ['dp', '--config', '/nonexistent.yaml', '--trusted-ips', '10.0.0.0/99']);
    expect(await bad.exited).toBe(2);
    expect(bad.output).toContain('--trusted-ips');
  });
});
