/**
 * Hostile query strings on the audit log's listings (`GET /audit/requests`, `GET /audit/objects`)
 * against a real control plane on Postgres in this process: every answer is a 200 page or a
 * Kong-shaped 400 naming the argument, never a 5xx; Object.prototype is untouched; and no
 * method other than GET changes an entry.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPristinePrototypes, startInProcessCp, type InProcessCp } from './hostile-support.js';

const RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 60);

let cp: InProcessCp;

beforeAll(async () => {
  cp = await startInProcessCp('postgres');
  for (let i = 0; i < 3; i++)
    expect((await cp.call('POST', '/services', { name: `h${i}`, url: 'http://h.internal' })).status).toBe(
      201,
    );
}, 120_000);
afterAll(async () => {
  await cp?.stop();
});

const NAMES = [
  'size',
  'offset',
  'before',
  'after',
  'request_id',
  'method',
  'path',
  'status',
  'client_ip',
  'rbac_user_name',
  'request_source',
  'dao_name',
  'entity_key',
  'operation',
  '__proto__',
  'constructor',
  'tags',
];

/** A raw query-string piece: printable text, percent escapes (invalid UTF-8, NUL), or numbers. */
const rawValue = fc.oneof(
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.constantFrom('%00', '%FF', '%C3%28', '%E2%82', '%', '%%', '+', '=', '&', '%2F..%2F'),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z')),
  fc.constantFrom(
    '9999999999999',
    '2024-02-30T00:00:00Z',
    '1e3',
    '0x10',
    'MTIz',
    'LTE',
    'OTk5OTk5OTk5OTk5OTk5OTk5OTk5',
  ),
);
const pair = fc.tuple(
  fc.oneof(fc.constantFrom(...NAMES), fc.string({ maxLength: 8 }).map(encodeURIComponent)),
  rawValue,
);

describe('audit log listings under hostile query strings', () => {
  it('answers every query with a page or a 400 naming what is wrong', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/audit/requests', '/audit/objects'),
        fc.array(pair, { maxLength: 5 }),
        async (path, pairs) => {
          const query = pairs.map(([k, v]) => `${k}=${v}`).join('&');
          const r = await cp.call('GET', `${path}?${query}`);
          expect([200, 400], `${path}?${query}: ${JSON.stringify(r.body)}`).toContain(r.status);
          const body = r.body as { data?: unknown[]; message?: unknown };
          if (r.status === 200) expect(Array.isArray(body.data)).toBe(true);
          else expect(typeof body.message).toBe('string');
          expectPristinePrototypes();
        },
      ),
      {
        numRuns: RUNS,
        examples: [
          ['/audit/requests', [['status', '%00']]],
          ['/audit/objects', [['offset', 'OTk5OTk5OTk5OTk5OTk5OTk5OTk5']]],
          ['/audit/requests', [['before', '99999999999999999999']]],
          ['/audit/objects', [['__proto__', 'x']]],
          ['/audit/requests', [['path', '%FF']]],
        ],
      },
    );
  }, 600_000);

  it('refuses every other method on the listings with 405 and leaves the entries as they were', async () => {
    // Each entry by its chain position and hash (`ttl` counts down between the two reads).
    const entries = async () =>
      (
        (await cp.call('GET', '/audit/objects?size=1000')).body as { data: { seq: string; hash: string }[] }
      ).data.map((e) => `${e.seq}:${e.hash}`);
    const before = await entries();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE'),
        fc.constantFrom('/audit/requests', '/audit/objects'),
        // (A body that is not a JSON object is the body parser's 400 before any route.)
        fc.option(
          fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
          {
            nil: undefined,
          },
        ),
        async (method, path, body) => {
          const r = await cp.call(method, path, body);
          expect(r.status).toBe(405);
          expect((r.body as { message: string }).message).toBe('Method not allowed');
        },
      ),
      { numRuns: 20 },
    );
    expect(before.length).toBeGreaterThan(0);
    expect(await entries()).toEqual(before);
  });
});
