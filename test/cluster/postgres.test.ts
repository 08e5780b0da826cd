import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySnapshot } from '@gatehouse/shared';
import {
  addService,
  eventually,
  getJson,
  openPostgresDatabase,
  startTestCluster,
  TestDataPlane,
  toSigned,
  type TestCluster,
  type TestDatabase,
} from './harness.js';

let tdb: TestDatabase;
let cluster: TestCluster;

beforeAll(async () => {
  tdb = await openPostgresDatabase();
  cluster = await startTestCluster(tdb.db);
});
afterAll(async () => {
  await cluster?.stop();
  await tdb?.close();
});

describe('cluster sync over gRPC (real Postgres)', () => {
  it('pushes a write to a connected DP, records its Ack, and serves it on /clustering/data-planes', async () => {
    const d = new TestDataPlane(cluster.server.address);
    try {
      d.hello({ nodeId: 'dp-pg' });
      const first = await d.next('snapshot');
      d.ack(first);
      await addService(cluster.store, 'pg-svc');
      const pushed = await d.next('snapshot');
      const v = await verifySnapshot(toSigned(pushed), cluster.trusted, { currentVersion: first.version });
      expect(v.config.services.map((s) => s.name)).toEqual(['pg-svc']);
      d.ack(pushed);
      await eventually(async () => (await cluster.registry.get('dp-pg'))?.config_hash === pushed.hash);
      const { body } = await getJson<{ data: { id: string; sync_status: string; config_version: number }[] }>(
        `${cluster.adminUrl}/clustering/data-planes`,
      );
      expect(body.data).toEqual([
        expect.objectContaining({
          id: 'dp-pg',
          sync_status: 'normal',
          config_version: Number(pushed.version),
        }),
      ]);
    } finally {
      d.close();
    }
  });
});
