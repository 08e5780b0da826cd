/**
 * A custom plugin (examples/plugins/stamp) loaded with --plugins-dir: the CP validates its config
 * at write time, a DP that has it runs it, a DP without it is reported and keeps serving.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  ROOT,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

const PLUGINS = ['--plugins-dir', join(ROOT, 'examples', 'plugins')];

describe('custom plugins across the cluster', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let withPlugin: DpHandle;
  let without: DpHandle;

  beforeAll(async () => {
    upstream = await startUpstream();
    cp = await startCp({ dataDir: tempDir('cp-custom'), args: PLUGINS });
    const cluster = `127.0.0.1:${cp.clusterPort}`;
    [withPlugin, without] = await Promise.all([
      startDp({
        cluster,
        publicKeys: cp.publicKeys,
        tls: cp.dpTlsArgs,
        dataDir: tempDir('dp-with'),
        workers: 1,
        args: PLUGINS,
        nodeId: 'dp-with',
      }),
      startDp({
        cluster,
        publicKeys: cp.publicKeys,
        tls: cp.dpTlsArgs,
        dataDir: tempDir('dp-without'),
        workers: 1,
        nodeId: 'dp-without',
      }),
    ]);
    expect((await adminJson(cp.admin, 'POST', '/services', { name: 's', url: upstream.url })).status).toBe(
      201,
    );
    expect(
      (await adminJson(cp.admin, 'POST', '/services/s/routes', { name: 'r', paths: ['/r'] })).status,
    ).toBe(201);
    for (const dp of [withPlugin, without]) {
      await waitUntil(`route on ${dp.proxy}`, async () => (await fetch(`${dp.proxy}/r`)).status === 200);
    }
  });

  afterAll(async () => {
    await Promise.all([cp?.proc.stop(), withPlugin?.proc.stop(), without?.proc.stop()]);
    await upstream?.close();
  });

  it('lists the custom plugin as available and refuses a config its schema rejects, naming the field', async () => {
    const info = await adminJson(cp.admin, 'GET', '/');
    expect(info.json.plugins.available_on_server.stamp).toMatchObject({ version: '1.0.0' });
    const bad = await adminJson(cp.admin, 'POST', '/routes/r/plugins', {
      name: 'stamp',
      config: { value: '' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.fields.config.value).toBeTruthy();
  });

  it('runs it on the data plane that has it and reports the one that lacks it, which keeps serving', async () => {
    const created = await adminJson(cp.admin, 'POST', '/routes/r/plugins', {
      name: 'stamp',
      config: { value: 'blue' },
    });
    expect(created.status).toBe(201);
    expect(created.json.config).toMatchObject({ header_name: 'X-Stamp', value: 'blue', on_response: true });
    expect(created.json.incompatible_data_planes).toEqual([
      expect.objectContaining({ id: 'dp-without', sync_status: 'plugin_set_incompatible' }),
    ]);

    await waitUntil(
      'stamp applied',
      async () => (await fetch(`${withPlugin.proxy}/r`)).headers.get('x-stamp') === 'blue',
    );
    await waitUntil('refusal recorded', async () => {
      const { json } = await adminJson(cp.admin, 'GET', '/clustering/data-planes');
      const dp = (json.data as { id: string; sync_status: string }[]).find((d) => d.id === 'dp-without');
      return dp?.sync_status === 'plugin_set_incompatible';
    });
    const r = await fetch(`${without.proxy}/r`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-stamp')).toBeNull();
  });
});
