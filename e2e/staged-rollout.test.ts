/**
 * Staged rollouts end to end (issue 12): a CP on a real Postgres and three DPs (one labelled
 * canary=true) sending their traffic summaries every second, traffic through every DP all along.
 * A bad change (the route's service pointing at a dead upstream) reaches only the canary, whose
 * 502s break the gate: the CP writes the old config back as a new, higher version, every DP ends
 * serving the old route and the rollout is `failed` with the figures. A good change passes the
 * canary wave and the last wave (everyone) and completes: every DP serves the new route.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../test/helpers/db.js';
import {
  adminJson,
  freePort,
  httpStatus,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

interface RolloutJson {
  id: string;
  state: string;
  target_version: number;
  rollback_version: number | null;
  reason: string | null;
  waves: { state: string; evidence: { wave: { requests: number; error_rate: number } } | null }[];
}

describe('staged rollout: a CP and three DPs, one canary', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let db: { url: string; drop(): Promise<void> };
  let cp: CpHandle;
  const dps: (DpHandle & { name: string })[] = [];
  let deadUrl: string;

  const doc = (url: string, paths: Record<string, string>) => ({
    _format_version: '3.0',
    services: [
      {
        name: 'svc',
        url,
        routes: Object.entries(paths).map(([name, path]) => ({ name, paths: [path] })),
      },
    ],
  });
  const plan = {
    waves: [{ labels: { canary: 'true' } }],
    soak: 4,
    gate: { max_error_rate: 0.05, min_requests: 10 },
  };

  /** Sends traffic through every DP until `done` holds; returns each status seen per DP. */
  async function trafficUntil(what: string, path: string, done: () => Promise<boolean>) {
    const seen = new Map<string, number[]>(dps.map((d) => [d.name, []]));
    await waitUntil(
      what,
      async () => {
        for (let i = 0; i < 5; i++)
          for (const dp of dps) seen.get(dp.name)!.push(await httpStatus(`${dp.proxy}${path}`));
        return done();
      },
      90_000,
    );
    return seen;
  }
  const rollout = async (id: string) =>
    (await adminJson(cp.admin, 'GET', `/config/rollouts/${id}`)).json as RolloutJson;

  beforeAll(async () => {
    upstream = await startUpstream();
    deadUrl = `http://127.0.0.1:${await freePort()}`;
    db = await createPostgresDatabase();
    cp = await startCp({ dataDir: tempDir('rollout-cp'), env: { DATABASE_URL: db.url } });
    const r = await adminJson(cp.admin, 'POST', '/config', doc(upstream.url, { app: '/app' }));
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    // One at a time: the DPs' start is what takes long on a busy box.
    for (const [name, labels] of [
      ['dp-canary', ['--label', 'canary=true']],
      ['dp-b', []],
      ['dp-c', []],
    ] as const) {
      const dp = await startDp({
        cluster: `127.0.0.1:${cp.clusterPort}`,
        publicKeys: cp.publicKeys,
        dataDir: tempDir(`rollout-${name}`),
        workers: 1,
        nodeId: name,
        args: ['--traffic-summary-interval', '1000', ...labels],
        // Waited for below, with the time a busy box needs.
        waitReady: false,
      });
      dps.push({ ...dp, name });
    }
    await waitUntil(
      'every DP serves /app',
      async () => (await Promise.all(dps.map((d) => httpStatus(`${d.proxy}/app`)))).every((s) => s === 200),
      240_000,
    ).catch((e: Error) => {
      const outputs = dps.map(
        (d) => `--- ${d.name} (alive ${d.proc.alive}) ---\n${d.proc.output.slice(-2000)}`,
      );
      throw new Error(`${e.message}\n${outputs.join('\n')}\n--- cp ---\n${cp.proc.output.slice(-3000)}`);
    });
  }, 400_000);

  afterAll(async () => {
    await Promise.all(dps.map((d) => d.proc.stop()));
    await cp?.proc.stop();
    await db?.drop();
    await upstream?.close();
  });

  it('rolls a bad change (a dead upstream) back automatically', async () => {
    const started = await adminJson(cp.admin, 'POST', '/config/rollouts', {
      config: doc(deadUrl, { app: '/app' }),
      ...plan,
    });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    const id = (started.json as RolloutJson).id;

    // Another config write while it runs: 409.
    const refused = await adminJson(cp.admin, 'POST', '/services', { name: 'other', url: upstream.url });
    expect(refused.status).toBe(409);
    expect(refused.json.message).toMatch(/rollout .* is running/);

    const seen = await trafficUntil(
      'the rollout fails',
      '/app',
      async () => (await rollout(id)).state === 'failed',
    );
    // The canary got the change (502s); the others were held at the old config all along.
    expect(seen.get('dp-canary')).toContain(502);
    for (const name of ['dp-b', 'dp-c']) expect(new Set(seen.get(name))).toEqual(new Set([200]));

    const failed = await rollout(id);
    expect(failed.reason).toMatch(/max_error_rate/);
    expect(failed.rollback_version).toBeGreaterThan(failed.target_version);
    expect(failed.waves[0]!.state).toBe('failed');
    expect(failed.waves[0]!.evidence!.wave.error_rate).toBeGreaterThan(0.05);

    // Every DP serves the old route again; the canary at the rollback version.
    await waitUntil('every DP serves /app again', async () =>
      (await Promise.all(dps.map((d) => httpStatus(`${d.proxy}/app`)))).every((s) => s === 200),
    );
    await waitUntil('the canary holds the rollback version', async () => {
      const rows = (await adminJson(cp.admin, 'GET', '/clustering/data-planes')).json.data as {
        id: string;
        config_version: number;
      }[];
      return rows.find((r) => r.id === 'dp-canary')?.config_version === failed.rollback_version;
    });
  }, 300_000);

  it('completes a good change: every DP serves the new route', async () => {
    const started = await adminJson(cp.admin, 'POST', '/config/rollouts', {
      config: doc(upstream.url, { app: '/app', fresh: '/fresh' }),
      ...plan,
    });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    const id = (started.json as RolloutJson).id;
    await trafficUntil('the rollout completes', '/app', async () => {
      const r = await rollout(id);
      // A failed rollout never completes: say why at once (its reason and figures).
      if (r.state === 'failed') throw new Error(`the good rollout failed: ${JSON.stringify(r)}`);
      return r.state === 'completed';
    });
    const done = await rollout(id);
    expect(done.waves.map((w) => w.state)).toEqual(['passed', 'passed']);
    await waitUntil('every DP serves /fresh', async () =>
      (await Promise.all(dps.map((d) => httpStatus(`${d.proxy}/fresh`)))).every((s) => s === 200),
    );
    const list = await adminJson(cp.admin, 'GET', '/config/rollouts');
    expect((list.json.data as RolloutJson[]).map((r) => r.state)).toEqual(['completed', 'failed']);
  }, 300_000);
});
