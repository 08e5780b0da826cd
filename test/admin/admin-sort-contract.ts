/**
 * `?sort_by=<field>&sort_desc=<boolean>` on the Admin API's lists (issue 9; Kong Enterprise's list
 * arguments, sent by Kong Manager's `useFetchUrlBuilder`): sorted in the database, paged by a
 * keyset offset carrying the sort value and id, so paging returns every row once with ties and
 * NULLs; combined with tags, field filters, nested and member lists; bad arguments are Kong's 400
 * invalid options. Run against each database kind (admin-sort-pglite.test.ts /
 * admin-sort-postgres.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTITY_RECORDS, type EntityRecord } from '@gatehouse/shared';
import { sortFields, type SortField } from '../../control-plane/src/store/index.js';
import { prismaModels } from '../../control-plane/src/store/prisma-models.test-support.js';
import type { DbKind } from '../helpers/db.js';
import { useAdminServer, type Json } from './contract-server.js';

/** Inputs per property and database kind. */
const FUZZ_RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 25);

/** An offset token as the store writes them: base64url of a JSON array. */
const token = (cursor: unknown) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
const UUID = '5f9c1a1e-3b8f-4a0e-9d52-0c0b1a2b3c4d';

/** A value of the field's kind, as a sorted offset carries it. */
const SAMPLE: Record<SortField['kind'], unknown> = {
  string: 'm',
  uuid: UUID,
  integer: 7,
  number: 7.5,
  boolean: true,
  timestamp: '2026-01-02T03:04:05.678Z',
};

/** The column of each entity field that may hold NULL (schema.prisma's `?`). */
const NULLABLE = new Map(
  prismaModels().map((m) => [
    m.table,
    new Set(m.columns.filter((c) => c.type.endsWith('?')).map((c) => c.name)),
  ]),
);

