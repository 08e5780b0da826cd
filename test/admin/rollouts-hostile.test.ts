/**
 * Hostile bodies and paths on the staged-rollout endpoints (`POST /config/rollouts`, `GET
 * /config/rollouts/{id}`, `POST …/abort`, `GET …/data-planes`, `GET /config/rollouts?size&offset`) against a real control
 * plane on Postgres in this process: never a 5xx, an invalid body starts nothing (the
 * configuration is unchanged), Object.prototype is untouched.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPristinePrototypes, startInProcessCp, type InProcessCp } from './hostile-support.js';

const RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 40);

let cp: InProcessCp;
/** The whole configuration as a declarative document. */
const current = async () => (await cp.call('GET', '/config')).body?.config as string;

beforeAll(async () => {
  cp = await startInProcessCp('postgres');
  const r = await cp.call('POST', '/services', { name: 'base', url: 'http://base.internal' });
  expect(r.status).toBe(201);
}, 120_000);
afterAll(async () => {
  await cp?.stop();
});

const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'waves',
    'soak',
    'gate',
    'config',
    'labels',
    'percentage',
  ),
  fc.string({ maxLength: 8 }),
);
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ maxLength: 20 }).map((s) => `${s}\u0000`),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
})).value;

const plausibleConfig = fc.oneof(
  hostileValue,
  fc.record({
    _format_version: fc.constantFrom('3.0', '1.1', 3, null),
    services: fc.array(
      fc.dictionary(fc.constantFrom('name', 'url', 'routes', 'host', '__proto__'), hostileValue, {
        maxKeys: 4,
      }),
      { maxLength: 2 },
    ),
  }),
);

describe('staged rollout endpoints under hostile input', () => {
  it('answers every hostile POST /config/rollouts body with a 4xx and starts nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostileValue,
          fc.record(
            { config: plausibleConfig, waves: hostileValue, soak: hostileValue, gate: hostileValue },
            { requiredKeys: ['config'] },
          ),
        ),
        async (body) => {
          const before = await current();
          const r = await cp.call('POST', '/config/rollouts', body);
          if (r.status === 201) {
            // A valid rollout slipped through: end it so the next input is judged alone.
            expect((await cp.call('POST', `/config/rollouts/${r.body.id}/abort`)).status).toBe(200);
            return;
          }
          expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
          expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
          expect(typeof r.body?.message).toBe('string');
          expect(await current()).toBe(before);
          expectPristinePrototypes();
        },
      ),
      {
        numRuns: RUNS,
        examples: [
          [{ config: { _format_version: '3.0' }, waves: [{ percentage: 10 }], soak: undefined }],
          [{ config: 'not: [yaml', waves: [{}] }],
          [{ config: { _format_version: '3.0', services: [] }, waves: { __proto__: 1 } }],
        ],
      },
    );
  }, 600_000);

  it('answers hostile ids, sizes and offsets with a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.constantFrom(
          'GET /config/rollouts/',
          'POST /config/rollouts/',
          'GET /config/rollouts/ /data-planes',
          'GET /config/rollouts?size=',
          'GET /config/rollouts?offset=',
        ),
        async (s, where) => {
          const [method, path, tail] = where.split(' ') as [string, string, string?];
          const target = path.endsWith('/')
            ? `${path}${encodeURIComponent(s)}${method === 'POST' ? '/abort' : (tail ?? '')}`
            : `${path}${encodeURIComponent(s)}`;
          const r = await cp.call(method, target);
          expect(r.status, `${method} ${target}`).toBeLessThan(500);
          if (path.endsWith('/')) expect(r.status).toBe(404);
        },
      ),
      {
        numRuns: RUNS,
        examples: [
          ['x', 'GET /config/rollouts/'],
          ['%00', 'GET /config/rollouts?offset='],
        ],
      },
    );
  });
});
