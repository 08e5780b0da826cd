/**
 * Issue 15, fuzzer 2: every route the Admin API app serves (read from its express router through
 * `ControlPlane.adminRoutes()`, not a hand-written list — the entity collections, `/config`,
 * RBAC, rollouts, config history, clustering, tags, schemas, …), with generated path parameters,
 * query strings and bodies in every encoding the API reads (JSON, hostile raw JSON text,
 * form-urlencoded with bracket and dotted keys, multipart, YAML), against a real control plane
 * on Postgres in this process:
 *
 * - no answer is a 5xx;
 * - Object.prototype (and friends) stay untouched;
 * - a refused write leaves every table exactly as it was (a per-table row hash of the whole
 *   database, read with its own connection, before and after, once the config history of earlier
 *   writes is recorded), except the audit trail of requests.
 *
 * `test/admin/endpoint-fuzz.test.ts` goes deeper on the entity collections (bodies from each
 * entity's own fields); this one is about breadth. Bounded: GATEHOUSE_FUZZ_RUNS inputs (default 150).
 */
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminRoute } from '../../control-plane/src/admin/routes.js';
import { hostileString, hostileValue } from './hostile-arbitraries.js';
import { expectPristinePrototypes, startInProcessCp, type InProcessCp } from './hostile-support.js';

const RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 150);

/** Tables a refused request may write: the audit record of the request itself. */
const MAY_CHANGE_ON_REFUSAL = new Set(['audit_requests']);

/** The name every seeded entity carries, so a path parameter can name a real one. */
const SEED = 'fz';

/** One request: method, path, query, and a body with its content type. */
interface Req {
  method: string;
  path: string;
  body?: { contentType: string; data: string | FormData };
}

const paramValue = fc.oneof(
  { weight: 3, arbitrary: fc.constant(SEED) },
  hostileString.filter((s) => s !== '').map((s) => encodeURIComponent(s)),
  fc.constantFrom('%00', '%zz', '%', '..', '%2e%2e', '%2F', '__proto__', 'constructor', 'A'.repeat(5_000)),
);

const queryString = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'size',
          'offset',
          'tags',
          'sort_by',
          '__proto__',
          '__proto__[x]',
          'constructor[prototype][x]',
        ),
        hostileString,
      ),
      hostileString,
    ),
    { maxLength: 3 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));

const FORM_KEYS = [
  'name',
  'host',
  'paths[]',
  'paths[1]',
  'config.x',
  'config.minute',
  'tags[]',
  'service.id',
  'a[b][c][d][e]',
  '__proto__[polluted]',
  '__proto__.polluted',
  'constructor[prototype][polluted]',
  'constructor.prototype.polluted',
];
const formPairs = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FORM_KEYS), hostileString), hostileString), {
  maxLength: 6,
});

const RAW_JSON = [
  '{',
  '{"a":',
  '[]',
  'null',
  '"x"',
  '1e999',
  '['.repeat(10_000) + ']'.repeat(10_000),
  '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000),
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{"polluted":1}}}',
  '{"name":"a","name":"b","__proto__":null}',
  JSON.stringify({ name: 'x'.repeat(2_000_000) }),
  `[${'{},'.repeat(100_000)}{}]`,
];

const YAML = [
  '_format_version: "3.0"\n__proto__:\n  polluted: 1\n',
  'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n',
  '_format_version: "1.0"\nservices: []\n',
  'services:\n  - name: a\n    name: b\n',
  '- [' + '['.repeat(5_000),
  '!!js/function "function(){}"',
];

const body: fc.Arbitrary<Req['body']> = fc.oneof(
  fc.constant(undefined),
  hostileValue.map((v) => ({ contentType: 'application/json', data: JSON.stringify(v) ?? 'null' })),
  fc.constantFrom(...RAW_JSON).map((data) => ({ contentType: 'application/json', data })),
  formPairs.map((pairs) => ({
    contentType: 'application/x-www-form-urlencoded',
    data: pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
  })),
  formPairs.map((pairs) => {
    const form = new FormData();
    for (const [k, v] of pairs) form.append(k, v);
    return { contentType: 'multipart/form-data', data: form };
  }),
  fc.constantFrom(...YAML).map((data) => ({ contentType: 'application/yaml', data })),
  fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x').map((contentType) => ({
    contentType,
    data: '--x\r\nContent-Disposition: form-data; name="__proto__"\r\n\r\n1\r\n--x--',
  })),
);

