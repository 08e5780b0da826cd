import { describe, expect, it } from 'vitest';
import * as td from '../schema/typedefs.js';
import {
  defineEntity,
  emptyConfig,
  ENTITIES,
  ENTITY_KINDS,
  ENTITY_RECORDS,
  referencesTo,
} from './registry.js';

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
        ...r.lists,
        ...r.json,
      ];
      for (const f of named) expect(fields.has(f), `${r.kind}.${f}`).toBe(true);
      expect(fields.has('updated_at'), r.kind).toBe(r.hasUpdatedAt);
      expect(fields.has('tags'), r.kind).toBe(r.tags);
      expect(r.fields[0]).toBe('id');
    }
  });

  it('bounds every string an index holds: unique fields, endpoint keys and tags (issue 8 item 4)', () => {
    for (const r of ENTITY_RECORDS) {
      const indexed = new Set([...r.endpointKeys, ...r.unique.flat(), ...(r.tags ? ['tags'] : [])]);
      for (const name of indexed) {
        let field = r.schema.fields[name]!;
        if (field.type === 'set' || field.type === 'array') field = field.elements;
        if (field.type !== 'string' || field.uuid === true) continue;
        expect(field.len_max, `${r.kind}.${name}`).toBeDefined();
        expect(field.len_max!, `${r.kind}.${name}`).toBeLessThanOrEqual(td.INDEXED_TEXT_MAX);
      }
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

  it('derives stored fields, foreign keys, timestamps and tags from the schema', () => {
    for (const r of ENTITY_RECORDS) {
      const stored = Object.entries(r.schema.fields).filter(([, f]) => !f.transient);
      expect([...r.fields].sort(), r.kind).toEqual(stored.map(([name]) => name).sort());
      expect(r.fields.slice(-(r.hasUpdatedAt ? 2 : 1)), r.kind).toEqual(
        r.hasUpdatedAt ? ['created_at', 'updated_at'] : ['created_at'],
      );
      for (const fk of r.foreign) {
        const f = r.schema.fields[fk.field];
        expect(f?.type === 'foreign' && f.reference, `${r.kind}.${fk.field}`).toBe(fk.target);
        expect(f?.required === true, `${r.kind}.${fk.field}`).toBe(fk.required);
      }
    }
    expect(ENTITIES.certificates.fields).not.toContain('snis');
    expect(ENTITIES.targets.millis).toBe(true);
    expect(ENTITIES.services.millis).toBe(false);
    expect(ENTITIES.keyauth_credentials.hasUpdatedAt).toBe(false);
    expect(ENTITIES.consumer_group_consumers.tags).toBe(false);
    expect(ENTITIES.routes.foreign).toEqual([
      { field: 'service', target: 'services', required: false, onDelete: 'restrict', nests: true },
    ]);
    // text[] lists: the schema's arrays and sets less the Json columns (a route's sources).
    expect(ENTITIES.routes.lists).toEqual(['protocols', 'methods', 'hosts', 'paths', 'snis', 'tags']);
    expect(ENTITIES.services.lists).toEqual(['tags', 'ca_certificates']);
    expect(ENTITIES.certificates.lists).toEqual(['tags']);
    expect(ENTITIES.consumer_group_consumers.lists).toEqual([]);
  });

  it('refuses a definition whose references (or foreign endpoints left out) name a field that is not foreign', () => {
    const base = {
      kind: 'widgets',
      label: 'widget',
      delegate: 'widget',
      validate: (input: unknown) => input as object,
      endpointKeys: [],
      unique: [],
      json: [],
      naturalKey: () => '',
      schema: {
        type: 'record',
        fields: {
          id: td.id(),
          service: td.foreign('services'),
          name: td.text(),
          created_at: td.autoTimestamp(),
        },
      },
    } as const;
    expect(() => defineEntity({ ...base, references: {} })).toThrow(
      expect.objectContaining({ code: 'GH_ERR_REGISTRY_INVALID_DEFINITION' }),
    );
    expect(() => defineEntity({ ...base, references: {} })).toThrow(/missing: service/);
    expect(() =>
      defineEntity({
        ...base,
        references: { service: { onDelete: 'cascade' }, name: { onDelete: 'cascade' } },
      }),
    ).toThrow(/not foreign fields: name/);
    expect(() =>
      defineEntity({
        ...base,
        references: { service: { onDelete: 'cascade' } },
        admin: { path: 'widgets', withoutForeignEndpoints: ['name'] },
      }),
    ).toThrow(/withoutForeignEndpoints names fields that are not foreign: name/);
    const widget = defineEntity({ ...base, references: { service: { onDelete: 'cascade' } } });
    expect(widget.fields).toEqual(['id', 'service', 'name', 'created_at']);
    expect(widget.foreign).toEqual([
      { field: 'service', target: 'services', required: false, onDelete: 'cascade' },
    ]);
    expect([widget.hasUpdatedAt, widget.millis, widget.tags]).toEqual([false, false, false]);
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
      'mtls_auth_credentials',
      'oauth2_credentials',
      'plugins',
    ]);
  });
});
