/**
 * Issue 8 item 4: a fast-check fuzzer over every Admin API collection endpoint, derived from the
 * entity registry (top-level collections, the ones nested under a parent, and issue 9's
 * `/{collection}/{key}/{foreign field}` endpoints). Random and hostile
 * JSON bodies (the entity's own field names with NUL characters, huge strings, prototype keys,
 * wrong types), path ids and query strings, against a real control plane in this process:
 * no answer is a 5xx, Object.prototype is untouched, and a failed write leaves the collection and
 * the config version exactly as they were.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTITY_RECORDS } from '@gatehouse/shared';
import { RSA_CERT, RSA_KEY } from '../../shared/src/entities/test-fixtures.js';
import { expectPristinePrototypes, startInProcessCp, type InProcessCp } from './hostile-support.js';
import { hostileString, hostileValue, PROTO_KEYS } from './hostile-arbitraries.js';

/** Inputs per database kind; the whole file stays well under a minute on a 2-core box. */
export const FUZZ_RUNS = Number(process.env.GATEHOUSE_FUZZ_RUNS ?? 150);

interface Endpoint {
  kind: string;
  /** The collection path; `{parent}` stands for the parent's id. */
  path: string;
  parent?: string;
  fields: string[];
  /**
   * A foreign-entity endpoint (`/routes/{parent}/service`): `path` is the endpoint itself,
   * `{parent}` the referencing entity's key, `kind` and `fields` the referenced entity's, and
   * `collection` the referenced entity's collection (what a failed write must leave unchanged).
   */
  foreign?: { collection: string };
}

const byKind = new Map(ENTITY_RECORDS.map((r) => [r.kind as string, r]));

/** Every collection the Admin API mounts from the registry. */
const ENDPOINTS: Endpoint[] = ENTITY_RECORDS.flatMap((r) => {
  if (!r.admin) return [];
  const fields = Object.keys(r.schema.fields);
  const top = r.admin.path ? [{ kind: r.kind, path: `/${r.admin.path}`, fields }] : [];
  const nested = (r.admin.nested ?? []).map((n) => ({
    kind: r.kind,
    path: `/${byKind.get(n.parent)!.admin!.path!}/{parent}/${n.path}`,
    parent: n.parent,
    fields,
  }));
  const foreign = r.admin.path
    ? r.foreign
        .filter(
          (fk) => byKind.get(fk.target)?.admin?.path && !r.admin!.withoutForeignEndpoints?.includes(fk.field),
        )
        .map((fk) => ({
          kind: fk.target,
          path: `/${r.admin!.path!}/{parent}/${fk.field}`,
          parent: r.kind,
          fields: Object.keys(byKind.get(fk.target)!.schema.fields),
          foreign: { collection: `/${byKind.get(fk.target)!.admin!.path!}` },
        }))
    : [];
  return [...top, ...nested, ...foreign];
});

/** One valid entity of each parent kind (the only hand-written bodies: fixtures, not a list of kinds). */
const PARENT_BODIES: Record<string, Record<string, unknown>> = {
  services: { name: 'fuzz-parent', host: 'fuzz.example' },
  plugins: { name: 'key-auth', instance_name: 'fuzz-parent' },
  keyauth_credentials: { key: 'fuzz-parent', consumer: { name: 'fuzz-parent' } },
  basicauth_credentials: { username: 'fuzz-parent', password: 'x', consumer: { name: 'fuzz-parent' } },
  jwt_secrets: { key: 'fuzz-parent', consumer: { name: 'fuzz-parent' } },
  hmacauth_credentials: { username: 'fuzz-parent', consumer: { name: 'fuzz-parent' } },
  acls: { group: 'fuzz-parent', consumer: { name: 'fuzz-parent' } },
  mtls_auth_credentials: { subject_name: 'fuzz-parent', consumer: { name: 'fuzz-parent' } },
  oauth2_credentials: { name: 'fuzz-parent', client_id: 'fuzz-parent', consumer: { name: 'fuzz-parent' } },
  oauth2_token_revocations: { jti: 'fuzz-parent', expires_at: 0, credential: { name: 'fuzz-parent' } },
  routes: { name: 'fuzz-parent', paths: ['/fuzz-parent'] },
  consumers: { username: 'fuzz-parent' },
  consumer_groups: { name: 'fuzz-parent' },
  upstreams: { name: 'fuzz-parent' },
  certificates: { cert: RSA_CERT, key: RSA_KEY },
  key_sets: { name: 'fuzz-parent' },
  keys: {
    name: 'fuzz-parent',
    kid: 'fuzz-parent',
    jwk: JSON.stringify({ kty: 'oct', k: 'ZnV6ei1wYXJlbnQ', kid: 'fuzz-parent' }),
  },
};

