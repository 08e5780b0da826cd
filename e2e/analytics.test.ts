/**
 * Fleet analytics end to end: a CP and two DPs (two workers each) in different regions, known
 * traffic through both, and the CP's /analytics/* answers the exact totals (requests, 4xx, 5xx)
 * per service, route, DP and region, and p50/p95/p99 within the sketch's 1 % relative error of
 * the true latencies — once with the summaries on the cluster streams, once on a NATS server the
 * test starts. Also: the DPs' heartbeat health in /clustering/data-planes, and a bad query is a 400.
 *
 * The true latency of a request as the DP measures it is unknown to the test but bounded: at
 * least the delay the upstream waited, at most what the client measured. So each true quantile
 * lies between the same quantile of those two bounds, and the reported one within 1 % of it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../test/helpers/db.js';
import { startNatsServer, type NatsServer } from '../test/helpers/nats-server.js';
import {
  adminJson,
  startCp,
  startDp,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

const ALPHA = 0.01;
const DELAYS = [5, 10, 20, 40, 80];

interface Sent {
  region: string;
  node: string;
  route: string;
  status: number;
  delayMs: number;
  clientMs: number;
}

function send(base: string, path: string): Promise<{ status: number; clientMs: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest(`${base}${path}`, { agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, clientMs: performance.now() - t0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The q-quantile (DDSketch's rank q·(n−1)) of `values`, rounded down / up to an index. */
function quantileBounds(lower: number[], upper: number[], q: number): [number, number] {
  const lo = [...lower].sort((a, b) => a - b);
  const hi = [...upper].sort((a, b) => a - b);
  const rank = q * (lo.length - 1);
  return [lo[Math.floor(rank)]! * (1 - ALPHA) - 0.001, hi[Math.ceil(rank)]! * (1 + ALPHA) + 0.001];
}

function expectQuantiles(latency: { p50: number; p95: number; p99: number }, sent: Sent[]): void {
  const lower = sent.map((s) => s.delayMs);
  const upper = sent.map((s) => s.clientMs);
  for (const [q, got] of [
    [0.5, latency.p50],
    [0.95, latency.p95],
    [0.99, latency.p99],
  ] as const) {
    const [lo, hi] = quantileBounds(lower, upper, q);
    expect(got, `p${q * 100}`).toBeGreaterThanOrEqual(lo);
    expect(got, `p${q * 100}`).toBeLessThanOrEqual(hi);
  }
}

function totals(sent: Sent[]) {
  return {
    requests: sent.length,
    errors_4xx: sent.filter((s) => s.status >= 400 && s.status < 500).length,
    errors_5xx: sent.filter((s) => s.status >= 500).length,
  };
}

