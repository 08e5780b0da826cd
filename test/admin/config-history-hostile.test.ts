/**
 * Hostile path parameters and query strings on the config history endpoints
 * (`GET /config/versions?size&offset`, `GET /config/versions/{v}`, `GET …/{a}/diff/{b}`,
 * `POST …/{v}/restore`) against a real control plane on Postgres in this process: never a 5xx,
 * every 4xx a Kong-shaped `{ message }`, no restore of anything but an existing version, and
 * Object.prototype untouched.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPristinePrototypes, startInProcessCp, type InProcessCp } from './hostile-support.js';

const RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 60);

let cp: InProcessCp;
const configNow = async () => (await cp.call('GET', '/config')).body?.config as string;

beforeAll(async () => {
  cp = await startInProcessCp('postgres');
  expect((await cp.call('POST', '/services', { name: 'base', url: 'http://base.internal' })).status).toBe(
    201,
  );
  // Wait until the history holds a version (the publisher records it after its debounce).
  const deadline = Date.now() + 30_000;
  while ((await cp.call('GET', '/config/versions')).body?.data?.length !== 1) {
    if (Date.now() > deadline) throw new Error('no version recorded');
    await new Promise((r) => setTimeout(r, 50));
  }
}, 120_000);
afterAll(async () => {
  await cp?.stop();
});

/** A path segment as a client might send it (percent-encoded, so every string reaches the router). */
const segment = fc
  .oneof(
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      '0',
      '-1',
      '+1',
      '1.0',
      '1e3',
      '0x10',
      ' 1',
      '01',
      '9223372036854775807',
      '9223372036854775808',
      '99999999999999999999999999',
      'null',
      'NaN',
      '%',
      '%00',
      '\u0000',
      '\u{1F600}',
    ),
    fc.string({ maxLength: 30 }),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  )
  .map((s) => encodeURIComponent(s))
  // Empty, `.` and `..` segments (also as %2e) are resolved away by the URL parser before sending.
  .filter((s) => s.length > 0 && !/^(\.|%2e){1,2}$/i.test(s));

const queryValue = fc.oneof(
  fc.constantFrom('', '0', '-1', '1001', '1e2', '__proto__', 'AAAA', 'MQ', '%', 'bnVsbA'),
  fc.string({ maxLength: 40 }),
  fc.integer().map(String),
);
const queryKey = fc.constantFrom('size', 'offset', '__proto__', 'constructor', 'sort_by', 'tags', 'x');

const expectClientError = (r: { status: number; body: unknown }, what: string) => {
  expect(r.status, what).toBeGreaterThanOrEqual(400);
  expect(r.status, what).toBeLessThan(500);
  expect(typeof (r.body as { message?: unknown })?.message, what).toBe('string');
};

describe('config history endpoints under hostile input', () => {
  it('answers hostile version segments with a 4xx (or the version), never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(segment, async (v) => {
        const r = await cp.call('GET', `/config/versions/${v}`);
        if (r.status === 200) expect(r.body._format_version).toBe('3.0');
        else expectClientError(r, `GET /config/versions/${v}`);
      }),
      { numRuns: RUNS },
    );
    expectPristinePrototypes();
  });

  it('answers hostile diff segments with a 4xx (or the diff), never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(segment, segment, async (a, b) => {
        const r = await cp.call('GET', `/config/versions/${a}/diff/${b}`);
        if (r.status === 200) expect(r.body.changes).toBeDefined();
        else expectClientError(r, `GET /config/versions/${a}/diff/${b}`);
      }),
      { numRuns: RUNS },
    );
    expectPristinePrototypes();
  });

  it('restores nothing for a hostile version segment: a 4xx and the configuration unchanged', async () => {
    const versions = (await cp.call('GET', '/config/versions')).body.data as { version: number }[];
    const existing = new Set(versions.map((v) => encodeURIComponent(String(v.version))));
    await fc.assert(
      fc.asyncProperty(
        segment.filter((s) => !existing.has(s)),
        async (v) => {
          const before = await configNow();
          const r = await cp.call('POST', `/config/versions/${v}/restore`);
          expectClientError(r, `POST /config/versions/${v}/restore`);
          expect(await configNow()).toBe(before);
        },
      ),
      { numRuns: RUNS },
    );
    expectPristinePrototypes();
  });

  it('answers hostile query strings on the list with 200 or a Kong-shaped 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }), async (pairs) => {
        const query = pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
        const r = await cp.call('GET', `/config/versions?${query}`);
        if (r.status === 200) expect(Array.isArray(r.body.data)).toBe(true);
        else expectClientError(r, `GET /config/versions?${query}`);
      }),
      { numRuns: RUNS },
    );
    expectPristinePrototypes();
  });
});
