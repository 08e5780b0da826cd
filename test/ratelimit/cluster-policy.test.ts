/**
 * The `cluster` rate-limiting policy over real NATS: each policy instance has its own NATS
 * link (@gatehouse/shared connectNats), as each DP process does. The machine's NATS (127.0.0.1:4222) for the fleet limit, a
 * nats-server of our own (free port) for failover. Each test uses its own region (subject).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { connectNats, createLogger, type Logger, type NatsLink } from '@gatehouse/shared';
import {
  CLUSTER_SYNC_INTERVAL_MS,
  ClusterPolicy,
  createClusterPolicy,
} from '@gatehouse/data-plane/ratelimit/cluster-policy';
import type { CounterHit } from '@gatehouse/data-plane/ratelimit/policy';
import { freePort, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { waitUntil } from './helpers.js';

const NATS_URL = 'nats://127.0.0.1:4222';

const open: ClusterPolicy[] = [];
const links: NatsLink[] = [];
const servers: NatsServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  await Promise.all(links.splice(0).map((l) => l.close()));
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});

const silent = createLogger('test', { level: 'silent' });

/** A DP process's policy: its own NATS link to `url`, the policy on it. */
function policyOver(url: string, region: string, logger: Logger = silent, retryMs = 200): ClusterPolicy {
  const nats = connectNats({ settings: { url, tls: {} }, name: `test-${region}`, logger, retryMs });
  links.push(nats);
  const p = createClusterPolicy({ nats, region, logger });
  open.push(p);
  return p;
}

function policy(region: string, natsUrl: string = NATS_URL): ClusterPolicy {
  return policyOver(natsUrl, region);
}

function minuteHit(key: string): CounterHit {
  const now = Date.now();
  // A window that cannot roll over during the test.
  return { key, windowSeconds: 3600, windowStart: now - (now % 3_600_000) };
}

async function usage(p: ClusterPolicy, hit: CounterHit): Promise<number> {
  return (await p.usage([hit]))[0]!;
}

function captureLogs(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger('test', { level: 'info' }, sink), lines };
}

describe('cluster policy over NATS', () => {
  it("one count across DPs: each sees the others' increments", async () => {
    const region = `t-${randomUUID()}`;
    const [a, b, c] = [policy(region), policy(region), policy(region)];
    await waitUntil('all connected', () => !a.degraded && !b.degraded && !c.degraded);
    expect(a.subject).toBe(`gatehouse.ratelimit.${region}`);
    const hit = minuteHit('plugin-1:consumer-1');
    expect(await a.increment([hit], 5)).toEqual([5]);
    await waitUntil('b and c see a', async () => (await usage(b, hit)) === 5 && (await usage(c, hit)) === 5);
    expect(await b.increment([hit], 2)).toEqual([7]);
    await waitUntil('a and c see 7', async () => (await usage(a, hit)) === 7 && (await usage(c, hit)) === 7);
    // Another region is another fleet.
    const other = policy(`t-${randomUUID()}`);
    await waitUntil('other connected', () => !other.degraded);
    await a.increment([hit], 1);
    await waitUntil('b sees 8', async () => (await usage(b, hit)) === 8);
    expect(await usage(other, hit)).toBe(0);
  });

  it('a DP that joins mid-window gets the live counts', async () => {
    const region = `t-${randomUUID()}`;
    const a = policy(region);
    await waitUntil('a connected', () => !a.degraded);
    const hit = minuteHit('plugin-1:late');
    await a.increment([hit], 4);
    const late = policy(region);
    await waitUntil('the late DP sees 4', async () => (await usage(late, hit)) === 4);
  });

  it('a limit L across 3 DPs admits at most L·(1+ε), ε = (D−1)·r·(Δ+δ)/L', async () => {
    const region = `t-${randomUUID()}`;
    const dps = [policy(region), policy(region), policy(region)];
    await waitUntil('all connected', () => dps.every((p) => !p.degraded));
    const D = dps.length;
    const L = 300;
    const paceMs = 10; // each DP makes at most one request per 10 ms: r ≤ 100/s
    const perDp = 250; // 750 requests in all, well past L
    // δ: delivery latency allowance (NATS on loopback, a busy shared machine).
    const deliveryMs = 150;
    const T = CLUSTER_SYNC_INTERVAL_MS + deliveryMs;
    // Requests one DP can make in any span of T: the peers' unseen ones when a DP admits.
    const unseenPerPeer = Math.floor(T / paceMs) + 1;
    const bound = L + (D - 1) * unseenPerPeer;
    const epsilon = (bound - L) / L;

    const hit = minuteHit('plugin-1:hammered');
    const admitted = await Promise.all(
      dps.map(async (p) => {
        let ok = 0;
        for (let i = 0; i < perDp; i++) {
          const [count] = await p.increment([hit], 1);
          if (count! <= L) ok++;
          await sleep(paceMs);
        }
        return ok;
      }),
    );
    const total = admitted.reduce((x, y) => x + y, 0);
    console.log(
      `cluster policy: L=${L} D=${D} Δ=${CLUSTER_SYNC_INTERVAL_MS}ms admitted=${total} ` +
        `(ε observed ${((total - L) / L).toFixed(3)}, bound ${epsilon.toFixed(3)})`,
    );
    expect(epsilon).toBeLessThan(0.2);
    expect(total).toBeGreaterThanOrEqual(L);
    expect(total).toBeLessThanOrEqual(bound);
    // Every DP ends up with the fleet's whole count.
    await waitUntil('counts converge', async () => {
      const seen = await Promise.all(dps.map((p) => usage(p, hit)));
      return seen.every((n) => n === D * perDp);
    });
  }, 60_000);
});

