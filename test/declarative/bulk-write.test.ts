/**
 * The batched import writes (store/bulk-write.ts: one jsonb parameter per chunk of rows) leave
 * exactly the rows that Prisma's per-row create/update/delete leave — the import's write path
 * before batching, kept here as the oracle. Two databases per kind receive the same changes, one
 * through `replaceAll` (batched), one through the oracle; every table is then compared row by row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTITIES, ENTITY_KINDS, parseDeclarative, toConfig, type GatehouseConfig } from '@gatehouse/shared';
import { carryStoredValues } from '../../control-plane/src/declarative/index.js';
import type { ConfigChanges, EntityChanges } from '../../control-plane/src/store/index.js';
import { BULK_CHUNK_ROWS } from '../../control-plane/src/store/bulk-write.js';
import { columnsOf, delegate, type Row } from '../../control-plane/src/store/generic-rows.js';
import { diffConfigs, readAll } from '../../control-plane/src/store/replace.js';
import { DB_KINDS } from '../helpers/db.js';
import { corpusFiles, openStore, readCorpus, type StoreFixture } from './helpers.js';

/** Timestamps the resolver gives entities without their own (far before any test run). */
const FIXED_NOW = 1_700_000_000;
/** A timestamp from here on was set by a write itself (`now`), which differs between the two writers. */
const WRITES_START = new Date(Date.now() - 1000);

type Entity = Record<string, unknown> & { id: string };

/** The import's writes before batching: one Prisma call per row. */
async function perRowWrite(fx: StoreFixture, config: GatehouseConfig): Promise<void> {
  await fx.store.write(async (tx) => {
    const all = diffConfigs(await readAll(tx), config).changes as unknown as Record<string, EntityChanges>;
    for (const key of [...ENTITY_KINDS].reverse()) {
      const ids = all[key]!.deleted.map((e) => e.id);
      if (ids.length) await delegate(tx, key).deleteMany({ where: { id: { in: ids } } });
    }
    const now = new Date();
    const toDate = (s: unknown) => (typeof s === 'number' && s > 0 ? new Date(s * 1000) : now);
    for (const key of ENTITY_KINDS) {
      const def = ENTITIES[key];
      const d = delegate(tx, key);
      for (const { after } of all[key]!.updated as { after: Entity }[]) {
        const data = columnsOf(def, after);
        if (def.hasUpdatedAt) data.updated_at = now;
        await d.update({ where: { id: after.id }, data });
      }
      for (const e of all[key]!.created as Entity[]) {
        const data: Row = { ...columnsOf(def, e), id: e.id, created_at: toDate(e.created_at) };
        if (def.hasUpdatedAt) data.updated_at = toDate(e.updated_at);
        await d.create({ data });
      }
    }
  });
}

/** Every row of every entity table as Prisma reads it; a timestamp set by a write itself reads as 'now'. */
async function tables(fx: StoreFixture): Promise<Record<string, Row[]>> {
  const out: Record<string, Row[]> = {};
  for (const key of ENTITY_KINDS) {
    const rows = await delegate(fx.db.db.prisma, key).findMany({ orderBy: { id: 'asc' } });
    out[key] = rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, v instanceof Date && v >= WRITES_START ? 'now' : v]),
      ),
    );
  }
  return out;
}

/** Resolves `text` against what `fx` holds (as an import does) and applies it to both databases. */
async function importBoth(batched: StoreFixture, perRow: StoreFixture, text: string) {
  const resolved = toConfig(parseDeclarative(text), { plugins: batched.plugins, now: FIXED_NOW });
  const desired = carryStoredValues((await batched.store.readConfig()).config, resolved);
  const result = await batched.store.replaceAll(desired);
  await perRowWrite(perRow, desired);
  expect(await tables(batched)).toEqual(await tables(perRow));
  return result.changes;
}

const count = (changes: ConfigChanges, kind: keyof ConfigChanges) => {
  const c = changes[kind] as EntityChanges<unknown>;
  return { created: c.created.length, updated: c.updated.length, deleted: c.deleted.length };
};

/** `n` services with a route each and `n` consumers with a key-auth credential each. */
function manyEntities(n: number, tag: string): string {
  const services = [];
  const consumers = [];
  for (let i = 0; i < n; i++) {
    services.push({
      name: `svc-${i}`,
      url: `http://backend-${i % 7}.internal:8080/v1`,
      tags: [tag],
      routes: [{ name: `route-${i}`, paths: [`/svc-${i}`], headers: { 'x-n': [`${i}`] }, tags: [tag] }],
    });
    consumers.push({ username: `user-${i}`, tags: [tag], keyauth_credentials: [{ key: `key-${i}` }] });
  }
  return JSON.stringify({ _format_version: '3.0', services, consumers });
}

describe.each(DB_KINDS)('batched import writes on %s', (kind) => {
  let batched: StoreFixture;
  let perRow: StoreFixture;
  beforeAll(async () => {
    [batched, perRow] = await Promise.all([openStore(kind), openStore(kind)]);
  });
  afterAll(async () => {
    await Promise.all([batched?.db.drop(), perRow?.db.drop()]);
  });

  // Each file replaces the previous one's entities: creates, updates and deletes of every kind.
  it('leave the rows per-row Prisma writes leave, through every corpus file', async () => {
    for (const file of corpusFiles()) await importBoth(batched, perRow, readCorpus(file));
    await importBoth(batched, perRow, '_format_version: "3.0"\n');
  });

  it('write, update and delete more rows than one chunk', { timeout: 180_000 }, async () => {
    const n = BULK_CHUNK_ROWS + 1;
    const created = await importBoth(batched, perRow, manyEntities(n, 'first'));
    expect(count(created, 'keyauth_credentials')).toEqual({ created: n, updated: 0, deleted: 0 });
    expect(count(created, 'routes')).toEqual({ created: n, updated: 0, deleted: 0 });

    const updated = await importBoth(batched, perRow, manyEntities(n, 'second'));
    expect(count(updated, 'services')).toEqual({ created: 0, updated: n, deleted: 0 });
    expect(count(updated, 'routes')).toEqual({ created: 0, updated: n, deleted: 0 });
    expect(count(updated, 'consumers')).toEqual({ created: 0, updated: n, deleted: 0 });

    const deleted = await importBoth(batched, perRow, manyEntities(1, 'second'));
    expect(count(deleted, 'routes')).toEqual({ created: 0, updated: 0, deleted: n - 1 });
    expect(count(deleted, 'keyauth_credentials')).toEqual({ created: 0, updated: 0, deleted: n - 1 });
    const { config } = await batched.store.readConfig();
    expect(config.routes.map((r) => r.name)).toEqual(['route-0']);
  });
});
