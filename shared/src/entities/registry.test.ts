import { describe, expect, it } from 'vitest';
import { emptyConfig, ENTITIES, ENTITY_KINDS, ENTITY_RECORDS, referencesTo } from './registry.js';

describe('entity registry', () => {
  it('keys every record by its kind', () => {
    for (const kind of ENTITY_KINDS) expect(ENTITIES[kind].kind).toBe(kind);
  });

  it('lists parents before children (every foreign key points at an earlier kind)', () => {
    ENTITY_RECORDS.forEach((r, i) => {
      for (const fk of r.foreign) {
        expect(ENTITY_KINDS, `${r.kind}.${fk.field}`).toContain(fk.target);
        expect(ENTITY_KINDS.indexOf(fk.target), `${r.kind}.${fk.field}`).toBeLessThan(i);
      }
    });
  });

  it('names only its own fields', () => {
    for (const r of ENTITY_RECORDS) {
      const fields = new Set(r.fields);
      const named = [
        ...r.foreign.map((fk) => fk.field),
        ...r.endpointKeys,
        ...r.unique.flat(),
        ...(r.hidden ?? []),
        ...(r.generated ?? []),
        ...r.nullableLists,
        ...r.json,
      ];
      for (const f of named) expect(fields.has(f), `${r.kind}.${f}`).toBe(true);
      expect(fields.has('updated_at'), r.kind).toBe(r.hasUpdatedAt);
      expect(fields.has('tags'), r.kind).toBe(r.tags);
      expect(r.fields[0]).toBe('id');
    }
  });

  it('nests a child under a parent through the child foreign key to that parent', () => {
    for (const r of ENTITY_RECORDS) {
      for (const n of r.nested) {
        const fk = ENTITIES[n.kind].foreign.find((f) => f.field === n.parentField);
        expect(fk?.target, `${r.kind}.${n.key}`).toBe(r.kind);
      }
      for (const n of r.admin?.nested ?? []) {
        const fk = r.foreign.find((f) => f.field === n.field);
        expect(fk?.target, `${r.kind} under ${n.parent}`).toBe(n.parent);
      }
    }
  });

  it('derives who references a kind from the foreign keys', () => {
    expect(referencesTo('services')).toEqual([
      { from: 'routes', field: 'service', onDelete: 'restrict' },
      { from: 'plugins', field: 'service', onDelete: 'cascade' },
    ]);
  });

  it('agrees with the entity schemas: fields, foreign keys, timestamps', () => {
    for (const r of ENTITY_RECORDS) {
      const fields = r.specs.fields;
      // A certificate's `snis` is Kong's transient field: written with it, stored as SNIs.
      const stored = Object.keys(fields).filter((f) => !(r.kind === 'certificates' && f === 'snis'));
      expect(stored.sort(), r.kind).toEqual([...r.fields].sort());
      const foreign = Object.entries(fields).flatMap(([field, f]) =>
        f.type === 'foreign' ? [{ field, target: f.reference, required: f.required === true }] : [],
      );
      const byField = (a: { field: string }, b: { field: string }) => a.field.localeCompare(b.field);
      expect(foreign.sort(byField), r.kind).toEqual(
        r.foreign
          .map((fk) => ({ field: fk.field, target: fk.target, required: fk.required === true }))
          .sort(byField),
      );
      expect(fields.created_at?.type === 'number', r.kind).toBe(r.millis === true);
    }
  });

  it('gives an empty config one list per kind', () => {
    expect(Object.keys(emptyConfig())).toEqual(ENTITY_KINDS);
  });
});

describe('declarative nesting', () => {
  it('nests in a record every kind with a nesting foreign key to it', () => {
    const keys = (kind: keyof typeof ENTITIES) => ENTITIES[kind].nested.map((n) => n.key).sort();
    expect(keys('services')).toEqual(['plugins', 'routes']);
    expect(keys('routes')).toEqual(['plugins']);
    expect(keys('upstreams')).toEqual(['targets']);
    expect(keys('certificates')).toEqual(['snis']);
    expect(keys('consumer_groups')).toEqual(['consumer_group_consumers', 'plugins']);
    expect(keys('consumers')).toEqual([
      'acls',
      'basicauth_credentials',
      'consumer_group_consumers',
      'hmacauth_credentials',
      'jwt_secrets',
      'keyauth_credentials',
      'plugins',
    ]);
  });
});
