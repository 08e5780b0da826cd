import { ENTITIES, ENTITY_RECORDS, isGatehouseError, type EntityRecord } from '@gatehouse/shared';
import { describe, expect, it } from 'vitest';
import { prismaModels } from './prisma-models.test-support.js';
import { sortField, sortFields, sortProblem, type SortKind } from './sort.js';

const models = prismaModels();

/** The Prisma column type (less `?`) each sort kind is stored in. */
const COLUMN_TYPES: Record<SortKind, RegExp> = {
  string: /^String$/,
  uuid: /^String$/,
  integer: /^Int$/,
  number: /^(Int|Float|Decimal)$/,
  boolean: /^Boolean$/,
  timestamp: /^DateTime$/,
};

describe('sortable fields (?sort_by=)', () => {
  it.each(ENTITY_RECORDS.map((r) => [r.kind, r] as const))(
    '%s: every sortable field is a scalar column of its kind',
    (kind, record: EntityRecord) => {
      const model = models.find((m) => m.table === kind)!;
      for (const [name, f] of sortFields(record)) {
        if (typeof f === 'string') continue;
        const column = model.columns.find((c) => c.name === name);
        expect(column, `${kind}.${name}`).toBeDefined();
        expect(column!.type.replace('?', ''), `${kind}.${name}`).toMatch(COLUMN_TYPES[f.kind]);
        expect(column!.attributes.includes('@db.Uuid'), `${kind}.${name} uuid`).toBe(f.kind === 'uuid');
      }
    },
  );

  it('strings, numbers, booleans, timestamps and the id sort; lists, records, references do not', () => {
    const sortable = (r: EntityRecord) =>
      [...sortFields(r)].filter(([, f]) => typeof f !== 'string').map(([n]) => n);
    expect(sortable(ENTITIES.services)).toEqual([
      'id',
      'name',
      'retries',
      'protocol',
      'host',
      'port',
      'path',
      'connect_timeout',
      'write_timeout',
      'read_timeout',
      'tls_verify',
      'tls_verify_depth',
      'enabled',
      'created_at',
      'updated_at',
    ]);
    expect(sortField(ENTITIES.targets, 'created_at')).toEqual({ name: 'created_at', kind: 'timestamp' });
    expect(sortField(ENTITIES.routes, 'strip_path')).toEqual({ name: 'strip_path', kind: 'boolean' });
    expect(sortProblem(ENTITIES.routes, 'paths')).toBe(
      "cannot sort by 'paths': not a string, number, boolean or timestamp",
    );
    expect(sortProblem(ENTITIES.routes, 'service')).toBe(
      "cannot sort by 'service': not a string, number, boolean or timestamp",
    );
    expect(sortProblem(ENTITIES.plugins, 'config')).toMatch(/^cannot sort by 'config'/);
  });

  it('hidden and secret fields are not sortable: certificate keys, credential keys, secrets, passwords', () => {
    for (const [kind, field] of [
      ['certificates', 'key'],
      ['certificates', 'key_alt'],
      ['keys', 'jwk'],
      ['keyauth_credentials', 'key'],
      ['jwt_secrets', 'key'],
      ['jwt_secrets', 'secret'],
      ['hmacauth_credentials', 'secret'],
      ['basicauth_credentials', 'password'],
    ] as const) {
      expect(sortProblem(ENTITIES[kind], field), `${kind}.${field}`).toBe(
        `cannot sort by '${field}': hidden or secret`,
      );
    }
  });

  it('unknown names, prototype keys included, are unknown fields (Kong invalid options)', () => {
    for (const name of ['nope', '__proto__', 'constructor', 'toString', 'service_id', '']) {
      expect(sortProblem(ENTITIES.services, name)).toBe(`unknown field '${name}'`);
      let error: unknown;
      try {
        sortField(ENTITIES.services, name);
      } catch (e) {
        error = e;
      }
      expect(isGatehouseError(error) && error.status).toBe(400);
      expect((error as { details?: unknown }).details).toMatchObject({
        body: { name: 'invalid options', code: 11, options: { sort_by: `unknown field '${name}'` } },
      });
    }
  });
});
