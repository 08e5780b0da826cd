import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyConfig, ENTITY_RECORDS, type EntityRecord, type GatehouseConfig } from '@gatehouse/shared';
import { columnsOf, entityFromRow, type Row } from './generic-rows.js';
import { diffConfigs } from './replace.js';
import { EMPTY_LISTS } from './sql-names.js';

const WITH_LISTS = ENTITY_RECORDS.filter((r) => r.lists.length > 0);
const required = (def: EntityRecord, field: string) => def.schema.fields[field]?.required === true;

/** What a text[] column gives back: Prisma reads NULL as `[]` too, so null and `[]` look alike. */
function stored(def: EntityRecord, columns: Row): Row {
  const row: Row = { ...columns, id: 'x', created_at: new Date(0), updated_at: new Date(0) };
  for (const field of def.lists) row[field] = columns[field] ?? [];
  return row;
}

/** A list value: null, `[]`, or elements (hostile strings included). */
const listValue = fc.oneof(
  fc.constant(null),
  fc.constant([]),
  fc.array(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', '', 'empty_lists')), {
    minLength: 1,
    maxLength: 4,
  }),
);

describe('list fields through a row (Kong keeps [] apart from null)', () => {
  it('every list field of every kind reads back as written: null, [] or its elements', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...WITH_LISTS),
        fc.array(listValue, { minLength: 8, maxLength: 8 }),
        (def, values) => {
          const entity: Record<string, unknown> = {};
          def.lists.forEach((field, i) => {
            const v = values[i % values.length]!;
            entity[field] = v === null && required(def, field) ? [] : v;
          });
          const back = entityFromRow<Record<string, unknown>>(def, stored(def, columnsOf(def, entity)));
          for (const field of def.lists) expect(back[field], `${def.kind}.${field}`).toEqual(entity[field]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a row written before empty_lists existed reads its empty lists as null, a required one as []', () => {
    for (const def of WITH_LISTS) {
      const row = stored(def, columnsOf(def, {}));
      delete row[EMPTY_LISTS];
      const back = entityFromRow<Record<string, unknown>>(def, row);
      for (const field of def.lists)
        expect(back[field], `${def.kind}.${field}`).toEqual(required(def, field) ? [] : null);
    }
  });

  it('empty_lists names only list fields, whatever else the entity holds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...WITH_LISTS),
        fc.dictionary(fc.string(), fc.constant([])),
        (def, extra) => {
          const names = columnsOf(def, extra)[EMPTY_LISTS] as string[];
          for (const name of names) expect(def.lists).toContain(name);
        },
      ),
    );
  });

  it('an import that turns null into [] (or back) is a change', () => {
    const consumer = {
      id: '00000000-0000-4000-8000-000000000001',
      username: 'c',
      custom_id: null,
      tags: null as string[] | null,
      created_at: 1,
      updated_at: 1,
    };
    const config = (tags: string[] | null): GatehouseConfig => ({
      ...emptyConfig(),
      consumers: [{ ...consumer, tags }],
    });
    expect(diffConfigs(config(null), config([])).changes.consumers.updated).toHaveLength(1);
    expect(diffConfigs(config([]), config(null)).changes.consumers.updated).toHaveLength(1);
    expect(diffConfigs(config([]), config([])).changed).toBe(false);
  });
});
