/**
 * The walking skeleton's promise, with real processes on loopback: a control plane and two
 * data planes; config written through the Admin API reaches both; killing the CP with
 * SIGKILL in the middle of traffic fails no request; a DP restarted while the CP is down
 * serves from its disk cache; a new CP process is reconnected to and its changes served.
 */
import { Agent, request } from 'undici';
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

describe('control plane death with two data planes', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let dp1: DpHandle;
  let dp2: DpHandle;
  const cpDir = tempDir('cp');
  let adminPort: number;
  let clusterPort: number;

  beforeAll(async () => {
    upstream = await startUpstream();
    adminPort = await freePort();
    clusterPort = await freePort();
    cp = await startCp({ dataDir: cpDir, adminPort, clusterPort });
    const cluster = `127.0.0.1:${clusterPort}`;
    [dp1, dp2] = await Promise.all([
      startDp({ cluster, publicKeys: cp.publicKeys, tls: cp.dpTlsArgs, dataDir: tempDir('dp1'), workers: 2 }),
      startDp({ cluster, publicKeys: cp.publicKeys, tls: cp.dpTlsArgs, dataDir: tempDir('dp2'), workers: 1 }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([cp?.proc.stop(), dp1?.proc.stop(), dp2?.proc.stop()]);
    await upstream?.close();
  });

  it('serves a service and route created through the Admin API on both data planes', async () => {
    const svc = await adminJson(cp.admin, 'POST', '/services', { name: 'echo', url: `${upstream.url}/base` });
    expect(svc.status).toBe(201);
    const route = await adminJson(cp.admin, 'POST', '/services/echo/routes', {
      name: 'echo-route',
      paths: ['/echo'],
    });
    expect(route.status).toBe(201);

    for (const dp of [dp1, dp2]) {
      await waitUntil(`route on ${dp.proxy}`, async () => (await httpStatus(`${dp.proxy}/echo/x`)) === 200);
      const r = await fetch(`${dp.proxy}/echo/x`);
      expect(await r.json()).toMatchObject({ url: '/base/x' });
    }
    const dps = await adminJson(cp.admin, 'GET', '/clustering/data-planes');
    expect(dps.status).toBe(200);
    expect(dps.json.data).toHaveLength(2);
  });

  it('fails no request when the control plane is killed with SIGKILL mid-traffic', async () => {
    const agent = new Agent({ connections: 8, keepAliveTimeout: 10_000 });
    const total = 3000;
    let sent = 0;
    let failed = 0;
    let ok = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (sent < total) {
        sent++;
        try {
          const r = await request(`${dp1.proxy}/echo/loop`, { dispatcher: agent });
          await r.body.text();
          if (r.statusCode === 200) ok++;
          else {
            failed++;
            failures.push(String(r.statusCode));
          }
        } catch (e) {
          failed++;
          failures.push((e as Error).message);
        }
      }
    };
    const loop = Promise.all(Array.from({ length: 8 }, worker));
    await waitUntil('a third of the requests', async () => sent >= total / 3, 60_000);
    await cp.proc.kill9();
    await loop;
    await agent.close();
    expect(failures.slice(0, 5)).toEqual([]);
    expect(failed).toBe(0);
    expect(ok).toBe(total);
  });

  it('serves from the disk cache when a data plane restarts while the control plane is down', async () => {
    expect(cp.proc.alive).toBe(false);
    await dp2.proc.stop();
    dp2 = await startDp({
      cluster: `127.0.0.1:${clusterPort}`,
      publicKeys: cp.publicKeys,
      tls: cp.dpTlsArgs,
      dataDir: dp2.dataDir,
      workers: 1,
      proxyPort: dp2.proxyPort,
      statusPort: dp2.statusPort,
    });
    expect(await httpStatus(`${dp2.status}/status/ready`)).toBe(200);
    const r = await fetch(`${dp2.proxy}/echo/cached`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ url: '/base/cached' });
  });

  it('reconnects both data planes to a new control plane process and serves its changes', async () => {
    cp = await startCp({ dataDir: cpDir, adminPort, clusterPort });
    const route = await adminJson(cp.admin, 'POST', '/services/echo/routes', {
      name: 'after-restart',
      paths: ['/later'],
    });
    expect(route.status).toBe(201);
    for (const dp of [dp1, dp2]) {
      await waitUntil(
        `new route on ${dp.proxy}`,
        async () => (await httpStatus(`${dp.proxy}/later/y`)) === 200,
        60_000,
      );
    }
    await waitUntil('both data planes reported connected', async () => {
      const { json } = await adminJson(cp.admin, 'GET', '/clustering/data-planes');
      return (json.data as { connected?: boolean }[]).filter((d) => d.connected).length === 2;
    });
    // The old route still works too: nothing was lost across the restarts.
    expect(await httpStatus(`${dp1.proxy}/echo/again`)).toBe(200);
  });
});
