/**
 * Several control-plane replicas over one Postgres append to one audit chain: two ConfigStores,
 * each with its own connection pool (as two CP processes have), write concurrently; the chain
 * never forks (every row links to the one before it) and every write has its entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../control-plane/src/audit/chain.js';
import { cliAuditSource, withAuditSource } from '../../control-plane/src/audit/source.js';
import { openDatabase, type Database } from '../../control-plane/src/db/index.js';
import { ConfigStore } from '../../control-plane/src/store/index.js';
import { createTestDatabase, quietLogger, type TestDatabase } from '../helpers/db.js';

describe('audit chain with two replicas on one Postgres', () => {
  let tdb: TestDatabase;
  let second: Database;
  beforeAll(async () => {
    tdb = await createTestDatabase('postgres');
    second = await openDatabase({
      databaseUrl: tdb.databaseUrl!,
      dataDir: tdb.dataDir,
      logger: quietLogger(),
    });
  }, 60_000);
  afterAll(async () => {
    await second?.close();
    await tdb?.drop();
  });

  it('never forks the chain under concurrent writes from both replicas', async () => {
    const a = new ConfigStore(tdb.db, { logger: quietLogger() });
    const b = new ConfigStore(second, { logger: quietLogger() });
    const writes = Array.from({ length: 24 }, (_, i) => {
      const store = i % 2 === 0 ? a : b;
      const source = cliAuditSource(`replica-${i % 2}`);
      return withAuditSource(source, () =>
        store.services.create({ name: `svc-${i}`, url: `http://s${i}.internal` }),
      ).then(() => source.requestId);
    });
    const ids = await Promise.all(writes);
    const report = await verifyChain(tdb.db.prisma, 'audit_objects');
    expect(report.broken).toBeNull();
    expect(report.rows).toBe(24);
    const rows = await tdb.db.prisma.auditObject.findMany({ orderBy: { seq: 'asc' } });
    expect(new Set(rows.map((r) => r.request_id))).toEqual(new Set(ids));
    expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(rows.length);
    expect(rows.filter((r) => r.rbac_user_name === 'replica-1')).toHaveLength(12);
  }, 60_000);

  it('records a write made outside any request as `system`', async () => {
    const store = new ConfigStore(tdb.db, { logger: quietLogger() });
    const svc = await store.services.create({ name: 'by-system', url: 'http://sys.internal' });
    const row = await tdb.db.prisma.auditObject.findFirst({
      where: { entity_key: (svc as { id: string }).id },
    });
    expect(row).toMatchObject({ rbac_user_name: 'system', client_ip: null, operation: 'create' });
  });

  it('writes nothing to the audit log when the write fails, and no change without its entry', async () => {
    const store = new ConfigStore(tdb.db, { logger: quietLogger() });
    const before = await tdb.db.prisma.auditObject.count();
    await expect(store.services.create({ name: 'by-system', url: 'http://dup.internal' })).rejects.toThrow();
    expect(await tdb.db.prisma.auditObject.count()).toBe(before);
    const services = await tdb.db.prisma.service.count();
    const creates = await tdb.db.prisma.auditObject.count({
      where: { dao_name: 'services', operation: 'create' },
    });
    expect(creates).toBe(services);
  });
});
