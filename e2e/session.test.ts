/**
 * session + key-auth through a real CP and two real DPs (issue 17), set up as Kong's docs do:
 * key-auth with an anonymous consumer, request-termination (401) on that consumer, and the
 * session plugin on the route. The session secret is written once through the Admin API and
 * reaches both DPs in the signed snapshot, so a cookie one DP issued authenticates on the other.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  sleep,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

const SECRET = 'e2e-session-secret-shared-by-every-dp-0123456789';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

function send(
  base: string,
  path: string,
  method = 'GET',
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

const sessionCookie = (a: Answer): string => {
  const c = (a.headers['set-cookie'] ?? []).find((v) => v.startsWith('session='));
  if (c === undefined) throw new Error(`no session cookie: ${JSON.stringify(a.headers)}`);
  return c.split(';')[0]!;
};

describe('session through a real CP and two DPs', () => {
  let cp: CpHandle;
  const dps: DpHandle[] = [];
  let upstream: http.Server;

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ headers: req.headers }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cp = await startCp({ dataDir: tempDir('session-cp') });
    const ok = async (method: string, path: string, body: unknown) => {
      const r = await adminJson(cp.admin, method, path, body);
      expect(r.status, `${path} ${JSON.stringify(r.json)}`).toBe(201);
      return r.json as Record<string, unknown>;
    };
    await ok('POST', '/consumers', { username: 'alice' });
    const anon = await ok('POST', '/consumers', { username: 'anon' });
    await ok('POST', '/consumers/alice/key-auth', { key: 'alice-key' });
    await ok('POST', '/services', {
      name: 'svc',
      url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    });
    for (const [name, idling] of [
      ['app', 900],
      ['short', 1],
    ] as const) {
      await ok('POST', '/services/svc/routes', { name, paths: [`/${name}`] });
      await ok('POST', `/routes/${name}/plugins`, { name: 'key-auth', config: { anonymous: anon.id } });
      await ok('POST', `/routes/${name}/plugins`, {
        name: 'session',
        config: { secret: SECRET, cookie_secure: false, idling_timeout: idling },
      });
    }
    await ok('POST', '/consumers/anon/plugins', {
      name: 'request-termination',
      config: { status_code: 401, message: 'Unauthorized' },
    });
    for (const n of [1, 2]) {
      dps.push(
        await startDp({
          cluster: `127.0.0.1:${cp.clusterPort}`,
          publicKeys: cp.publicKeys,
          tls: cp.dpTlsArgs,
          dataDir: tempDir(`session-dp${n}`),
          workers: 1,
        }),
      );
    }
    for (const dp of dps)
      await waitUntil(
        'the session routes are served',
        async () => (await send(dp.proxy, '/short')).status === 401,
        60_000,
      );
  }, 150_000);

  afterAll(async () => {
    for (const dp of dps) await dp.proc.stop();
    await cp?.proc.stop();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  it('refuses a session plugin without a secret at write time (Kong-shaped 400)', async () => {
    const r = await adminJson(cp.admin, 'POST', '/routes/app/plugins', { name: 'session', config: {} });
    expect(r.status).toBe(400);
    expect(r.json.fields).toEqual({ config: { secret: 'required field missing' } });
  });

  it('an API key gets a cookie from DP 1; the cookie alone passes on DP 1 and DP 2 with the consumer headers', async () => {
    const [dp1, dp2] = dps as [DpHandle, DpHandle];
    expect((await send(dp1.proxy, '/app')).status).toBe(401);
    const first = await send(dp1.proxy, '/app', 'GET', { apikey: 'alice-key' });
    expect(first.status).toBe(200);
    const cookie = sessionCookie(first);
    for (const dp of [dp1, dp2]) {
      const r = await send(dp.proxy, '/app', 'GET', { cookie });
      expect(r.status).toBe(200);
      const seen = JSON.parse(r.text) as { headers: Record<string, string> };
      expect(seen.headers['x-consumer-username']).toBe('alice');
      expect(seen.headers['x-anonymous-consumer']).toBeUndefined();
    }
  });

  it('logout on DP 2 answers 200 and clears the cookie', async () => {
    const [dp1, dp2] = dps as [DpHandle, DpHandle];
    const cookie = sessionCookie(await send(dp1.proxy, '/app', 'GET', { apikey: 'alice-key' }));
    const out = await send(dp2.proxy, '/app?session_logout', 'POST', { cookie });
    expect(out.status).toBe(200);
    expect(out.headers['set-cookie']?.[0]).toMatch(/^session=; .*Max-Age=0$/);
  });

  it('a cookie past its idling timeout is ignored: 401 from request-termination on the anonymous consumer', async () => {
    const [dp1, dp2] = dps as [DpHandle, DpHandle];
    const cookie = sessionCookie(await send(dp1.proxy, '/short', 'GET', { apikey: 'alice-key' }));
    // idling_timeout is 1 s in whole seconds: expired once 2 s have passed since it was issued.
    await sleep(2_500);
    const r = await send(dp2.proxy, '/short', 'GET', { cookie });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.text)).toEqual({ message: 'Unauthorized' });
  });
});
