/**
 * Delta sync through real processes (issue 12): a `gatehouse cp` and a `gatehouse dp`. After the
 * first full snapshot, a one-route change to a config of many routes reaches the DP as a signed
 * delta (the CP's and the DP's counters say so), the DP's config hash equals the CP's full hash,
 * the change is served; and the DP restarted with the CP gone boots from its disk cache — the
 * delta's JWS kept beside the full bytes verifies there as a snapshot does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

const ROUTES = 400;

/** The sum of a Prometheus counter's samples (every label set) in a /metrics text. */
function counter(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const metrics = async (url: string) => (await fetch(`${url}/metrics`)).text();
const dpHash = async (dp: DpHandle) =>
  ((await (await fetch(`${dp.status}/status`)).json()) as { config: { hash: string; source: string } | null })
    .config;
const cpHash = async (cp: CpHandle) =>
  (await adminJson(cp.admin, 'GET', '/clustering/status')).json.control_plane.config_hash as string | null;

describe('delta sync through a real data plane', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let dp: DpHandle;
  let cluster: string;
  const dpDir = tempDir('delta-dp');

  beforeAll(async () => {
    upstream = await startUpstream();
    const clusterPort = await freePort();
    cp = await startCp({ dataDir: tempDir('delta-cp'), clusterPort });
    cluster = `127.0.0.1:${clusterPort}`;
    const config = {
      _format_version: '3.0',
      services: [
        {
          name: 'up',
          url: upstream.url,
          routes: Array.from({ length: ROUTES }, (_, i) => ({ name: `r${i}`, paths: [`/r${i}`] })),
        },
      ],
    };
    expect((await adminJson(cp.admin, 'POST', '/config', config)).status).toBe(201);
    dp = await startDp({ cluster, publicKeys: cp.publicKeys, tls: cp.dpTlsArgs, dataDir: dpDir });
    await waitUntil(
      'the DP serves the imported routes',
      async () => (await httpStatus(`${dp.proxy}/r7`)) === 200,
      60_000,
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([cp?.proc.stop(), dp?.proc.stop()]);
    await upstream?.close();
  });

  it('a one-route change travels as a delta; the DP holds the CP’s full hash and serves the change', async () => {
    const cpBefore = counter(await metrics(cp.admin), 'gatehouse_cp_deltas_sent_total');
    const dpBefore = counter(await metrics(dp.status), 'gatehouse_dp_delta_applies_total');
    const fullBefore = counter(await metrics(cp.admin), 'gatehouse_cp_config_bytes_sent_total');

    const patched = await adminJson(cp.admin, 'PATCH', '/routes/r7', { paths: ['/moved'] });
    expect(patched.status).toBe(200);
    await waitUntil(
      'the DP serves the moved route',
      async () => (await httpStatus(`${dp.proxy}/moved`)) === 200,
    );
    expect(await httpStatus(`${dp.proxy}/r7`)).toBe(404);

    expect(counter(await metrics(dp.status), 'gatehouse_dp_delta_applies_total')).toBe(dpBefore + 1);
    expect(counter(await metrics(cp.admin), 'gatehouse_cp_deltas_sent_total')).toBe(cpBefore + 1);
    const cpFull = await cpHash(cp);
    await waitUntil('the DP reports the CP’s full hash', async () => (await dpHash(dp))?.hash === cpFull);
    // What the CP wrote for the change is a small part of what a full snapshot would be.
    const sent = counter(await metrics(cp.admin), 'gatehouse_cp_config_bytes_sent_total') - fullBefore;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(2_000);
  });

  it('restarted with the CP gone, the DP boots from its cache of the delta-built config', async () => {
    const held = (await dpHash(dp))!.hash;
    await cp.proc.stop();
    await dp.proc.stop();
    dp = await startDp({ cluster, publicKeys: cp.publicKeys, tls: cp.dpTlsArgs, dataDir: dpDir });
    const config = await dpHash(dp);
    expect(config).toMatchObject({ hash: held, source: 'cache' });
    expect(await httpStatus(`${dp.proxy}/moved`)).toBe(200);
  });
});

describe('gatehouse cp --cluster-deltas off', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let dp: DpHandle;

  beforeAll(async () => {
    upstream = await startUpstream();
    const clusterPort = await freePort();
    cp = await startCp({ dataDir: tempDir('nodelta-cp'), clusterPort, args: ['--cluster-deltas', 'off'] });
    expect((await adminJson(cp.admin, 'POST', '/services', { name: 'up', url: upstream.url })).status).toBe(
      201,
    );
    expect(
      (await adminJson(cp.admin, 'POST', '/services/up/routes', { name: 'a', paths: ['/a'] })).status,
    ).toBe(201);
    dp = await startDp({
      cluster: `127.0.0.1:${clusterPort}`,
      publicKeys: cp.publicKeys,
      tls: cp.dpTlsArgs,
      dataDir: tempDir('nodelta-dp'),
    });
    await waitUntil('the DP serves /a', async () => (await httpStatus(`${dp.proxy}/a`)) === 200, 60_000);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([cp?.proc.stop(), dp?.proc.stop()]);
    await upstream?.close();
  });

  it('sends a change as a full snapshot to a DP that takes deltas', async () => {
    expect((await adminJson(cp.admin, 'PATCH', '/routes/a', { paths: ['/b'] })).status).toBe(200);
    await waitUntil('the DP serves /b', async () => (await httpStatus(`${dp.proxy}/b`)) === 200);
    expect(counter(await metrics(dp.status), 'gatehouse_dp_delta_applies_total')).toBe(0);
    expect(counter(await metrics(cp.admin), 'gatehouse_cp_deltas_sent_total')).toBe(0);
    await waitUntil(
      'the DP reports the CP’s hash',
      async () => (await dpHash(dp))?.hash === (await cpHash(cp)),
    );
  });
});