describe('cluster policy without NATS', () => {
  it('without a NATS URL counts locally, degraded, with a warning', async () => {
    const { logger, lines } = captureLogs();
    const p = createClusterPolicy({ region: 'eu', logger });
    open.push(p);
    expect(p.state).toBe('local-only');
    expect(p.degraded).toBe(true);
    const hit = minuteHit('k');
    expect(await p.increment([hit], 2)).toEqual([2]);
    expect(await p.usage([hit])).toEqual([2]);
    expect(lines.join('')).toMatch(/NATS_URL unset/);
  });

  it('with NATS unreachable counts locally, degraded, and says so', async () => {
    const { logger, lines } = captureLogs();
    const port = await freePort();
    const p = policyOver(`nats://127.0.0.1:${port}`, 'eu', logger);
    expect(p.degraded).toBe(true);
    const hit = minuteHit('k');
    expect(await p.increment([hit], 1)).toEqual([1]);
    await waitUntil('the warning is logged', () => lines.join('').includes('nats: unreachable'));
    expect(await p.increment([hit], 1)).toEqual([2]);
    expect(p.state).toBe('connecting');
  });

  it('connects once NATS comes up after the DP started', async () => {
    const port = await freePort();
    const a = policyOver(`nats://127.0.0.1:${port}`, 'late');
    const hit = minuteHit('k');
    await a.increment([hit], 3);
    servers.push(await startNatsServer({ port }));
    await waitUntil('a connected', () => !a.degraded);
    const b = policyOver(`nats://127.0.0.1:${port}`, 'late');
    await waitUntil('b sees what a counted before NATS was up', async () => (await usage(b, hit)) === 3);
  });

  it('NATS stopped mid-traffic: both DPs keep counting locally (degraded), and resync when it is back', async () => {
    const server = await startNatsServer();
    servers.push(server);
    const { logger, lines } = captureLogs();
    const a = policyOver(server.url, 'r', logger);
    const b = policyOver(server.url, 'r');
    await waitUntil('both connected', () => !a.degraded && !b.degraded);
    const hit = minuteHit('k');
    await a.increment([hit], 2);
    await waitUntil('b sees 2', async () => (await usage(b, hit)) === 2);

    await server.kill();
    await waitUntil('both degraded', () => a.degraded && b.degraded);
    expect(lines.join('')).toMatch(/NATS disconnected/);
    // Traffic keeps being counted, each DP on its own.
    expect(await a.increment([hit], 3)).toEqual([5]);
    expect(await b.increment([hit], 1)).toEqual([3]);

    await server.restart();
    await waitUntil('both back', () => !a.degraded && !b.degraded);
    await waitUntil(
      'the outage counts reach the peers',
      async () => (await usage(a, hit)) === 6 && (await usage(b, hit)) === 6,
    );
    expect(lines.join('')).toMatch(/nats: reconnected/);
  });

  it('a DP that reconnects after its peer already republished still gets the peer’s outage counts', async () => {
    const server = await startNatsServer();
    servers.push(server);
    const a = policyOver(server.url, 'r2');
    // b retries every 3 s, a every 200 ms: after the restart a is back, republishes what it
    // counted during the outage while b is still away, and b comes back after that.
    const b = policyOver(server.url, 'r2', silent, 3_000);
    await waitUntil('both connected', () => !a.degraded && !b.degraded);
    const hit = minuteHit('late-peer');
    await a.increment([hit], 2);
    await waitUntil('b sees 2', async () => (await usage(b, hit)) === 2);

    await server.kill();
    await waitUntil('both degraded', () => a.degraded && b.degraded);
    expect(await a.increment([hit], 3)).toEqual([5]);
    expect(await b.increment([hit], 1)).toEqual([3]);

    await server.restart();
    await waitUntil('a back', () => !a.degraded);
    expect(b.degraded).toBe(true);
    a.sync(); // a's republish, which b cannot hear
    await waitUntil('b back', () => !b.degraded, 20_000);
    // b's hello makes a send everything again: b hears a's 5 (and a b's 1).
    await waitUntil(
      'b hears what a counted during the outage',
      async () => (await usage(b, hit)) === 6 && (await usage(a, hit)) === 6,
    );
  });
});
