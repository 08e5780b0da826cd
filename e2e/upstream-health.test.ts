/**
 * Target health across the fleet: a real control plane and two real data planes (two workers
 * each). `PUT /upstreams/{u}/targets/{t}/unhealthy` (Kong's endpoint, which Kong refuses in
 * hybrid mode) reaches both DPs and every worker: the target gets no traffic anywhere; `healthy`
 * brings it back. Real failures eject a target on one DP only: `GET /upstreams/{u}/health` shows
 * it per DP; once the target works again, the half-open trial brings it back. Hostile ids and
 * bodies on the new endpoints never get a 500.
 */
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

/** One request on a new connection (so node's cluster spreads them over the workers). */
function fresh(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function named(name: string, failing: () => boolean): Promise<{ server: Server; target: string }> {
  const server = createServer((_req, res) => {
    const status = failing() ? 500 : 200;
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(name);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, target: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The bodies of `n` requests to `dp`. */
async function bodies(dp: DpHandle, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await fresh(`${dp.proxy}/pool`)).body);
  return out;
}

interface HealthEntry {
  target: string;
  health: string;
  weight: number;
  data: { addresses: { ip: string; port: number; health: string; weight: number }[] };
  fleet: { healthy: number; unhealthy: number };
  data_planes: { id: string; health: string; cause: string | null }[];
}

describe('target health across a control plane and two data planes', () => {
  let cp: CpHandle;
  let dps: DpHandle[];
  let a: { server: Server; target: string };
  let b: { server: Server; target: string };
  let bFails = false;

  beforeAll(async () => {
    a = await named('a', () => false);
    b = await named('b', () => bFails);
    cp = await startCp({ dataDir: tempDir('cp-health') });
    const cluster = `127.0.0.1:${cp.clusterPort}`;
    dps = await Promise.all(
      ['dp-health-1', 'dp-health-2'].map((nodeId) =>
        startDp({
          cluster,
          publicKeys: cp.publicKeys,
          tls: cp.dpTlsArgs,
          dataDir: tempDir(nodeId),
          workers: 2,
          nodeId,
        }),
      ),
    );
    const up = await adminJson(cp.admin, 'POST', '/upstreams', {
      name: 'pool',
      // Passive checks only: one 500 ejects a target; a half-open trial after 2 s.
      tags: ['gatehouse:half-open=2'],
      healthchecks: {
        passive: { unhealthy: { http_failures: 1, http_statuses: [500] } },
      },
    });
    expect(up.status).toBe(201);
    for (const t of [a, b])
      expect(
        (await adminJson(cp.admin, 'POST', '/upstreams/pool/targets', { target: t.target })).status,
      ).toBe(201);
    expect((await adminJson(cp.admin, 'POST', '/upstreams', { name: 'unchecked' })).status).toBe(201);
    expect(
      (await adminJson(cp.admin, 'POST', '/upstreams/unchecked/targets', { target: '127.0.0.1:9' })).status,
    ).toBe(201);
    expect((await adminJson(cp.admin, 'POST', '/services', { name: 'pooled', host: 'pool' })).status).toBe(
      201,
    );
    expect(
      (await adminJson(cp.admin, 'POST', '/services/pooled/routes', { name: 'pool', paths: ['/pool'] }))
        .status,
    ).toBe(201);
    for (const dp of dps)
      await waitUntil(`both targets serve on ${dp.proxy}`, async () => {
        const seen = new Set(await bodies(dp, 6));
        return seen.has('a') && seen.has('b');
      });
    // Both DPs report target health (their heartbeat).
    await waitUntil('both DPs report target health', async () => {
      const h = await adminJson(cp.admin, 'GET', '/upstreams/pool/health');
      return h.status === 200 && (h.json.data as HealthEntry[]).every((e) => e.data_planes.length === 2);
    });
  }, 180_000);

  afterAll(async () => {
    await Promise.all([cp?.proc.stop(), ...(dps ?? []).map((d) => d.proc.stop())]);
    for (const s of [a?.server, b?.server]) {
      s?.closeAllConnections();
      await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
    }
  });

  const health = async (): Promise<Map<string, HealthEntry>> => {
    const r = await adminJson(cp.admin, 'GET', '/upstreams/pool/health');
    expect(r.status).toBe(200);
    return new Map((r.json.data as HealthEntry[]).map((e) => [e.target, e]));
  };

  it('unhealthy through the Admin API stops traffic to the target on both DPs; healthy brings it back', async () => {
    const off = await fetch(`${cp.admin}/upstreams/pool/targets/${b.target}/unhealthy`, { method: 'PUT' });
    expect(off.status).toBe(204);
    for (const dp of dps)
      await waitUntil(`b out on ${dp.proxy}`, async () => (await bodies(dp, 8)).every((x) => x === 'a'));
    // Every worker of both DPs: 20 more requests each, none to b.
    for (const dp of dps) expect(new Set(await bodies(dp, 20))).toEqual(new Set(['a']));
    await waitUntil('the CP shows b unhealthy on both DPs', async () => {
      const e = (await health()).get(b.target)!;
      return e.health === 'UNHEALTHY' && e.fleet.unhealthy === 2;
    });
    const e = (await health()).get(b.target)!;
    expect(e.data_planes.map((d) => [d.id, d.health, d.cause]).sort()).toEqual([
      ['dp-health-1', 'UNHEALTHY', 'manual'],
      ['dp-health-2', 'UNHEALTHY', 'manual'],
    ]);
    expect(e.data.addresses).toEqual([
      { ip: '127.0.0.1', port: Number(b.target.split(':')[1]), health: 'UNHEALTHY', weight: 100 },
    ]);
    expect((await health()).get(a.target)!.health).toBe('HEALTHY');

    // Kong's older POST form, and the target by id.
    const targetId = (await adminJson(cp.admin, 'GET', `/upstreams/pool/targets/${b.target}`)).json
      .id as string;
    const on = await fetch(`${cp.admin}/upstreams/pool/targets/${targetId}/healthy`, { method: 'POST' });
    expect(on.status).toBe(204);
    for (const dp of dps)
      await waitUntil(`b back on ${dp.proxy}`, async () => (await bodies(dp, 8)).includes('b'));
    await waitUntil(
      'the CP shows b healthy again',
      async () => (await health()).get(b.target)!.fleet.healthy === 2,
    );
  });

  it('real failures on one DP show per DP in /health; the half-open trial brings the target back', async () => {
    bFails = true;
    const [dp1, dp2] = dps as [DpHandle, DpHandle];
    // Traffic through DP 1 only: b answers 500, its passive check ejects b on that node.
    await waitUntil('b ejected on DP 1', async () => (await bodies(dp1, 8)).every((x) => x === 'a'), 30_000);
    await waitUntil('the CP shows b unhealthy on DP 1 only', async () => {
      const e = (await health()).get(b.target)!;
      return e.fleet.unhealthy === 1 && e.fleet.healthy === 1;
    });
    const e = (await health()).get(b.target)!;
    expect(Object.fromEntries(e.data_planes.map((d) => [d.id, [d.health, d.cause]]))).toEqual({
      'dp-health-1': ['UNHEALTHY', 'passive'],
      'dp-health-2': ['HEALTHY', null],
    });
    // The fleet still balances to b (DP 2 does): HEALTHY, with the counts saying who does not.
    expect(e.health).toBe('HEALTHY');
    // One DP's view: ?data_plane=<id>.
    const one = await adminJson(cp.admin, 'GET', '/upstreams/pool/health?data_plane=dp-health-1');
    const oneB = (one.json.data as HealthEntry[]).find((x) => x.target === b.target)!;
    expect(oneB.health).toBe('UNHEALTHY');
    expect(oneB.fleet).toEqual({ healthy: 0, unhealthy: 1 });
    expect(oneB.data_planes.map((d) => d.id)).toEqual(['dp-health-1']);
    for (const bad of ['', 'a&data_plane=b', 'x'.repeat(257)])
      expect((await adminJson(cp.admin, 'GET', `/upstreams/pool/health?data_plane=${bad}`)).status).toBe(400);
    const balancer = await adminJson(cp.admin, 'GET', '/upstreams/pool/health?balancer_health=1');
    expect(balancer.status).toBe(200);
    expect(balancer.json.data.health).toBe('HEALTHY');

    // b works again: after the cool-down one trial request per worker goes to b and brings it back.
    bFails = false;
    await waitUntil('b back on DP 1 (half-open)', async () => (await bodies(dp1, 6)).includes('b'), 30_000);
    await waitUntil(
      'the CP shows b healthy on both DPs',
      async () => (await health()).get(b.target)!.fleet.healthy === 2,
    );
    expect((await bodies(dp2, 8)).includes('b')).toBe(true);
  });

  it("an upstream without health checks: Kong's 400 for healthy/unhealthy, HEALTHCHECKS_OFF in /health", async () => {
    const r = await adminJson(cp.admin, 'PUT', '/upstreams/unchecked/targets/127.0.0.1:9/unhealthy');
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('no healthchecker found for unchecked');
    const h = await adminJson(cp.admin, 'GET', '/upstreams/unchecked/health');
    expect(h.json.data[0].health).toBe('HEALTHCHECKS_OFF');
    expect(
      (await adminJson(cp.admin, 'GET', '/upstreams/unchecked/health?balancer_health=1')).json.data.health,
    ).toBe('HEALTHCHECKS_OFF');
    expect((await adminJson(cp.admin, 'PUT', '/upstreams/pool/targets/10.0.0.1:1/healthy')).status).toBe(404);
    expect((await adminJson(cp.admin, 'PUT', '/upstreams/nope/targets/10.0.0.1:1/healthy')).status).toBe(404);
    expect((await adminJson(cp.admin, 'GET', '/upstreams/nope/health')).status).toBe(404);
    expect((await adminJson(cp.admin, 'DELETE', '/upstreams/pool/health')).status).toBe(405);
    expect((await adminJson(cp.admin, 'GET', `/upstreams/pool/targets/${b.target}/healthy`)).status).toBe(
      405,
    );
  });

  it('hostile ids, query strings and bodies on the new endpoints never get a 500 (fast-check)', async () => {
    const segment = fc.oneof(
      fc.constantFrom('pool', 'unchecked', b.target, '..', '%2e%2e', '%00', '%ff', '[::1]:1', 'a:99999'),
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
      fc.uuid(),
    );
    await fc.assert(
      fc.asyncProperty(
        segment,
        segment,
        fc.constantFrom('healthy', 'unhealthy', 'health'),
        fc.constantFrom('GET', 'PUT', 'POST', 'PATCH', 'DELETE'),
        fc.option(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          { nil: undefined },
        ),
        fc.string({ maxLength: 20 }).map(encodeURIComponent),
        async (u, t, what, method, body, query) => {
          const path =
            what === 'health'
              ? `/upstreams/${u}/health?balancer_health=${query}&data_plane=${query}`
              : `/upstreams/${u}/targets/${t}/${what}`;
          const r = await fetch(`${cp.admin}${path}`, {
            method,
            ...(body === undefined || method === 'GET'
              ? {}
              : { body, headers: { 'content-type': 'application/json' } }),
            signal: AbortSignal.timeout(10_000),
          });
          await r.arrayBuffer();
          expect(r.status).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
    // Whatever the fuzzing set, the pool serves again once both targets are marked healthy.
    for (const t of [a.target, b.target])
      expect((await fetch(`${cp.admin}/upstreams/pool/targets/${t}/healthy`, { method: 'PUT' })).status).toBe(
        204,
      );
  });
});
