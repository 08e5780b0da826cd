/**
 * Version and plugin compatibility with real processes: a control plane (`gatehouse cp --dev`)
 * and data planes started through the test launcher (e2e/helpers/dp-launcher.mjs) so they can
 * announce an overridden software version or plugin list. Each DP first syncs normally, then is
 * restarted (same data folder: it serves its verified cache) announcing the odd version or
 * plugins. `/clustering/data-planes` must show Kong's sync_status and reason, and every DP keeps
 * serving the config it had.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  freePort,
  httpStatus,
  Proc,
  ROOT,
  startCp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
} from './helpers/processes.js';

interface LaunchedDp {
  proc: Proc;
  proxy: string;
  status: string;
  nodeId: string;
}

/** The parts of a DP's /status these tests read. */
interface DpStatus {
  sync: { state: string; refusal: { syncStatus: string } | null };
  config: { source: string };
}

describe('version and plugin compatibility (real CP and DPs)', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  const dps: LaunchedDp[] = [];

  const launch = async (
    nodeId: string,
    dataDir: string,
    extra: { softwareVersion?: string; plugins?: { name: string; version: string }[] } = {},
    proxyPort?: number,
  ): Promise<LaunchedDp> => {
    const opts = {
      controlPlane: `127.0.0.1:${cp.clusterPort}`,
      clusterTls: cp.dpTls,
      trustedKeyFiles: [cp.publicKeys],
      dataDir,
      nodeId,
      workers: 1,
      proxyPort: proxyPort ?? (await freePort()),
      statusPort: await freePort(),
      sync: { refusalDelayMs: 1_000 },
      ...extra,
    };
    const child = spawn(process.execPath, [join(ROOT, 'e2e/helpers/dp-launcher.mjs'), JSON.stringify(opts)], {
      cwd: ROOT,
      env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const dp = {
      proc: new Proc(nodeId, child),
      proxy: `http://127.0.0.1:${opts.proxyPort}`,
      status: `http://127.0.0.1:${opts.statusPort}`,
      nodeId,
    };
    dps.push(dp);
    await waitUntil(`${nodeId} status server`, async () => {
      if (!dp.proc.alive) throw new Error(`${nodeId} exited:\n${dp.proc.output}`);
      return (await httpStatus(`${dp.status}/status`)) === 200;
    });
    return dp;
  };

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- /clustering/data-planes items
  const record = async (id: string): Promise<any> => {
    const r = await adminJson(cp.admin, 'GET', '/clustering/data-planes');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return r.json.data.find((d: any) => d.id === id);
  };
  const cpHash = async (): Promise<string> => {
    const r = await adminJson(cp.admin, 'GET', '/clustering/status');
    return String(r.json.control_plane.config_hash);
  };
  /** Starts a DP normally until it serves `/one`, then restarts it with `extra` on the same folder. */
  const syncedThenRestarted = async (
    nodeId: string,
    extra: { softwareVersion?: string; plugins?: { name: string; version: string }[] },
  ) => {
    const dataDir = tempDir(nodeId);
    const first = await launch(nodeId, dataDir);
    await waitUntil(`${nodeId} serves /one`, async () => (await httpStatus(`${first.proxy}/one`)) === 200);
    await waitUntil(`${nodeId} acked`, async () => (await record(nodeId))?.sync_status === 'normal');
    await first.proc.stop();
    return launch(nodeId, dataDir, extra, Number(new URL(first.proxy).port));
  };

  beforeAll(async () => {
    upstream = await startUpstream();
    cp = await startCp({ dataDir: tempDir('cp-compat') });
    expect(
      (await adminJson(cp.admin, 'POST', '/services', { name: 'echo', url: `${upstream.url}/base` })).status,
    ).toBe(201);
    expect(
      (await adminJson(cp.admin, 'POST', '/services/echo/routes', { name: 'one', paths: ['/one'] })).status,
    ).toBe(201);
  });

  afterAll(async () => {
    await Promise.all(dps.map((d) => d.proc.stop()));
    await cp?.proc.stop();
    await upstream?.close();
  });

  it('refuses DPs with a newer minor or another major (kong_version_incompatible); they keep serving their cached config', async () => {
    const newer = await syncedThenRestarted('dp-newer-minor', { softwareVersion: '0.99.0' });
    const major = await syncedThenRestarted('dp-other-major', { softwareVersion: '1.0.0' });
    const older = await syncedThenRestarted('dp-older-minor', { softwareVersion: '0.0.9' });

    for (const dp of [newer, major]) {
      await waitUntil(
        `${dp.nodeId} refused`,
        async () => (await record(dp.nodeId))?.sync_status === 'kong_version_incompatible',
      );
      const rec = await record(dp.nodeId);
      expect(rec).toMatchObject({ connected: false, sync_status: 'kong_version_incompatible' });
      expect(rec.last_nack_reason).toMatch(/data plane/);
      expect(await httpStatus(`${dp.proxy}/one`)).toBe(200);
      const s = (await (await fetch(`${dp.status}/status`)).json()) as DpStatus;
      expect(s.sync.refusal).toMatchObject({ syncStatus: 'kong_version_incompatible' });
      expect(s.config.source).toBe('cache');
    }
    expect((await record('dp-newer-minor')).version).toBe('0.99.0');

    // An older minor is accepted: it syncs and takes the next change.
    await waitUntil('older DP connected', async () => (await record('dp-older-minor'))?.connected === true);
    expect(
      (await adminJson(cp.admin, 'POST', '/services/echo/routes', { name: 'two', paths: ['/two'] })).status,
    ).toBe(201);
    await waitUntil('older DP serves /two', async () => (await httpStatus(`${older.proxy}/two`)) === 200);
    await waitUntil('older DP normal', async () => {
      const r = await record('dp-older-minor');
      return r?.sync_status === 'normal' && r.config_hash === (await cpHash());
    });
    // The refused ones stay on what they had.
    expect(await httpStatus(`${newer.proxy}/two`)).toBe(404);
    expect(await httpStatus(`${newer.proxy}/one`)).toBe(200);
  });

  it('holds back a config using a plugin a DP lacks (plugin_set_incompatible), keeps it connected and serving, and syncs it once the plugin is gone', async () => {
    const lacking = await syncedThenRestarted('dp-no-plugins', { plugins: [] });
    await waitUntil(
      'DP without plugins connected',
      async () => (await record('dp-no-plugins'))?.connected === true,
    );
    const before = (await record('dp-no-plugins')).config_hash;

    const route = await adminJson(cp.admin, 'POST', '/services/echo/routes', {
      name: 'three',
      paths: ['/three'],
    });
    expect(route.status).toBe(201);
    const plugin = await adminJson(cp.admin, 'POST', '/plugins', {
      name: 'ip-restriction',
      route: { id: route.json.id },
      config: { allow: ['0.0.0.0/0'] },
    });
    expect(plugin.status, JSON.stringify(plugin.json)).toBe(201);
    // The Admin API ran the fleet check and lists the DP that cannot take it.
    expect(plugin.json.incompatible_data_planes).toEqual([
      expect.objectContaining({ id: 'dp-no-plugins', sync_status: 'plugin_set_incompatible' }),
    ]);

    await waitUntil(
      'plugin_set_incompatible recorded',
      async () => (await record('dp-no-plugins'))?.sync_status === 'plugin_set_incompatible',
    );
    const rec = await record('dp-no-plugins');
    expect(rec).toMatchObject({ connected: true, config_hash: before });
    expect(rec.last_nack_reason).toMatch(/configured ip-restriction plugin .*is missing from data plane/);
    const s = (await (await fetch(`${lacking.status}/status`)).json()) as DpStatus;
    expect(s.sync).toMatchObject({ state: 'connected', refusal: { syncStatus: 'plugin_set_incompatible' } });
    expect(await httpStatus(`${lacking.proxy}/one`)).toBe(200);
    expect(await httpStatus(`${lacking.proxy}/three`)).toBe(404);

    expect((await adminJson(cp.admin, 'DELETE', `/plugins/${plugin.json.id}`)).status).toBe(204);
    await waitUntil(
      'the DP takes the plugin-free config',
      async () => (await httpStatus(`${lacking.proxy}/three`)) === 200,
    );
    await waitUntil('normal again', async () => {
      const r = await record('dp-no-plugins');
      return r?.sync_status === 'normal' && r.last_nack_reason === null;
    });
  });
});
