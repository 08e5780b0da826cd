/**
 * fast-check over the Admin API's query-string and body parsers (issue 9): hostile query strings
 * (any byte percent-encoded, filter names, `tags`, `size`, `offset`, `custom_id`) on top-level and
 * nested collections and `/tags/{tag}`, and bodies of every content type the Admin API reads
 * (JSON, form, multipart, none, other) with random bytes, against a real control plane in this
 * process: never a 5xx, Object.prototype untouched, a refused write leaves nothing behind.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPristinePrototypes, startInProcessCp, type InProcessCp } from './hostile-support.js';

/** Inputs per property and database kind. */
const FUZZ_RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 100);

const byteEscape = fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`);
const hostileText = fc
  .array(fc.oneof(byteEscape, fc.string({ maxLength: 3 }), fc.constantFrom('%', '+', ',', '/', '🦍')), {
    maxLength: 6,
  })
  .map((parts) => parts.join(''));
const queryString = fc
  .array(
    fc.tuple(
      fc.constantFrom('size', 'offset', 'tags', 'custom_id', 'name', 'host', 'username', 'sort_by', 'x'),
      fc.option(hostileText, { nil: undefined }),
    ),
    { maxLength: 4 },
  )
  .map((pairs) =>
    pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v.replace(/[&#]/g, '%26')}`)).join('&'),
  );
const collection = fc.constantFrom('/consumers', '/services', '/plugins', '/consumers/fuzz/plugins', '/tags');

const boundary = 'fuzz-boundary';
const contentType = fc.constantFrom(
  'application/json',
  'application/x-www-form-urlencoded',
  `multipart/form-data; boundary=${boundary}`,
  'multipart/form-data',
  'text/plain',
  'application/json; charset=latin1',
  undefined,
);
const multipartBody = fc
  .array(fc.tuple(fc.constantFrom('username', 'custom_id', 'tags[]', '__proto__.x', 'a[b]'), hostileText), {
    maxLength: 4,
  })
  .map(
    (parts) =>
      parts
        .map(([k, v]) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
        .join('') + `--${boundary}--\r\n`,
  );
const body = fc.option(fc.oneof(hostileText, multipartBody, fc.constant('{"username":"fz"}')), {
  nil: undefined,
});

describe.each(['pglite', 'postgres'] as const)('Admin API query and body fuzzer on %s', (kind) => {
  let h: InProcessCp;
  beforeAll(async () => {
    h = await startInProcessCp(kind);
    expect((await h.call('POST', '/consumers', { username: 'fuzz', tags: ['a b'] })).status).toBe(201);
  }, 180_000);
  afterAll(async () => h?.stop());

  it(
    `${FUZZ_RUNS} hostile query strings and tag paths: never a 5xx`,
    async () => {
      await fc.assert(
        fc.asyncProperty(collection, queryString, hostileText, async (path, query, tag) => {
          const list = await fetch(`${h.cp.adminUrl}${path}?${query}`);
          expect(list.status, `${path}?${query}: ${await list.text()}`).toBeLessThan(500);
          const one = await fetch(`${h.cp.adminUrl}/tags/${tag.replace(/[/?#]/g, '%2F') || 'x'}?${query}`);
          expect(one.status, `/tags/${tag}: ${await one.text()}`).toBeLessThan(500);
          expectPristinePrototypes();
        }),
        { numRuns: FUZZ_RUNS },
      );
    },
    Math.max(60_000, FUZZ_RUNS * 1_000),
  );

  it(
    `${FUZZ_RUNS} hostile bodies of every content type: never a 5xx, a refused write changes nothing`,
    async () => {
      const consumers = async (): Promise<unknown> => (await h.call('GET', '/consumers?size=1000')).body;
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('POST', 'PATCH', 'PUT', 'GET', 'DELETE'),
          contentType,
          body,
          async (method, type, text) => {
            const before = await consumers();
            const init: RequestInit = { method, headers: type ? { 'content-type': type } : {} };
            if (text !== undefined && method !== 'GET') init.body = text;
            const path =
              method === 'POST'
                ? '/consumers'
                : method === 'DELETE'
                  ? '/consumers/nobody'
                  : '/consumers/fuzz';
            const r = await fetch(h.cp.adminUrl + path, init);
            expect(r.status, `${method} ${type} ${text}: ${await r.text()}`).toBeLessThan(500);
            expectPristinePrototypes();
            if (r.status >= 400) expect(await consumers()).toEqual(before);
          },
        ),
        { numRuns: FUZZ_RUNS },
      );
    },
    Math.max(60_000, FUZZ_RUNS * 1_000),
  );
});
