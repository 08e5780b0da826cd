/**
 * Regions and slices end to end (issue 12): one CP and two DPs, `--region eu --label tier=gold`
 * and `--region us`. A route scoped to eu is served by the eu DP and 404 on the us DP; a change
 * to an eu-only entity changes the eu DP's config hash and leaves the us DP's alone; an unscoped
 * change reaches both; `/clustering/data-planes` filters by region, label and sync status, and
 * refuses bad filters with a 400; a bad scope tag is refused by the Admin API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminJson,
  httpStatus,
  startCp,
  startDp,
  startUpstream,
  tempDir,
  waitUntil,
  type CpHandle,
  type DpHandle,
} from './helpers/processes.js';

interface Row {
  id: string;
  region: string | null;
  labels: Record<string, string>;
  config_hash: string;
  sync_status: string;
}

describe('regions and slices: a CP and an eu and a us DP', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let eu: DpHandle;
  let us: DpHandle;

  const rows = async (query = ''): Promise<Row[]> => {
    const r = await adminJson(cp.admin, 'GET', `/clustering/data-planes${query}`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return r.json.data as Row[];
  };
  const hashOf = async (id: string) => (await rows()).find((r) => r.id === id)?.config_hash;
  const served = async (dp: DpHandle, path: string) => httpStatus(`${dp.proxy}${path}`);

  beforeAll(async () => {
    upstream = await startUpstream();
    cp = await startCp({ dataDir: tempDir('slices-cp') });
    const post = async (path: string, body: unknown) => {
      const r = await adminJson(cp.admin, 'POST', path, body);
      expect(r.status, JSON.stringify(r.json)).toBe(201);
    };
    await post('/services', { name: 'svc', url: upstream.url });
    await post('/services/svc/routes', { name: 'everywhere', paths: ['/all'] });
    await post('/services/svc/routes', { name: 'eu-only', paths: ['/eu'], tags: ['gatehouse:region=eu'] });
    await post('/services/svc/routes', {
      name: 'gold-only',
      paths: ['/gold'],
      tags: ['team-a', 'gatehouse:label=tier=gold'],
    });
    const dp = (region: string, args: string[]) =>
      startDp({
        cluster: `127.0.0.1:${cp.clusterPort}`,
        publicKeys: cp.publicKeys,
        dataDir: tempDir(`slices-dp-${region}`),
        workers: 1,
        nodeId: `dp-${region}`,
        args: ['--region', region, ...args],
      });
    [eu, us] = await Promise.all([dp('eu', ['--label', 'tier=gold', '--label', 'zone=a']), dp('us', [])]);
    await waitUntil('both DPs serve the unscoped route', async () =>
      (await Promise.all([served(eu, '/all'), served(us, '/all')])).every((s) => s === 200),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all([eu?.proc.stop(), us?.proc.stop()]);
    await cp?.proc.stop();
    await upstream?.close();
  });

  it('serves a route scoped to eu on the eu DP and 404 on the us DP', async () => {
    expect(await served(eu, '/eu')).toBe(200);
    expect(await served(us, '/eu')).toBe(404);
    expect(await served(eu, '/gold')).toBe(200);
    expect(await served(us, '/gold')).toBe(404);
  });

  it("records each DP's region and labels, and their hashes differ (each holds its slice)", async () => {
    await waitUntil(
      'both DPs acked',
      async () => (await rows()).filter((r) => r.sync_status === 'normal').length === 2,
    );
    const all = await rows();
    expect(all.find((r) => r.id === 'dp-eu')).toMatchObject({
      region: 'eu',
      labels: { tier: 'gold', zone: 'a' },
    });
    expect(all.find((r) => r.id === 'dp-us')).toMatchObject({ region: 'us', labels: {} });
    expect(await hashOf('dp-eu')).not.toBe(await hashOf('dp-us'));
  });

  it("a change to an eu-only entity changes the eu DP's hash, not the us DP's", async () => {
    const euBefore = await hashOf('dp-eu');
    const usBefore = await hashOf('dp-us');
    const r = await adminJson(cp.admin, 'PATCH', '/routes/eu-only', { paths: ['/eu', '/eu2'] });
    expect(r.status).toBe(200);
    await waitUntil('the eu DP serves the new path', async () => (await served(eu, '/eu2')) === 200);
    await waitUntil(
      'the CP records the eu DP on its new hash',
      async () => (await hashOf('dp-eu')) !== euBefore,
    );
    expect(await served(us, '/eu2')).toBe(404);
    expect(await hashOf('dp-us')).toBe(usBefore);
    // An unscoped change reaches both.
    const u = await adminJson(cp.admin, 'POST', '/services/svc/routes', { name: 'new', paths: ['/new'] });
    expect(u.status).toBe(201);
    await waitUntil('both DPs serve the new unscoped route', async () =>
      (await Promise.all([served(eu, '/new'), served(us, '/new')])).every((s) => s === 200),
    );
    await waitUntil('the us DP moved to a new hash', async () => (await hashOf('dp-us')) !== usBefore);
  });

  it('filters /clustering/data-planes by region, label and sync status', async () => {
    expect((await rows('?region=eu')).map((r) => r.id)).toEqual(['dp-eu']);
    expect((await rows('?region=ap')).map((r) => r.id)).toEqual([]);
    expect((await rows('?label=tier=gold')).map((r) => r.id)).toEqual(['dp-eu']);
    expect((await rows('?label=tier=gold&label=zone=b')).map((r) => r.id)).toEqual([]);
    expect((await rows('?label=tier=gold&label=zone=a&region=eu')).map((r) => r.id)).toEqual(['dp-eu']);
    await waitUntil('both DPs in sync', async () => (await rows('?sync_status=normal')).length === 2);
    expect((await rows('?sync_status=plugin_set_incompatible')).length).toBe(0);
    const page = await adminJson(cp.admin, 'GET', '/clustering/data-planes?size=1&region=eu');
    expect(page.json.next).toBeNull();
    const first = await adminJson(cp.admin, 'GET', '/clustering/data-planes?size=1&sync_status=normal');
    expect(first.json.next).toContain('sync_status=normal');
    for (const [query, field] of [
      ['?region=e%2Fu', 'region'],
      ['?region=', 'region'],
      ['?label=tier', 'label'],
      ['?label=a=1&label=a=2', 'label'],
      ['?sync_status=bogus', 'sync_status'],
      ['?region=eu&region=us', 'region'],
    ] as const) {
      const r = await adminJson(cp.admin, 'GET', `/clustering/data-planes${query}`);
      expect(r.status, query).toBe(400);
      expect(r.json).toMatchObject({ name: 'schema violation', code: 2 });
      expect(Object.keys(r.json.fields), query).toEqual([field]);
    }
  });

  it('refuses a reserved tag that is not a valid scope tag', async () => {
    const r = await adminJson(cp.admin, 'POST', '/services/svc/routes', {
      paths: ['/typo'],
      tags: ['gatehouse:regoin=eu'],
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toContain('invalid scope tag');
  });
});