describe.each([{ transport: 'stream' }, { transport: 'nats' }])(
  'analytics from two DPs in two regions ($transport)',
  ({ transport }) => {
    let upstream: Server;
    let nats: NatsServer | null = null;
    // The NATS password: it must appear in no log, status or error.
    const secret = `pw-${randomBytes(12).toString('hex')}`;
    let cp: CpHandle;
    const dps: (DpHandle & { region: string; node: string })[] = [];
    const sent: Sent[] = [];

    let db: { url: string; drop(): Promise<void> } | undefined;

    beforeAll(async () => {
      // The upstream waits ?delay= ms and answers ?status=.
      upstream = createServer((req, res) => {
        const q = new URL(req.url ?? '/', 'http://x').searchParams;
        setTimeout(
          () => {
            res.statusCode = Number(q.get('status') ?? 200);
            res.end('ok');
          },
          Number(q.get('delay') ?? 0),
        );
      });
      await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
      const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
      let natsArgs: string[] = [];
      let env: Record<string, string> | undefined;
      if (transport === 'nats') {
        // A CP with NATS_URL is one of several replicas, which need Postgres (not PGlite).
        db = await createPostgresDatabase();
        env = { DATABASE_URL: db.url };
        // Auth required: both planes connect with the credentials given in the URL.
        nats = await startNatsServer({ user: 'gh', pass: secret, monitor: true });
        natsArgs = ['--nats-url', `nats://gh:${secret}@127.0.0.1:${nats.port}`];
      }
      cp = await startCp({ dataDir: tempDir(`ana-cp-${transport}`), args: natsArgs, env });
      for (const [svc, route] of [
        ['svc-a', 'route-a'],
        ['svc-b', 'route-b'],
      ]) {
        expect((await adminJson(cp.admin, 'POST', '/services', { name: svc, url: upstreamUrl })).status).toBe(
          201,
        );
        const r = await adminJson(cp.admin, 'POST', `/services/${svc}/routes`, {
          name: route,
          paths: [`/${route}`],
        });
        expect(r.status).toBe(201);
      }
      for (const region of ['eu-west', 'us-east']) {
        const node = `${transport}-${region}`;
        const dp = await startDp({
          cluster: `127.0.0.1:${cp.clusterPort}`,
          publicKeys: cp.publicKeys,
          dataDir: tempDir(`ana-dp-${node}`),
          workers: 2,
          nodeId: node,
          args: ['--region', region, '--traffic-summary-interval', '1000', ...natsArgs],
        });
        dps.push({ ...dp, region, node });
      }
      for (const dp of dps)
        await waitUntil(
          'the DP serves the routes',
          async () => (await send(dp.proxy, '/route-b')).status === 200,
        );
    }, 120_000);

    afterAll(async () => {
      await Promise.all(dps.map((dp) => dp.proc.stop()));
      await cp?.proc.stop();
      await nats?.kill();
      await db?.drop();
      await new Promise((r) => upstream?.close(r));
    });

    it('answers exact totals and percentiles within 1 % per service, route, DP and region', async () => {
      // Known traffic: each DP gets both routes, every delay, some 404s and 503s from the upstream.
      let i = 0;
      for (const dp of dps) {
        for (const route of ['route-a', 'route-b']) {
          for (let k = 0; k < (route === 'route-a' ? 30 : 20); k++) {
            const delayMs = DELAYS[i++ % DELAYS.length]!;
            const status = k % 10 === 3 ? 404 : k % 10 === 7 ? 503 : 200;
            const r = await send(dp.proxy, `/${route}?delay=${delayMs}&status=${status}`);
            expect(r.status).toBe(status);
            sent.push({ region: dp.region, node: dp.node, route, status, delayMs, clientMs: r.clientMs });
          }
        }
      }
      // The readiness probes went through route-b too: the exact checks read route-a (never
      // probed); route-b counts at least what was sent here.
      const routeA = sent.filter((s) => s.route === 'route-a');
      const routeBSent = sent.filter((s) => s.route === 'route-b').length;
      await waitUntil(
        'the CP has every DP summary',
        async () => {
          const { json } = await adminJson(cp.admin, 'GET', '/analytics/routes?window=5m');
          const by = (name: string): number | undefined =>
            (json.data as { name: string; requests: number }[] | undefined)?.find((g) => g.name === name)
              ?.requests;
          if (by('route-a') !== routeA.length || (by('route-b') ?? 0) < routeBSent) return false;
          // Route-b's total may already count the probes of one DP while the other DP's last
          // summary is still on its way: wait for every DP to have counted what it was sent.
          const planes = await adminJson(cp.admin, 'GET', '/analytics/data-planes?window=5m');
          return dps.every(
            (dp) =>
              ((planes.json.data as { id: string; requests: number }[] | undefined)?.find(
                (g) => g.id === dp.node,
              )?.requests ?? 0) >= sent.filter((s) => s.node === dp.node).length,
          );
        },
        30_000,
      );

      const services = await adminJson(cp.admin, 'GET', '/analytics/services?window=5m&route=route-a');
      expect(services.status).toBe(200);
      expect(services.json.data).toHaveLength(1);
      expect(services.json.data[0]).toMatchObject({ name: 'svc-a', ...totals(routeA) });
      expectQuantiles(services.json.data[0].latency_ms, routeA);

      const regions = await adminJson(cp.admin, 'GET', '/analytics/regions?window=5m&service=svc-a');
      const byRegion = new Map<
        string,
        { requests: number; latency_ms: { p50: number; p95: number; p99: number } }
      >(regions.json.data.map((g: { id: string }) => [g.id, g]));
      expect([...byRegion.keys()].sort()).toEqual(['eu-west', 'us-east']);
      for (const region of ['eu-west', 'us-east']) {
        const mine = routeA.filter((s) => s.region === region);
        expect(byRegion.get(region)).toMatchObject(totals(mine));
        expectQuantiles(byRegion.get(region)!.latency_ms, mine);
      }

      // Per DP: its totals (the readiness probes included), a series that adds up to them.
      const planes = await adminJson(cp.admin, 'GET', '/analytics/data-planes?window=5m&step=10s');
      expect(planes.json.data.map((g: { id: string }) => g.id).sort()).toEqual(dps.map((d) => d.node).sort());
      for (const g of planes.json.data as {
        id: string;
        requests: number;
        errors_5xx: number;
        series: { requests: number }[];
      }[]) {
        const mine = sent.filter((s) => s.node === g.id);
        expect(g.requests).toBeGreaterThanOrEqual(mine.length);
        expect(g.errors_5xx).toBe(totals(mine).errors_5xx);
        expect(g.series.reduce((n, p) => n + p.requests, 0)).toBe(g.requests);
      }
      const eu = await adminJson(cp.admin, 'GET', '/analytics/data-planes?window=5m&region=eu-west');
      expect(eu.json.data.map((g: { id: string }) => g.id)).toEqual([`${transport}-eu-west`]);

      const routes = await adminJson(cp.admin, 'GET', '/analytics/routes?window=5m');
      const routeB = routes.json.data.find((g: { name: string }) => g.name === 'route-b');
      expect(routeB.requests).toBeGreaterThanOrEqual(routeBSent);
    }, 120_000);

    it('names a consumer by its username and finds it by that name', async () => {
      const consumer = await adminJson(cp.admin, 'POST', '/consumers', { username: `alice-${transport}` });
      expect(consumer.status).toBe(201);
      const cred = await adminJson(cp.admin, 'POST', `/consumers/alice-${transport}/key-auth`, {
        key: `key-${transport}`,
      });
      expect(cred.status).toBe(201);
      const route = await adminJson(cp.admin, 'POST', '/services/svc-b/routes', {
        name: 'route-c',
        paths: ['/route-c'],
      });
      expect(route.status).toBe(201);
      expect(
        (await adminJson(cp.admin, 'POST', '/routes/route-c/plugins', { name: 'key-auth' })).status,
      ).toBe(201);
      const toRouteC = (dp: DpHandle, key: string | null) =>
        new Promise<number>((resolve, reject) => {
          const headers: Record<string, string> = key === null ? {} : { apikey: key };
          const req = httpRequest(
            `${dp.proxy}/route-c`,
            { agent: false, timeout: 10_000, headers },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode!));
            },
          );
          req.on('error', reject);
          req.end();
        });
      // The route may reach a DP a version before its key-auth: wait for the 401 without a key.
      for (const dp of dps)
        await waitUntil('the DP asks for a key on route-c', async () => (await toRouteC(dp, null)) === 401);
      let sentWithKey = 0;
      for (const dp of dps)
        for (let k = 0; k < 5; k++) {
          expect(await toRouteC(dp, `key-${transport}`)).toBe(200);
          sentWithKey++;
        }
      let found: { id: string; name: string; requests: number }[] = [];
      await waitUntil(
        "the CP counts alice's requests under her name",
        async () => {
          const r = await adminJson(
            cp.admin,
            'GET',
            `/analytics/consumers?window=5m&consumer=alice-${transport}`,
          );
          found = (r.json.data ?? []) as typeof found;
          return found.length === 1 && found[0]!.requests >= sentWithKey;
        },
        30_000,
      );
      expect(found[0]).toMatchObject({ id: consumer.json.id, name: `alice-${transport}` });
      expect(found[0]!.requests).toBe(sentWithKey);
    }, 120_000);

    it('shows each DP health from its heartbeats in /clustering/data-planes', async () => {
      await waitUntil(
        'health reported',
        async () => {
          const { json } = await adminJson(cp.admin, 'GET', '/clustering/data-planes');
          // The first heartbeat (right after Hello) may say 'starting'; the one after the apply says ok.
          return dps.every(
            (dp) => json.data.find((r: { id: string }) => r.id === dp.node)?.health?.status === 'ok',
          );
        },
        30_000,
      );
      const { json } = await adminJson(cp.admin, 'GET', '/clustering/data-planes');
      for (const dp of dps) {
        const row = json.data.find((r: { id: string }) => r.id === dp.node);
        expect(row.region).toBe(dp.region);
        expect(row.health).toMatchObject({ status: 'ok', workers: 2, workers_configured: 2 });
        expect(row.health.rss_bytes).toBeGreaterThan(0);
        expect(row.health.event_loop_lag_ms).toBeGreaterThanOrEqual(0);
      }
    }, 60_000);

    it.runIf(transport === 'nats')(
      'one NATS connection per process, credentials in no log or status',
      async () => {
        const connz = await nats!.connz();
        const names = connz.connections.map((c) => c.name ?? '');
        // The CP's replicas adapter and analytics share one connection; each DP's primary holds one.
        expect(names.filter((n) => n.startsWith('gatehouse-cp-'))).toHaveLength(1);
        for (const dp of dps) expect(names.filter((n) => n === `gatehouse-dp-${dp.node}`)).toHaveLength(1);
        expect(connz.num_connections).toBe(1 + dps.length);

        const cpStatus = await adminJson(cp.admin, 'GET', '/clustering/status');
        expect(cpStatus.json.messaging).toMatchObject({
          state: 'connected',
          servers: [`127.0.0.1:${nats!.port}`],
        });
        expect(cpStatus.json.messaging.subjects).toEqual(
          expect.arrayContaining(['gatehouse.config.changed', 'gatehouse.telemetry.>']),
        );
        expect(cpStatus.json.messaging.received).toBeGreaterThan(0);
        expect(JSON.stringify(cpStatus.json)).not.toContain(secret);
        for (const dp of dps) {
          const text = await (await fetch(`${dp.status}/status`)).text();
          expect(JSON.parse(text).nats).toMatchObject({
            state: 'connected',
            servers: [`127.0.0.1:${nats!.port}`],
          });
          expect(text).not.toContain(secret);
          expect(dp.proc.output).toMatch(/nats: connected/);
          expect(dp.proc.output).not.toContain(secret);
        }
        expect(cp.proc.output).toMatch(/nats: connected/);
        expect(cp.proc.output).not.toContain(secret);
      },
      60_000,
    );

    it('answers 400 naming a bad parameter', async () => {
      const r = await adminJson(cp.admin, 'GET', '/analytics/services?window=9d&step=7s');
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ name: 'schema violation', code: 2 });
      expect(Object.keys(r.json.fields).sort()).toEqual(['step', 'window']);
      // Beyond the hour: the history (7 days by default) at 5-minute resolution.
      const long = await adminJson(cp.admin, 'GET', '/analytics/services?window=2h&step=1h');
      expect(long.status).toBe(200);
      expect(long.json).toMatchObject({ window: '2h', step: '1h', resolution: 300 });
    });
  },
);
