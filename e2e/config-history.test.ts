/**
 * Config history end to end (issue 13): a real CP (embedded database) and a real DP. Route A is
 * created, then the configuration is replaced with route B; restoring the version that held A
 * publishes a new, higher version with the same hash as that version, and the DP serves A (and no
 * longer B) at that higher version.
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

interface VersionJson {
  version: number;
  hash: string;
  author: string;
  summary: string;
}

describe('config history: restore an old version through a real CP and DP', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let cp: CpHandle;
  let dp: DpHandle;

  const doc = (url: string, route: string) => ({
    _format_version: '3.0',
    services: [{ name: 'svc', url, routes: [{ name: route, paths: [`/${route}`] }] }],
  });

  const versions = async (): Promise<VersionJson[]> =>
    (await adminJson(cp.admin, 'GET', '/config/versions')).json.data as VersionJson[];

  const dpRow = async () => {
    const rows = (await adminJson(cp.admin, 'GET', '/clustering/data-planes')).json.data as {
      config_version: number;
      config_hash: string;
    }[];
    return rows[0];
  };

  beforeAll(async () => {
    upstream = await startUpstream();
    cp = await startCp({ dataDir: tempDir('gh-history-cp-') });
    dp = await startDp({
      cluster: `127.0.0.1:${cp.clusterPort}`,
      publicKeys: cp.publicKeys,
      dataDir: tempDir('gh-history-dp-'),
    });
  }, 180_000);

  afterAll(async () => {
    await dp?.proc.stop();
    await cp?.proc.stop();
    await upstream?.close();
  });

  it('restores route A after it was replaced by route B: the DP serves A at a higher version', async () => {
    const first = await adminJson(cp.admin, 'POST', '/config', doc(upstream.url, 'a'));
    expect(first.status).toBe(201);
    await waitUntil('the DP serves /a', async () => (await httpStatus(`${dp.proxy}/a`)) === 200, 60_000);
    let withA: VersionJson | undefined;
    await waitUntil('the version with route A is in the history', async () => {
      withA = (await versions()).find((v) => v.summary.includes('routes: +1'));
      return withA !== undefined;
    });

    const second = await adminJson(cp.admin, 'POST', '/config', doc(upstream.url, 'b'));
    expect(second.status).toBe(201);
    await waitUntil(
      'the DP serves /b and not /a',
      async () => {
        const [a, b] = await Promise.all([httpStatus(`${dp.proxy}/a`), httpStatus(`${dp.proxy}/b`)]);
        return a === 404 && b === 200;
      },
      60_000,
    );
    let withB: VersionJson | undefined;
    await waitUntil('the version with route B is in the history', async () => {
      withB = (await versions()).find((v) => v.version > withA!.version);
      return withB !== undefined;
    });
    expect(withB!.summary).toContain('routes: +1 ~0 -1');

    // The diff names the route that goes and the one that comes back.
    const diff = await adminJson(
      cp.admin,
      'GET',
      `/config/versions/${withB!.version}/diff/${withA!.version}`,
    );
    expect(diff.status).toBe(200);
    expect(diff.json.changes.routes.added.map((r: { name: string }) => r.name)).toEqual(['a']);
    expect(diff.json.changes.routes.removed.map((r: { name: string }) => r.name)).toEqual(['b']);

    const restored = await adminJson(cp.admin, 'POST', `/config/versions/${withA!.version}/restore`);
    expect(restored.status).toBe(201);
    expect(restored.json.version).toBeGreaterThan(withB!.version);
    expect(restored.json.restored_from).toBe(withA!.version);

    await waitUntil(
      'the DP serves /a again and not /b',
      async () => {
        const [a, b] = await Promise.all([httpStatus(`${dp.proxy}/a`), httpStatus(`${dp.proxy}/b`)]);
        return a === 200 && b === 404;
      },
      60_000,
    );
    await waitUntil(
      'the DP holds the restored version with version A’s hash',
      async () => {
        const row = await dpRow();
        return row?.config_version === restored.json.version && row?.config_hash === withA!.hash;
      },
      60_000,
    );

    // The restore is itself a version of the history, newest, saying what it was.
    await waitUntil('the restore is in the history', async () => {
      const newest = (await versions())[0];
      return newest?.version === restored.json.version;
    });
    const newest = (await versions())[0]!;
    expect(newest.hash).toBe(withA!.hash);
    expect(newest.summary).toMatch(new RegExp(`^restore of version ${withA!.version}: `));
    expect(newest.author).toBe('anonymous');
  }, 240_000);
});
