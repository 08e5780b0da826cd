/**
 * rate-limiting with `policy: cluster` across three real data plane processes (DB-less, one
 * region) sharing counts over a nats-server of our own: the fleet admits the limit within the
 * bound of docs/plugins-traffic.md; with NATS stopped under a request loop no request fails and
 * every DP keeps serving (degraded, local counts) and says so in /status and in /metrics
 * (`gatehouse_ratelimit_cluster_connected`, `gatehouse_ratelimit_cluster_local_decisions_total`).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startNatsServer, type NatsServer } from '../test/helpers/nats-server.js';
import { sleep, startDblessDp, tempDir, waitUntil, type Proc } from './helpers/processes.js';

const LIMIT = 30;
const DPS = 3;
const SYNC_MS = 100; // the cluster policy's sync interval (Δ)
const DELIVERY_MS = 150; // δ allowed on a busy shared machine

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
                // A day window: it cannot roll over during the test (but at midnight UTC).
                config: { day: LIMIT, limit_by: 'header', header_name: 'x-tenant', policy: 'cluster' },
              },
            ],
          },
        ],
      },
    ],
  });
}

function send(base: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { agent: false, headers, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

interface StatusBody {
  rate_limiting: { cluster: { state: string; degraded: boolean; subject: string } | null };
}

async function clusterStatus(status: string): Promise<StatusBody['rate_limiting']['cluster']> {
  const res = await fetch(`${status}/status`);
  return ((await res.json()) as StatusBody).rate_limiting.cluster;
}

/** The two cluster-policy series of a DP's /metrics: the connected gauge and the local-only counter. */
async function clusterMetrics(status: string): Promise<{ connected: number | null; local: number }> {
  const text = await (await fetch(`${status}/metrics`)).text();
  const connected =
    /^gatehouse_ratelimit_cluster_connected\{subject="gatehouse\.ratelimit\.[^"]+"\} (\d+)$/m.exec(text);
  const local = /^gatehouse_ratelimit_cluster_local_decisions_total (\d+)$/m.exec(text);
  if (!local) throw new Error('no gatehouse_ratelimit_cluster_local_decisions_total in /metrics');
  return { connected: connected ? Number(connected[1]) : null, local: Number(local[1]) };
}

describe('rate-limiting policy cluster through three DPs over NATS', () => {
  let upstream: Server;
  let nats: NatsServer | null = null;
  const dps: { proc: Proc; proxy: string; status: string }[] = [];

  beforeAll(async () => {
    upstream = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    nats = await startNatsServer();
    const natsUrl = nats.url;
    const dir = tempDir('rl-cluster');
    const file = join(dir, 'kong.yml');
    writeFileSync(file, declarativeFile(`http://127.0.0.1:${(upstream.address() as { port: number }).port}`));
    const region = `e2e-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < DPS; i++) {
      dps.push(
        await startDblessDp({
          file,
          dataDir: tempDir(`rl-cluster-dp${i}`),
          workers: 1,
          args: ['--nats-url', natsUrl, '--region', region],
        }),
      );
    }
    for (const dp of dps) {
      await waitUntil(
        'the DP syncs over NATS',
        async () => (await clusterStatus(dp.status))?.state === 'connected',
      );
    }
  });

  afterAll(async () => {
    await Promise.all(dps.map((dp) => dp.proc.stop()));
    await nats?.kill();
    await new Promise((r) => upstream.close(r));
  });

  it('the fleet admits the limit, within L + (D−1)·(requests one DP takes in Δ+δ)', async () => {
    const tenant = randomUUID();
    const paceMs = 20; // one request every 20 ms, round-robin: a DP gets one every 60 ms at most
    let admitted = 0;
    for (let i = 0; i < DPS * LIMIT; i++) {
      const status = await send(dps[i % DPS]!.proxy, '/limited', { 'x-tenant': tenant });
      expect([200, 429]).toContain(status);
      if (status === 200) admitted++;
      await sleep(paceMs);
    }
    const unseenPerPeer = Math.floor((SYNC_MS + DELIVERY_MS) / (DPS * paceMs)) + 1;
    const bound = LIMIT + (DPS - 1) * unseenPerPeer;
    console.log(`cluster policy e2e: L=${LIMIT} D=${DPS} admitted=${admitted} bound=${bound}`);
    expect(admitted).toBeGreaterThanOrEqual(LIMIT);
    // Three unsynchronised DPs would admit every one of the 3·L requests.
    expect(admitted).toBeLessThanOrEqual(bound);
  });

  it('NATS stopped under a request loop: every request is still answered, each DP degrades to local counts (/status, /metrics)', async () => {
    const before: number[] = [];
    for (const dp of dps) {
      const m = await clusterMetrics(dp.status);
      // Connected: the fleet test above took every decision on shared counts.
      expect(m).toEqual({ connected: 1, local: 0 });
      before.push(m.local);
    }
    // A request loop over the three DPs runs while NATS is killed. Each request is a new tenant
    // (far under its limit), so every one must be a 200: an error, a 5xx or a 429 is a failure.
    let running = true;
    let killed = false;
    const loop = { sent: 0, afterKill: 0, failures: [] as string[] };
    const looping = (async () => {
      for (let i = 0; running; i++) {
        const dp = dps[i % DPS]!;
        const status = await send(dp.proxy, '/limited', { 'x-tenant': randomUUID() }).catch(
          (e: Error) => `error ${e.message}`,
        );
        loop.sent++;
        if (killed) loop.afterKill++;
        if (status !== 200) loop.failures.push(`request ${i} on DP ${i % DPS}: ${status}`);
        await sleep(5);
      }
    })();
    await waitUntil('the loop is running', async () => loop.sent >= 30);
    await nats?.kill();
    nats = null;
    killed = true;
    for (const dp of dps) {
      await waitUntil(
        'the DP says degraded',
        async () => (await clusterStatus(dp.status))?.degraded === true,
      );
    }
    const atDegraded = loop.afterKill;
    await waitUntil('the loop goes on past the degradation', async () => loop.afterKill >= atDegraded + 30);
    running = false;
    await looping;
    expect(loop.failures).toEqual([]);
    expect(loop.afterKill).toBeGreaterThanOrEqual(30);
    const tenant = randomUUID();
    const perDp = 3;
    for (const dp of dps) {
      // Each DP now counts its own traffic: its first requests for a new tenant pass.
      for (let i = 0; i < perDp; i++)
        expect(await send(dp.proxy, '/limited', { 'x-tenant': tenant })).toBe(200);
    }
    for (const [i, dp] of dps.entries()) {
      expect((await clusterStatus(dp.status))?.state).toBe('disconnected');
      const m = await clusterMetrics(dp.status);
      expect(m.connected).toBe(0);
      // Every request this DP served since NATS went down was decided on its own counts.
      expect(m.local - before[i]!).toBeGreaterThanOrEqual(perDp);
    }
  });
});