/** A body built from the entity's own field names (so values reach the field checks), or anything. */
const bodyFor = (ep: Endpoint): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc
      .array(
        fc.tuple(
          fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ep.fields) }, fc.constantFrom(...PROTO_KEYS)),
          hostileValue,
        ),
        {
          maxLength: 5,
        },
      )
      .map(
        (entries) =>
          JSON.parse(
            `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${JSON.stringify(x) ?? 'null'}`).join(',')}}`,
          ) as unknown,
      ),
    hostileValue,
  );

const pathId = fc.oneof(
  hostileString.filter((s) => s !== '').map((s) => encodeURIComponent(s)),
  fc.constantFrom('%00', 'a%00', '%zz', '%', '..', '%2e%2e', '%2F', 'fuzz-parent'),
);

const queryString = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom('size', 'offset', 'tags', '__proto__', '__proto__[x]', 'constructor.prototype.x'),
        fc.string({ maxLength: 5 }),
      ),
      fc.oneof(
        hostileString,
        fc.constantFrom(
          '1',
          '1000',
          '1001',
          '0',
          '-1',
          'a,b',
          'a/b',
          'a,b/c',
          'WyJ4Il0',
          'WyIwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDAiXQ',
        ),
      ),
    ),
    { maxLength: 3 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));

type Op =
  | { method: 'POST'; body: unknown }
  | { method: 'PUT' | 'PATCH'; id: string; body: unknown }
  | { method: 'GET' | 'DELETE'; id: string }
  | { method: 'LIST'; query: string };

const opFor = (ep: Endpoint): fc.Arbitrary<Op> =>
  fc.oneof(
    bodyFor(ep).map((body) => ({ method: 'POST' as const, body })),
    fc
      .tuple(fc.constantFrom('PUT' as const, 'PATCH' as const), pathId, bodyFor(ep))
      .map(([method, id, body]) => ({ method, id, body })),
    fc
      .tuple(fc.constantFrom('GET' as const, 'DELETE' as const), pathId)
      .map(([method, id]) => ({ method, id })),
    queryString.map((query) => ({ method: 'LIST' as const, query })),
  );

const input = fc.constantFrom(...ENDPOINTS).chain((ep) => fc.tuple(fc.constant(ep), opFor(ep), fc.boolean()));

describe.each(['pglite', 'postgres'] as const)('Admin API endpoint fuzzer on %s', (kind) => {
  let h: InProcessCp;
  const parentIds: Record<string, string> = {};

  beforeAll(async () => {
    h = await startInProcessCp(kind);
    for (const parent of new Set(ENDPOINTS.flatMap((e) => (e.parent ? [e.parent] : [])))) {
      const body = PARENT_BODIES[parent];
      if (!body) throw new Error(`no fixture body for parent kind '${parent}'`);
      const r = await h.call('POST', `/${byKind.get(parent)!.admin!.path!}`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      parentIds[parent] = r.body.id;
    }
  }, 180_000);
  afterAll(async () => h?.stop());

  it('derives its endpoints from the registry: every kind with Admin API paths is covered', () => {
    const covered = new Set(ENDPOINTS.map((e) => e.kind));
    expect([...covered].sort()).toEqual(
      ENTITY_RECORDS.filter((r) => r.admin)
        .map((r) => r.kind)
        .sort(),
    );
    expect(ENDPOINTS.length).toBeGreaterThan(20);
  });

  it(
    `${FUZZ_RUNS} random and hostile inputs: never a 5xx, nothing left behind by a failed write`,
    async () => {
      const version = async () => (await h.call('GET', '/')).body.configuration.config_version as string;
      await fc.assert(
        fc.asyncProperty(input, async ([ep, op, knownParent]) => {
          const parentKey = ep.parent ? (knownParent ? parentIds[ep.parent]! : 'fuzz-missing') : '';
          const collection = ep.path.replace('{parent}', parentKey);
          const list = () => h.call('GET', `${ep.foreign?.collection ?? collection}?size=1000`);
          const before = await list();
          const versionBefore = await version();
          // A foreign-entity endpoint is itself the entity: every method goes to its path.
          const entityPath = (id: string) => (ep.foreign ? collection : `${collection}/${id}`);
          let r;
          switch (op.method) {
            case 'POST':
              r = await h.call('POST', collection, op.body);
              break;
            case 'PUT':
            case 'PATCH':
              r = await h.call(op.method, entityPath(op.id), op.body);
              break;
            case 'GET':
            case 'DELETE':
              r = await h.call(op.method, entityPath(op.id));
              break;
            case 'LIST':
              r = await h.call('GET', `${collection}?${op.query}`);
          }
          expect(
            r.status,
            `${op.method} ${collection}: ${JSON.stringify(r.body)?.slice(0, 300)}`,
          ).toBeLessThan(500);
          expectPristinePrototypes();
          if (r.status >= 400 && op.method !== 'GET' && op.method !== 'LIST') {
            expect(await list()).toEqual(before);
            expect(await version()).toBe(versionBefore);
          }
        }),
        { numRuns: FUZZ_RUNS },
      );
    },
    Math.max(60_000, FUZZ_RUNS * 1_000),
  );
});