/** Fills `:param` and `*wildcard` segments; sometimes appends junk segments. */
function requestFor(route: AdminRoute): fc.Arbitrary<Req> {
  const slots = route.path.split('/').filter((s) => s.startsWith(':') || s.startsWith('*')).length;
  return fc
    .tuple(
      fc.constantFrom(...route.methods),
      fc.array(paramValue, { minLength: slots, maxLength: slots }),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant('') },
        fc.constantFrom('/', '//x', '/..', '/%2e%2e/x', '/x/y/z'),
      ),
      queryString,
      body,
    )
    .map(([method, values, tail, query, b]) => {
      let i = 0;
      const path = route.path
        .split('/')
        .map((s) => (s.startsWith(':') || s.startsWith('*') ? values[i++]! : s))
        .join('/');
      return {
        method,
        path: path + tail + (query === '' ? '' : `?${query}`),
        ...(b === undefined || method === 'GET' || method === 'DELETE' ? {} : { body: b }),
      };
    });
}

describe('Admin API fuzzer over every route of the app (Postgres)', () => {
  let h: InProcessCp;
  let db: pg.Client;
  let routes: AdminRoute[];
  let tables: string[];

  /** Per table: row count and an md5 of every row (the whole database, from outside the CP). */
  async function dbSnapshot(): Promise<Record<string, string>> {
    const sql = tables
      .map(
        (t) =>
          `SELECT '${t}' AS t, count(*)::text || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') AS v FROM "${t}" x`,
      )
      .join(' UNION ALL ');
    const r = await db.query<{ t: string; v: string }>(sql);
    return Object.fromEntries(r.rows.map((row) => [row.t, row.v]));
  }

  /**
   * Waits until the publisher has recorded the newest version's history (it does so after a
   * successful write, asynchronously), so that a snapshot taken next is not overtaken by it.
   */
  async function settled(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const r = await db.query<{ done: boolean }>(
        'SELECT hash IS NOT NULL AS done FROM config_history ORDER BY version DESC LIMIT 1',
      );
      if (r.rows.length === 0 || r.rows[0]!.done) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error('the config history of the last write was never recorded');
  }

  async function send(req: Req): Promise<{ status: number; text: string }> {
    const init: RequestInit = { method: req.method };
    if (req.body !== undefined) {
      init.body = req.body.data;
      // fetch sets the multipart boundary itself.
      if (!(req.body.data instanceof FormData)) init.headers = { 'content-type': req.body.contentType };
    }
    const res = await fetch(h.cp.adminUrl + req.path, init);
    return { status: res.status, text: await res.text() };
  }

  beforeAll(async () => {
    h = await startInProcessCp('postgres');
    db = new pg.Client({ connectionString: h.databaseUrl });
    await db.connect();
    const r = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
    );
    tables = r.rows.map((row) => row.table_name).filter((t) => !MAY_CHANGE_ON_REFUSAL.has(t));
    routes = h.cp.adminRoutes().filter((r) => r.methods.length > 0);
    // Entities named `fz` so that a parameter can reach past the lookup.
    for (const [path, b] of [
      ['/services', { name: SEED, host: 'fz.example' }],
      ['/services/fz/routes', { name: SEED, paths: ['/fz'] }],
      ['/consumers', { username: SEED }],
      ['/consumer_groups', { name: SEED }],
      ['/upstreams', { name: SEED }],
      ['/key-sets', { name: SEED }],
      ['/rbac/users', { name: SEED, user_token: 'fz-token-0123456789abcdef' }],
      ['/rbac/roles', { name: SEED }],
    ] as const) {
      const res = await h.call('POST', path, b);
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(201);
    }
  }, 180_000);
  afterAll(async () => {
    await db?.end();
    await h?.stop();
  });

  it('derives its routes from the app: the entity collections and the rest', () => {
    const paths = routes.map((r) => r.path);
    expect(paths.length).toBeGreaterThan(60);
    for (const p of ['/services', '/config', '/rbac/users', '/schemas/plugins/:name'])
      expect(paths).toContain(p);
  });

  it(
    `${RUNS} generated requests over every route: never a 5xx, no prototype pollution, a refused write changes nothing`,
    async () => {
      const input = fc.integer({ min: 0, max: routes.length - 1 }).chain((i) => requestFor(routes[i]!));
      await fc.assert(
        fc.asyncProperty(input, async (req) => {
          const write = req.method !== 'GET' && req.method !== 'HEAD';
          if (write) await settled();
          const before = write ? await dbSnapshot() : undefined;
          const res = await send(req);
          const what = `${req.method} ${req.path.slice(0, 200)} [${req.body?.contentType ?? 'no body'}] → ${res.status} ${res.text.slice(0, 300)}`;
          expect(res.status, what).toBeLessThan(500);
          expectPristinePrototypes();
          if (write && res.status >= 400) {
            const after = await dbSnapshot();
            const changed = tables.filter((t) => after[t] !== before![t]);
            expect(changed, what).toEqual([]);
          }
        }),
        { numRuns: RUNS },
      );
    },
    Math.max(120_000, RUNS * 2_000),
  );
});
