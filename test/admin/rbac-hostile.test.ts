/**
 * Hostile bodies on every RBAC endpoint that reads one (`POST /rbac/users`, `PATCH
 * /rbac/users/{u}`, `POST`/`DELETE /rbac/users/{u}/roles`, `POST /rbac/roles`, `PATCH
 * /rbac/roles/{r}`, `POST /rbac/roles/{r}/endpoints`, `PATCH …/endpoints/{ws}/{endpoint}`), against
 * a real control plane on Postgres in this process: never a 5xx, every 4xx in Kong's shape
 * (`{message}`), a refused body changes nothing, Object.prototype is untouched.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPristinePrototypes, startInProcessCp, type InProcessCp } from './hostile-support.js';

const RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 40);

let cp: InProcessCp;

beforeAll(async () => {
  cp = await startInProcessCp('postgres');
  expect(
    (await cp.call('POST', '/rbac/users', { name: 'target', user_token: 'target-token-0123456789' })).status,
  ).toBe(201);
  expect((await cp.call('POST', '/rbac/roles', { name: 'custom' })).status).toBe(201);
  expect(
    (await cp.call('POST', '/rbac/roles/custom/endpoints', { endpoint: '/services/*', actions: 'read' }))
      .status,
  ).toBe(201);
}, 120_000);
afterAll(async () => {
  await cp?.stop();
});

const FIELDS = [
  '__proto__',
  'constructor',
  'prototype',
  'name',
  'user_token',
  'user_token_expires_at',
  'enabled',
  'comment',
  'roles',
  'endpoint',
  'actions',
  'negative',
  'workspace',
];
/** A form body sent as this exact text. */
class RawForm {
  constructor(readonly text: string) {}
}

const hostileKey = fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 }));
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.string({ maxLength: 20 }).map((s) => `${s}\u0000`),
    fc.constantFrom('*', 'read,create', '', 'super-admin', 'default', '/rbac/*', 'x'.repeat(2000), -1, 1e308),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
    fc.array(tie('value'), { maxLength: 3 }),
  ),
})).value;
const hostileBody = fc.oneof(
  hostileValue,
  fc.dictionary(hostileKey, hostileValue, { maxKeys: 6 }),
  fc.string({ maxLength: 40 }).map((s) => new RawForm(s)),
);

/** The state a refused request must leave as it was. */
async function state(): Promise<string> {
  const users = (await cp.call('GET', '/rbac/users')).body.data.map(
    (u: { name: string; updated_at: number }) => [u.name, u.updated_at],
  );
  const roles = (await cp.call('GET', '/rbac/roles')).body.data.map((r: { name: string }) => r.name);
  const eps = (await cp.call('GET', '/rbac/roles/custom/endpoints')).body.data;
  const targetRoles = (await cp.call('GET', '/rbac/users/target/roles')).body.roles;
  return JSON.stringify({ users, roles, eps, targetRoles });
}

const ENDPOINTS: [string, string][] = [
  ['POST', '/rbac/users'],
  ['PATCH', '/rbac/users/target'],
  ['POST', '/rbac/users/target/roles'],
  ['DELETE', '/rbac/users/target/roles'],
  ['POST', '/rbac/roles'],
  ['PATCH', '/rbac/roles/custom'],
  ['POST', '/rbac/roles/custom/endpoints'],
  ['PATCH', '/rbac/roles/custom/endpoints/default/services/*'],
];

describe('RBAC endpoints under hostile input', () => {
  for (const [method, path] of ENDPOINTS) {
    it(`${method} ${path}: any body gets a 2xx or a Kong-shaped 4xx; a 4xx changes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(hostileBody, fc.boolean(), async (body, asForm) => {
          const before = await state();
          const r =
            body instanceof RawForm
              ? await cp.call(method, path, body.text, 'application/x-www-form-urlencoded')
              : asForm && body !== null && typeof body === 'object' && !Array.isArray(body)
                ? await cp.call(
                    method,
                    path,
                    new URLSearchParams(
                      Object.entries(body as Record<string, unknown>).map(([k, v]): [string, string] => [
                        k,
                        String(v),
                      ]),
                    ).toString(),
                    'application/x-www-form-urlencoded',
                  )
                : await cp.call(method, path, body);
          expect(r.status, JSON.stringify({ body, reply: r.body })).toBeLessThan(500);
          if (r.status >= 400) {
            expect(typeof r.body?.message, JSON.stringify(r.body)).toBe('string');
            expect(await state()).toBe(before);
          } else if (r.status === 201 || r.status === 200 || r.status === 204) {
            await undo(method, path, r.body);
          }
          expectPristinePrototypes();
        }),
        { numRuns: RUNS },
      );
    }, 300_000);
  }
});

/** Puts back what an accepted request changed, so the next input is judged alone. */
async function undo(
  method: string,
  path: string,
  body: { name?: string; endpoint?: string; workspace?: string },
) {
  if (method === 'POST' && path === '/rbac/users' && body.name)
    await cp.call('DELETE', `/rbac/users/${body.name}`);
  if (method === 'POST' && path === '/rbac/roles' && body.name)
    await cp.call('DELETE', `/rbac/roles/${body.name}`);
  if (method === 'PATCH' && path === '/rbac/users/target' && body.name && body.name !== 'target')
    await cp.call('PATCH', `/rbac/users/${encodeURIComponent(body.name)}`, { name: 'target' });
  if (method === 'PATCH' && path === '/rbac/roles/custom' && body.name && body.name !== 'custom')
    await cp.call('PATCH', `/rbac/roles/${encodeURIComponent(body.name)}`, { name: 'custom' });
  if (
    method === 'POST' &&
    path === '/rbac/roles/custom/endpoints' &&
    body.endpoint &&
    body.endpoint !== '/services/*'
  ) {
    const ep = body.endpoint === '*' ? '*' : body.endpoint.slice(1);
    await cp.call('DELETE', `/rbac/roles/custom/endpoints/${body.workspace}/${ep}`);
  }
}
