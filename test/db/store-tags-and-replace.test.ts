/**
 * The store's `/tags` pages (paginated in the database) and `replaceAll` against a config read
 * before a concurrent write, on each database kind.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kongErrorBody, SERVICE_DEFAULTS, type GatehouseConfig, type Service } from '@gatehouse/shared';
import { ConfigStore, decodeOffset, encodeOffset, type TagRow } from '../../control-plane/src/store/index.js';
import { createTestDatabase, DB_KINDS, quietLogger, type TestDatabase } from '../helpers/db.js';

/** The store's cursor separator (tag \0 entity kind \0 id). */
const SEP = '\u0000';

/** Row order of `/tags`: tag, then entity kind, then id, each in byte order. */
function compareRow(row: TagRow, cursor: readonly [string, string, string]): number {
  const fields = [row.tag, row.entity_name, row.entity_id];
  for (let i = 0; i < 3; i++) {
    const c = Buffer.compare(Buffer.from(fields[i]!), Buffer.from(cursor[i]!));
    if (c !== 0) return c;
  }
  return 0;
}

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

    it('answers a hostile offset with Kong invalid offset, or the page after its cursor', async () => {
      const whole = await all(1000);
      const text = fc.string({ unit: 'binary', maxLength: 30 });
      const near = fc.constantFrom(...TAGS, 'consumers', 'upstreams', '', '\uffff', '😀'.repeat(1000));
      // Cursors built as the store builds them (tag \0 kind \0 id), with hostile parts and extra parts.
      const cursor = fc
        .array(fc.oneof(near, text), { minLength: 0, maxLength: 4 })
        .map((parts) => parts.join(SEP));
      // The cursors of real rows, whole or cut short anywhere.
      const real = fc.tuple(fc.constantFrom(...whole), fc.nat()).map(([r, cut]) => {
        const full = `${r.tag}${SEP}${r.entity_name}${SEP}${r.entity_id}`;
        return cut % 2 === 0 ? full : full.slice(0, cut % full.length);
      });
      const offset = fc.oneof(
        real.map(encodeOffset),
        cursor.map(encodeOffset),
        text,
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64url')),
      );
      await fc.assert(
        fc.asyncProperty(offset, fc.integer({ min: 1, max: 6 }), async (token, size) => {
          let after: string[] = [];
          try {
            // An empty offset is Kong's "bad json encoding" (spec 14-tags, 03-db "offset=").
            if (token === '') throw new Error('empty offset');
            after = decodeOffset(token).split(SEP);
          } catch {
            await expect(store.tags({ size, offset: token })).rejects.toSatisfy(
              (err) => kongErrorBody(err)?.name === 'invalid offset',
            );
            return;
          }
          const [tag = '', name = '', id = ''] = after;
          const rest = token === '' ? whole : whole.filter((r) => compareRow(r, [tag, name, id]) > 0);
          const page = await store.tags({ size, offset: token });
          expect(page.data).toEqual(rest.slice(0, size));
          expect(page.offset !== null).toBe(rest.length > size);
        }),
        { numRuns: 60 },
      );
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