/** Ascending order with NULLs last, then id: what the database must answer. */
function compareRows(field: string) {
  return (a: Json, b: Json): number => {
    const x = a[field] ?? null;
    const y = b[field] ?? null;
    if (x !== y) {
      if (x === null) return 1;
      if (y === null) return -1;
      if (x < y) return -1;
      if (x > y) return 1;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}

export function adminSortContract(kind: DbKind) {
  describe(`Admin API ?sort_by= / ?sort_desc= on ${kind}`, () => {
    const { call, ok, raw, clear } = useAdminServer(kind);

    const ids = (rows: Json[]) => rows.map((r) => r.id as string);

    /** Every page of a list, following `next`; fails on a repeated row. */
    async function pages(path: string): Promise<{ rows: Json[]; count: number }> {
      const rows: Json[] = [];
      let next: string | null = path;
      let count = 0;
      while (next !== null) {
        const r = await call('GET', next);
        expect(r.status, `${next}: ${r.text}`).toBe(200);
        rows.push(...r.body.data);
        next = r.body.next;
        count++;
        expect(count, `${path}: too many pages`).toBeLessThan(200);
      }
      expect(new Set(ids(rows)).size, `${path}: a row came twice`).toBe(rows.length);
      return { rows, count };
    }

    const invalidOptions = (options: Record<string, string>) => {
      const parts = Object.keys(options)
        .sort()
        .map((k) => `${k}: ${options[k]}`);
      return {
        message:
          parts.length === 1
            ? `invalid option (${parts[0]})`
            : `${parts.length} option violations (${parts.join('; ')})`,
        name: 'invalid options',
        code: 11,
        options,
      };
    };

    /** Services with ties and NULLs in `path`, `port`, `tls_verify`, `name`. */
    async function servicesWithTies(): Promise<Json[]> {
      const specs = [
        { name: 'b', host: 'h1.internal', port: 80, path: '/x', tls_verify: true, tags: ['t'] },
        { host: 'h2.internal', port: 80, tags: ['t'] },
        { name: 'a', host: 'h1.internal', port: 443, path: '/x', tls_verify: false },
        { host: 'h1.internal', port: 443, path: '/a', tags: ['t'] },
        { name: 'c', host: 'h2.internal', port: 80, tags: ['t'] },
        { name: 'd', host: 'h1.internal', port: 8080, path: '/x', tls_verify: true },
        { host: 'h1.internal', port: 80, tags: ['t'] },
      ];
      const out: Json[] = [];
      for (const s of specs) out.push(await ok('POST', '/services', s));
      return out;
    }

    describe('paging through a sorted list', () => {
      it('returns every row once, ordered by the field then id, NULLs last, at any page size', async () => {
        const services = await servicesWithTies();
        for (const field of ['path', 'port', 'name', 'tls_verify', 'host', 'id']) {
          const expected = ids([...services].sort(compareRows(field)));
          for (const size of [1, 2, 3, 100]) {
            const { rows, count } = await pages(`/services?sort_by=${field}&size=${size}`);
            expect(ids(rows), `${field} size=${size}`).toEqual(expected);
            expect(count, `${field} size=${size}`).toBe(Math.max(1, Math.ceil(services.length / size)));
          }
        }
      });

      it('sort_desc reverses the order exactly (NULLs first), for true and 1', async () => {
        const services = await servicesWithTies();
        for (const field of ['path', 'port', 'tls_verify']) {
          const expected = ids([...services].sort(compareRows(field)).reverse());
          for (const flag of ['true', '1']) {
            const { rows } = await pages(`/services?sort_by=${field}&sort_desc=${flag}&size=2`);
            expect(ids(rows), `${field} desc=${flag}`).toEqual(expected);
          }
          const asc = await pages(`/services?sort_by=${field}&sort_desc=false&size=2`);
          expect(ids(asc.rows)).toEqual(ids([...services].sort(compareRows(field))));
          expect(ids((await pages(`/services?sort_by=${field}&sort_desc=0&size=2`)).rows)).toEqual(
            ids(asc.rows),
          );
        }
      });

      it('sort_desc alone lists in reverse id order; sort_by=id is the default order', async () => {
        const services = await servicesWithTies();
        const byId = ids([...services].sort(compareRows('id')));
        expect(ids((await pages('/services?sort_desc=true&size=3')).rows)).toEqual([...byId].reverse());
        const plain = await call('GET', '/services?size=2');
        const byIdArg = await call('GET', '/services?size=2&sort_by=id');
        expect(byIdArg.body.data).toEqual(plain.body.data);
        expect(byIdArg.body.offset).toBe(plain.body.offset);
      });

      it('sorts by timestamps: created_at order, each page continuing the last', async () => {
        const services = await servicesWithTies();
        for (const desc of [false, true]) {
          const all = await call('GET', `/services?sort_by=created_at&sort_desc=${desc}&size=1000`);
          expect(all.body.data).toHaveLength(services.length);
          const seconds = all.body.data.map((s: Json) => s.created_at as number);
          expect(seconds).toEqual([...seconds].sort((a, b) => (desc ? b - a : a - b)));
          const { rows } = await pages(`/services?sort_by=created_at&sort_desc=${desc}&size=2`);
          expect(ids(rows)).toEqual(ids(all.body.data));
        }
      });

      it('an entity written between pages is listed where its value puts it, the others once', async () => {
        await servicesWithTies();
        const first = await call('GET', '/services?sort_by=port&size=3');
        await ok('POST', '/services', { host: 'late.internal', port: 1 });
        await ok('POST', '/services', { host: 'late.internal', port: 9999 });
        const rest = await pages(first.body.next);
        const seen = [...ids(first.body.data), ...ids(rest.rows)];
        expect(new Set(seen).size).toBe(seen.length);
        expect(rest.rows.map((s): unknown => s.host)).toContain('late.internal');
        expect(rest.rows.filter((s) => s.host === 'late.internal').map((s): unknown => s.port)).toEqual([
          9999,
        ]);
      });
    });

    describe('next and offset', () => {
      it('next repeats sort_by, sort_desc, size, tags and the field filters', async () => {
        await servicesWithTies();
        const r = await call('GET', '/services?sort_by=port&sort_desc=1&size=2&tags=t&host=h1.internal');
        expect(r.status, r.text).toBe(200);
        expect(r.body.next).toBe(
          `/services?offset=${encodeURIComponent(r.body.offset)}&tags=t&size=2&sort_by=port&sort_desc=1&host=h1.internal`,
        );
      });

      it('an offset of another order is a malformed offset (another field, direction, or id order)', async () => {
        await servicesWithTies();
        const byPort = (await call('GET', '/services?sort_by=port&size=1')).body.offset;
        const byId = (await call('GET', '/services?size=1')).body.offset;
        for (const path of [
          `/services?sort_by=name&offset=${byPort}`,
          `/services?sort_by=port&sort_desc=true&offset=${byPort}`,
          `/services?offset=${byPort}`,
          `/services?sort_by=port&offset=${byId}`,
        ]) {
          const r = await call('GET', path);
          expect(r.status, path).toBe(400);
          expect(r.body.name, path).toBe('invalid offset');
          expect(r.body.message, path).toMatch(/is not a valid offset: malformed offset$/);
        }
      });

      it('an offset whose value the column cannot hold is a malformed offset, never a database error', async () => {
        const cases: [string, unknown][] = [
          ['port', 'eighty'],
          ['port', 2 ** 31],
          ['port', 1.5],
          ['port', null],
          ['host', null],
          ['host', 'a\u0000b'],
          ['host', 5],
          ['tls_verify', 'yes'],
          ['created_at', 'yesterday'],
          ['created_at', 1700000000],
          ['created_at', '2026-01-02'],
          ['id', 'not-a-uuid'],
        ];
        for (const [field, value] of cases) {
          for (const id of [UUID, 'x', null]) {
            const t = token([id, field, 0, value]);
            const r = await call('GET', `/services?sort_by=${field}&offset=${t}`);
            expect(r.status, `${field} ${JSON.stringify(value)} ${id}: ${r.text}`).toBe(400);
            expect(r.body.name).toBe('invalid offset');
          }
        }
        for (const cursor of [[UUID, 'port', 0], [UUID, 'port', 0, 80, 1], {}, [UUID, 'port', false, 80]]) {
          const r = await call('GET', `/services?sort_by=port&offset=${token(cursor)}`);
          expect(r.status, JSON.stringify(cursor)).toBe(400);
        }
      });
    });

    describe('combined with filters, nested and member lists', () => {
      it('tags and field filters: only the matching rows, in order, across pages', async () => {
        const services = await servicesWithTies();
        const tagged = services.filter((s) => s.tags?.includes('t'));
        const { rows } = await pages('/services?tags=t&sort_by=path&size=1');
        expect(ids(rows)).toEqual(ids([...tagged].sort(compareRows('path'))));
        const h1 = services.filter((s) => s.host === 'h1.internal');
        const filtered = await pages('/services?host=h1.internal&sort_by=port&sort_desc=true&size=2');
        expect(ids(filtered.rows)).toEqual(ids([...h1].sort(compareRows('port')).reverse()));
      });

      it('a nested collection sorts and its next carries the sort', async () => {
        const s = await ok('POST', '/services', { name: 'svc', host: 'a.internal' });
        const routes: Json[] = [];
        for (const [name, priority] of [
          ['r3', 1],
          [null, 2],
          ['r1', 1],
          ['r2', 0],
        ] as const) {
          routes.push(
            await ok('POST', `/services/${s.id}/routes`, {
              ...(name ? { name } : {}),
              paths: ['/p'],
              regex_priority: priority,
            }),
          );
        }
        await ok('POST', '/routes', { name: 'elsewhere', paths: ['/q'] });
        const first = await call('GET', '/services/svc/routes?sort_by=name&size=1');
        expect(first.body.next).toBe(
          `/services/svc/routes?offset=${encodeURIComponent(first.body.offset)}&sort_by=name`,
        );
        const byName = await pages('/services/svc/routes?sort_by=name&size=1');
        expect(ids(byName.rows)).toEqual(ids([...routes].sort(compareRows('name'))));
        const byPriority = await pages('/services/svc/routes?sort_by=regex_priority&sort_desc=1&size=3');
        expect(ids(byPriority.rows)).toEqual(ids([...routes].sort(compareRows('regex_priority')).reverse()));
      });

      it('consumer-group members and a consumer’s groups sort', async () => {
        const names = ['m-c', 'm-a', 'm-b'];
        const consumers: Json[] = [];
        for (const username of names) consumers.push(await ok('POST', '/consumers', { username }));
        await ok('POST', '/consumers', { username: 'outsider' });
        await ok('POST', '/consumer_groups', { name: 'g' });
        await ok('POST', '/consumer_groups/g/consumers', { consumer: names });
        const members = await pages('/consumer_groups/g/consumers?sort_by=username&sort_desc=true&size=1');
        expect(members.rows.map((c): unknown => c.username)).toEqual(['m-c', 'm-b', 'm-a']);
        for (const name of ['g2', 'g0']) await ok('POST', '/consumer_groups', { name });
        for (const group of ['g2', 'g0']) await ok('POST', `/consumers/m-a/consumer_groups`, { group });
        const groups = await pages('/consumers/m-a/consumer_groups?sort_by=name&size=1');
        expect(groups.rows.map((g): unknown => g.name)).toEqual(['g', 'g0', 'g2']);
        const bad = await call('GET', '/consumer_groups/g/consumers?sort_by=tags');
        expect(bad.status).toBe(400);
      });

      it('Kong Manager’s list request (sort_by, sort_desc=1, size) answers the sorted page', async () => {
        for (const name of ['beta', 'alpha', 'gamma'])
          await ok('POST', '/services', { name, host: 'km.internal' });
        const r = await call('GET', '/services?sort_by=name&sort_desc=1&size=30');
        expect(r.status).toBe(200);
        expect((r.body.data as { name: string }[]).map((s) => s.name)).toEqual(['gamma', 'beta', 'alpha']);
        expect(r.body.next).toBeNull();
      });
    });

    describe('bad arguments (Kong invalid options, code 11)', () => {
      const cases: [string, Record<string, string>][] = [
        ['/services?sort_by=nope', { sort_by: "unknown field 'nope'" }],
        ['/services?sort_by=__proto__', { sort_by: "unknown field '__proto__'" }],
        ['/services?sort_by=service_id', { sort_by: "unknown field 'service_id'" }],
        ['/services?sort_by=NAME', { sort_by: "unknown field 'NAME'" }],
        [
          '/services?sort_by=tags',
          { sort_by: "cannot sort by 'tags': not a string, number, boolean or timestamp" },
        ],
        [
          '/routes?sort_by=service',
          { sort_by: "cannot sort by 'service': not a string, number, boolean or timestamp" },
        ],
        [
          '/plugins?sort_by=config',
          { sort_by: "cannot sort by 'config': not a string, number, boolean or timestamp" },
        ],
        ['/certificates?sort_by=key', { sort_by: "cannot sort by 'key': hidden or secret" }],
        ['/key-auths?sort_by=key', { sort_by: "cannot sort by 'key': hidden or secret" }],
        ['/basic-auths?sort_by=password', { sort_by: "cannot sort by 'password': hidden or secret" }],
        ['/services?sort_by=', { sort_by: 'cannot be null' }],
        ['/services?sort_by', { sort_by: 'cannot be null' }],
        ['/services?sort_by=%FF', { sort_by: 'invalid utf-8' }],
        ['/services?sort_by=name&sort_desc=yes', { sort_desc: 'expected a boolean' }],
        ['/services?sort_desc=', { sort_desc: 'expected a boolean' }],
        ['/services?sort_desc=TRUE', { sort_desc: 'expected a boolean' }],
        [
          '/services?sort_by=x&sort_desc=2',
          { sort_by: "unknown field 'x'", sort_desc: 'expected a boolean' },
        ],
      ];
      it.each(cases)('%s', async (path, options) => {
        const r = await raw('GET', path);
        expect(r.status, r.text).toBe(400);
        expect(r.body).toEqual(invalidOptions(options));
      });

      it('nested collections refuse bad sort arguments too', async () => {
        await ok('POST', '/services', { name: 'svc', host: 'a.internal' });
        const r = await call('GET', '/services/svc/routes?sort_by=paths');
        expect(r.status).toBe(400);
        expect(r.body.options).toEqual({
          sort_by: "cannot sort by 'paths': not a string, number, boolean or timestamp",
        });
      });
    });

    describe('every sortable field of every collection', () => {
      /** Each entity kind's list path (targets under an upstream). */
      const listPath = (r: EntityRecord) =>
        r.admin?.path ? `/${r.admin.path}` : r.kind === 'targets' ? '/upstreams/u/targets' : undefined;
      const kinds = ENTITY_RECORDS.filter((r) => listPath(r) !== undefined);

      it('sorts both ways and continues from an offset with a value (and NULL where the column holds one)', async () => {
        await ok('POST', '/upstreams', { name: 'u' });
        await ok('POST', '/upstreams/u/targets', { target: '10.0.0.1:80' });
        await ok('POST', '/consumers', { username: 'c1' });
        await ok('POST', '/services', { name: 's1', host: 'a.internal' });
        let checked = 0;
        for (const record of kinds) {
          const path = listPath(record)!;
          for (const [name, field] of sortFields(record)) {
            if (typeof field === 'string') continue;
            for (const flag of [0, 1]) {
              const q = `${path}?sort_by=${name}&sort_desc=${flag}`;
              const first = await call('GET', q);
              expect(first.status, `${q}: ${first.text}`).toBe(200);
              if (name === 'id') continue;
              const withValue = await call(
                'GET',
                `${q}&offset=${token([UUID, name, flag, SAMPLE[field.kind]])}`,
              );
              expect(withValue.status, `${q} offset: ${withValue.text}`).toBe(200);
              const nullable = NULLABLE.get(record.kind)!.has(name);
              const withNull = await call('GET', `${q}&offset=${token([UUID, name, flag, null])}`);
              expect(withNull.status, `${q} null offset: ${withNull.text}`).toBe(nullable ? 200 : 400);
              checked++;
            }
          }
        }
        expect(checked).toBeGreaterThan(100);
      });
    });

    describe('properties (fast-check)', () => {
      const service = fc.record(
        {
          name: fc.boolean(),
          host: fc.constantFrom('a.internal', 'b.internal', 'c.internal'),
          port: fc.constantFrom(80, 443, 8080),
          path: fc.constantFrom('/a', '/b'),
          enabled: fc.boolean(),
          tls_verify: fc.boolean(),
          tls_verify_depth: fc.integer({ min: 0, max: 2 }),
          tags: fc.subarray(['t1', 't2']),
        },
        { requiredKeys: ['name', 'host', 'port', 'enabled', 'tags'] },
      );
      const field = fc.constantFrom(
        'name',
        'host',
        'port',
        'path',
        'enabled',
        'tls_verify',
        'tls_verify_depth',
        'id',
        'created_at',
        'updated_at',
      );

      it(
        `${FUZZ_RUNS} random service sets, sorts and page sizes: the pages concatenated are the sorted list, no row twice or missing`,
        async () => {
          await fc.assert(
            fc.asyncProperty(
              fc.array(service, { maxLength: 9 }),
              field,
              fc.boolean(),
              fc.integer({ min: 1, max: 4 }),
              fc.constantFrom(undefined, 't1', 't1/t2'),
              async (specs, by, desc, size, tags) => {
                await clear();
                const created: Json[] = [];
                for (const [i, { name, ...s }] of specs.entries())
                  created.push(await ok('POST', '/services', { ...s, ...(name ? { name: `s${i}` } : {}) }));
                const tagList = tags?.split('/');
                const listed = tagList
                  ? created.filter((s) => (s.tags ?? []).some((t: string) => tagList.includes(t)))
                  : created;
                const q = `/services?sort_by=${by}&sort_desc=${desc}${tags ? `&tags=${tags}` : ''}`;
                const { rows } = await pages(`${q}&size=${size}`);
                expect(new Set(ids(rows))).toEqual(new Set(ids(listed)));
                if (by === 'created_at' || by === 'updated_at') {
                  // Stored to the millisecond, shown in seconds: the order is the one-page order.
                  const whole = await call('GET', `${q}&size=1000`);
                  expect(ids(rows)).toEqual(ids(whole.body.data));
                } else {
                  const sorted = [...listed].sort(compareRows(by));
                  expect(ids(rows)).toEqual(ids(desc ? sorted.reverse() : sorted));
                }
              },
            ),
            { numRuns: FUZZ_RUNS },
          );
        },
        Math.max(120_000, FUZZ_RUNS * 4_000),
      );

      const byteEscape = fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`);
      const hostile = fc
        .array(
          fc.oneof(
            byteEscape,
            fc.string({ maxLength: 4 }).map(encodeURIComponent),
            fc.constantFrom(
              '__proto__',
              'constructor',
              'name',
              'tags',
              'id',
              '%00',
              '+',
              ',',
              '..',
              'created_at',
            ),
          ),
          { maxLength: 4 },
        )
        .map((parts) => parts.join(''));

      it(
        `${FUZZ_RUNS} hostile sort_by, sort_desc and offset values: a 200 or Kong's 400, never a 5xx`,
        async () => {
          await servicesWithTies();
          await fc.assert(
            fc.asyncProperty(
              fc.constantFrom(
                '/services',
                '/routes',
                '/consumers',
                '/plugins',
                '/consumer_groups/none/consumers',
              ),
              hostile,
              fc.option(hostile, { nil: undefined }),
              fc.option(
                fc.oneof(
                  hostile,
                  fc
                    .tuple(
                      fc.constantFrom(UUID, 'x'),
                      fc.constantFrom('name', 'port', 'id'),
                      fc.constantFrom(0, 1),
                      fc.jsonValue(),
                    )
                    .map(token),
                ),
                { nil: undefined },
              ),
              async (path, by, desc, offset) => {
                const q = [
                  `sort_by=${by}`,
                  desc === undefined ? '' : `sort_desc=${desc}`,
                  offset ? `offset=${offset}` : '',
                ]
                  .filter(Boolean)
                  .join('&');
                const r = await raw('GET', `${path}?${q}`);
                expect(r.status, `${path}?${q}: ${r.text}`).toBeLessThan(500);
                if (r.status === 400)
                  expect(['invalid options', 'invalid offset'], `${path}?${q}: ${r.text}`).toContain(
                    r.body.name,
                  );
              },
            ),
            { numRuns: FUZZ_RUNS * 4 },
          );
        },
        Math.max(60_000, FUZZ_RUNS * 2_000),
      );
    });
  });
}
