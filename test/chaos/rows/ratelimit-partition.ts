/**
 * F26 (NATS partition during cluster rate limiting): three DB-less data planes share one
 * `rate-limiting` limit L (`policy: cluster`) over a private nats-server; the first reaches NATS
 * through a TCP gate (gate.ts), the other two directly. Requests go round-robin to the three, each
 * for one tenant (`limit_by: header`), 2·D·L of them per phase, paced.
 *
 * - Connected: the fleet admits at most L + (D − 1)·u, u = what one DP takes in the sync interval
 *   plus the delivery delay (docs/plugins-traffic.md, "The over-admission bound").
 * - Partitioned (the gate shut: the first DP alone, the other two still sharing): each side counts
 *   on its own, so the fleet admits at most L (the lone DP) + L + u (the pair) — the documented
 *   "while degraded, the fleet can admit up to D·L", here for a partition of one DP. The lone DP
 *   says so (`rate_limiting.cluster.degraded` in /status, the connected gauge at 0, local decisions
 *   counted in /metrics).
 * - Healed: the lone DP is sharing again ≤ 5 s after the gate opens, and then no DP admits the
 *   tenant of the partition any more (its count over the fleet is past L): 0 admitted.
 * Every request gets 200 or 429: no 5xx, no error, in all three phases.
 */
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { startDblessDp, tempDir, type Proc } from '../../../e2e/helpers/processes.js';
import { startNatsServer } from '../../helpers/nats-server.js';
import { Gate } from '../gate.js';
import { sleep, startUpstream, whenTrue } from '../fleet.js';
import { atMost, exactly, holds, type Row } from '../row.js';

const DPS = 3;
/** The cluster policy's sync interval (Δ) and the delivery delay allowed on a busy shared box (δ). */
const SYNC_MS = 100;
const DELIVERY_MS = 150;
/** One request every PACE_MS, round-robin: one DP gets one every DPS·PACE_MS. */
const PACE_MS = 20;

interface Dp {
  proc: Proc;
  proxy: string;
  status: string;
}

function send(base: string, tenant: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(
      `${base}/limited`,
      { agent: false, headers: { 'x-tenant': tenant }, timeout: 5000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

interface ClusterView {
  state: string;
  degraded: boolean;
}

async function cluster(dp: Dp): Promise<ClusterView | null> {
  try {
    const r = await fetch(`${dp.status}/status`, { signal: AbortSignal.timeout(2000) });
    return ((await r.json()) as { rate_limiting: { cluster: ClusterView | null } }).rate_limiting.cluster;
  } catch {
    return null;
  }
}

async function localDecisions(dp: Dp): Promise<number> {
  const text = await (await fetch(`${dp.status}/metrics`)).text();
  const m = /^gatehouse_ratelimit_cluster_local_decisions_total (\d+)$/m.exec(text);
  return m ? Number(m[1]) : -1;
}

/** Sends `n` requests for `tenant` round-robin; counts 200s and anything not 200/429. */
async function phase(dps: Dp[], tenant: string, n: number): Promise<{ admitted: number; bad: number }> {
  let admitted = 0;
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const status = await send(dps[i % dps.length]!.proxy, tenant);
    if (status === 200) admitted++;
    else if (status !== 429) bad++;
    await sleep(PACE_MS);
  }
  return { admitted, bad };
}

export const F26: Row = {
  id: 'F26',
  fault: 'NATS partition of one DP during cluster rate limiting',
  async run(profile, log) {
    const limit = profile.short ? 30 : 100;
    const perPhase = 2 * DPS * limit;
    const unseen = Math.floor((SYNC_MS + DELIVERY_MS) / (DPS * PACE_MS)) + 1;
    const upstream = await startUpstream();
    const nats = await startNatsServer();
    const gate = await Gate.open(nats.port);
    const dps: Dp[] = [];
    const dir = tempDir('chaos-f26');
    try {
      const file = join(dir, 'kong.json');
      writeFileSync(
        file,
        JSON.stringify({
          _format_version: '3.0',
          services: [
            {
              name: 'limited',
              url: `http://127.0.0.1:${upstream.port}`,
              routes: [
                {
                  name: 'limited',
                  paths: ['/limited'],
                  plugins: [
                    {
                      name: 'rate-limiting',
                      // A year's window: it does not roll over during the row (but at New Year).
                      config: { year: limit, limit_by: 'header', header_name: 'x-tenant', policy: 'cluster' },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const region = `chaos-${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < DPS; i++) {
        const port = i === 0 ? gate.port : nats.port;
        dps.push(
          await startDblessDp({
            file,
            dataDir: join(dir, `dp${i}`),
            workers: 1,
            args: ['--nats-url', `nats://127.0.0.1:${port}`, '--region', region],
          }),
        );
      }
      for (const dp of dps)
        if ((await whenTrue(async () => (await cluster(dp))?.state === 'connected', 20_000)) === null)
          throw new Error('a data plane did not start sharing counts over NATS');

      const connected = await phase(dps, randomUUID(), perPhase);
      log(`connected: ${connected.admitted} of ${perPhase} admitted (L = ${limit})`);

      const lone = dps[0]!;
      const localBefore = await localDecisions(lone);
      await gate.shut();
      const degraded = await whenTrue(async () => (await cluster(lone))?.degraded === true, 15_000);
      const tenant = randomUUID();
      const partitioned = await phase(dps, tenant, perPhase);
      const localDuring = (await localDecisions(lone)) - localBefore;
      log(
        `partitioned: ${partitioned.admitted} of ${perPhase} admitted; the lone DP took ${localDuring} decisions on its own counts`,
      );

      const openedAt = performance.now();
      await gate.reopen(nats.port);
      const backAt = await whenTrue(async () => (await cluster(lone))?.state === 'connected', 30_000);
      // The lone DP republishes its counts on reconnecting; give them the sync interval and the
      // delivery delay to arrive, then the partition's tenant is over the limit everywhere.
      await sleep(SYNC_MS + DELIVERY_MS + 250);
      const healed = await phase(dps, tenant, 2 * DPS * 5);
      log(
        `healed after ${backAt === null ? 'never' : ((backAt - openedAt) / 1000).toFixed(1)} s; then ${healed.admitted} admitted for the partition's tenant`,
      );
      return [
        atMost('admitted, all sharing', connected.admitted, limit + (DPS - 1) * unseen, 'requests', 0),
        atMost('admitted, one DP partitioned', partitioned.admitted, limit + limit + unseen, 'requests', 0),
        holds('the partitioned DP says it is degraded', degraded !== null && localDuring > 0),
        atMost(
          'partitioned DP sharing again after NATS is reachable',
          backAt === null ? Infinity : (backAt - openedAt) / 1000,
          5,
          's',
        ),
        exactly("admitted after the heal for the partition's tenant", healed.admitted, 0),
        exactly(
          'requests answered neither 200 nor 429',
          connected.bad + partitioned.bad + healed.bad,
          0,
          3 * perPhase,
        ),
      ];
    } finally {
      await Promise.all(dps.map((dp) => dp.proc.stop()));
      await gate.shut();
      await nats.kill();
      upstream.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
