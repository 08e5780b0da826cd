/**
 * rate-limiting with `policy: redis` through two real data plane processes (DB-less) sharing a
 * redis-server of our own: the two DPs admit exactly the limit together; with Redis stopped,
 * `fault_tolerant: true` passes requests (no rate-limit headers) and `false` answers 500, as Kong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { freePort, startDblessDp, tempDir, waitUntil, type Proc } from './helpers/processes.js';
import { portAnswers } from '../test/helpers/ports.js';

const LIMIT = 7;

function declarativeFile(upstream: string, redisPort: number): string {
  const redis = { host: '127.0.0.1', port: redisPort, timeout: 2000 };
  const limited = (name: string, faultTolerant: boolean) => ({
    name,
    paths: [`/${name}`],
    plugins: [
      {
        name: 'rate-limiting',
        config: {
          day: LIMIT,
          limit_by: 'header',
          header_name: 'x-tenant',
          policy: 'redis',
          redis,
          fault_tolerant: faultTolerant,
        },
      },
    ],
  });
  return stringify({
    _format_version: '3.0',
    services: [
      { name: 'echo', url: upstream, routes: [limited('tolerant', true), limited('strict', false)] },
    ],
  });
}

function send(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { agent: false, headers, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('rate-limiting policy redis through two DPs', () => {
  let upstream: Server;
  let redis: ChildProcess | null = null;
  const dps: { proc: Proc; proxy: string; status: string }[] = [];

  beforeAll(async () => {
    upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const redisPort = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitUntil('redis-server answers', () => portAnswers(redisPort));
    const dir = tempDir('rl-redis');
    const file = join(dir, 'kong.yml');
    writeFileSync(
      file,
      declarativeFile(`http://127.0.0.1:${(upstream.address() as { port: number }).port}`, redisPort),
    );
    for (let i = 0; i < 2; i++) {
      dps.push(await startDblessDp({ file, dataDir: tempDir(`rl-redis-dp${i}`), workers: 2 }));
    }
  });

  afterAll(async () => {
    await Promise.all(dps.map((dp) => dp.proc.stop()));
    redis?.kill('SIGKILL');
    await new Promise((r) => upstream.close(r));
  });

  it('two DPs (two workers each) admit exactly the limit together', async () => {
    const tenant = randomUUID();
    let admitted = 0;
    for (let i = 0; i < 3 * LIMIT; i++) {
      const res = await send(dps[i % 2]!.proxy, '/strict', { 'x-tenant': tenant });
      if (res.status === 500) console.log(dps[i % 2]!.proc.output.slice(-3000));
      expect([200, 429]).toContain(res.status);
      if (res.status === 200) admitted++;
    }
    expect(admitted).toBe(LIMIT);
  });

  it('Redis stopped: fault_tolerant true passes without rate-limit headers, false answers 500', async () => {
    redis?.kill('SIGKILL');
    redis = null;
    const tenant = randomUUID();
    for (const dp of dps) {
      await waitUntil(
        'tolerant route passes',
        async () => (await send(dp.proxy, '/tolerant', { 'x-tenant': tenant })).status === 200,
      );
      const tolerant = await send(dp.proxy, '/tolerant', { 'x-tenant': tenant });
      expect(tolerant.status).toBe(200);
      expect(tolerant.headers['ratelimit-limit']).toBeUndefined();
      expect((await send(dp.proxy, '/strict', { 'x-tenant': tenant })).status).toBe(500);
    }
  });
});
