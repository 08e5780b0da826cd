/**
 * The store's `/tags` pages (paginated in the database) and `replaceAll` against a config read
 * before a concurrent write, on each database kind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kongErrorBody, SERVICE_DEFAULTS, type GatehouseConfig, type Service } from '@gatehouse/shared';
import { ConfigStore, encodeOffset, type TagRow } from '../../control-plane/src/store/index.js';
import { createTestDatabase, DB_KINDS, quietLogger, type TestDatabase } from '../helpers/db.js';

const TAGS = ['a', 'B', 'b', 'Z', 'ä', 'é', 'a_b', 'a-b', 'zz', '日本', '😀', 'A'];

describe.each(DB_KINDS)('store on %s', (kind) => {
  let tdb: TestDatabase;
  let store: ConfigStore;

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    store = new ConfigStore(tdb.db, { logger: quietLogger() });
  });
  afterAll(async () => {
    await tdb?.drop();
  });
  beforeEach(async () => {
    const { config } = await store.readConfig();
    const empty = Object.fromEntries(Object.keys(config).map((k) => [k, []])) as unknown as GatehouseConfig;
    await store.replaceAll(empty);
  });

  describe('tags', () => {
    beforeEach(async () => {
      for (let i = 0; i < TAGS.length; i++) {
        await store.entities.consumers.create({ username: `c${i}`, tags: TAGS.slice(i, i + 3) });
        await store.entities.upstreams.create({ name: `u${i}`, tags: TAGS.slice(0, i % 4) });
      }
    });

    const all = async (size: number, tag?: string) => {
      const rows: TagRow[] = [];
      let offset: string | undefined;
      for (let pages = 0; pages < 200; pages++) {
        const page = await store.tags({ size, offset, tag });
        expect(page.data.length).toBeLessThanOrEqual(size);
        rows.push(...page.data);
        if (page.offset === null) return rows;
        offset = page.offset;
      }
      throw new Error('pagination did not end');
    };

    it('pages through every tag in byte order, each row once, whatever the page size', async () => {
      const whole = await all(1000);
      const key = (r: TagRow) => Buffer.from(`${r.tag}\u0000${r.entity_name}\u0000${r.entity_id}`);
      const sorted = [...whole].sort((x, y) => Buffer.compare(key(x), key(y)));
      expect(whole).toEqual(sorted);
      expect(new Set(whole.map((r) => key(r).toString())).size).toBe(whole.length);
      for (const size of [1, 2, 3, 7]) expect(await all(size)).toEqual(whole);
    });

    it('pages through one tag', async () => {
      const whole = (await all(1000)).filter((r) => r.tag === 'ä');
      expect(whole.length).toBeGreaterThan(1);
      expect(await all(1, 'ä')).toEqual(whole);
    });

    it('answers a hostile offset with Kong invalid offset, or a page after it', async () => {
      const hostile = [
        '!!!',
        'e30',
        encodeOffset(''),
        encodeOffset('\u0000\u0000\u0000'),
        encodeOffset("'; DROP TABLE consumers; --"),
        encodeOffset('zz\u0000consumers'),
        encodeOffset('\uffff'),
        encodeOffset('😀'.repeat(1000)),
        Buffer.from('[1]').toString('base64url'),
        Buffer.from('{"a":1}').toString('base64url'),
      ];
      for (const offset of hostile) {
        try {
          const page = await store.tags({ size: 5, offset });
          expect(page.data.length).toBeLessThanOrEqual(5);
        } catch (e) {
          expect(kongErrorBody(e)?.name, offset).toBe('invalid offset');
        }
      }
      expect(await store.entities.consumers.list({ size: 1000 })).toMatchObject({ offset: null });
    });
  });

  describe('replaceAll', () => {
    const service = (id: string, name: string): Service => ({
      ...SERVICE_DEFAULTS,
      id,
      name,
      host: `${name}.internal`,
      created_at: 1,
      updated_at: 1,
    });

    it('diffs again inside its transaction when a write committed after the config it was given', async () => {
      const before = await store.readConfig();
      await store.entities.services.create({ name: 'written-meanwhile', host: 'x.internal' });
      const desired = {
        ...before.config,
        services: [service('00000000-0000-4000-8000-000000000001', 'imported')],
      };
      const result = await store.replaceAll(desired, { current: before });
      expect(result.changes.services.created.map((s) => s.name)).toEqual(['imported']);
      expect(result.changes.services.deleted.map((s) => s.name)).toEqual(['written-meanwhile']);
      const after = await store.readConfig();
      expect(after.config.services.map((s) => s.name)).toEqual(['imported']);
      expect(after.version).toBe(result.version);
    });

    it('does not bump the version when nothing changes', async () => {
      const current = await store.readConfig();
      const result = await store.replaceAll(current.config, { current });
      expect(result).toMatchObject({ version: null, changed: false });
      expect(await store.currentVersion()).toBe(current.version);
    });
  });
});
