import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cell, ENTITY_KINDS, entityLabel, entityFromLookup } from './entity-kinds';

describe('entity kinds the configuration screens show', () => {
  it("follows Kong Manager's navigation order and labels, one screen per collection", () => {
    expect(ENTITY_KINDS.map((k) => k.title)).toEqual([
      'Gateway Services',
      'Routes',
      'Consumers',
      'Consumer Groups',
      'Upstreams',
      'Certificates',
      'CA Certificates',
      'SNIs',
      'Vaults',
      'Keys',
      'Key Sets',
    ]);
    for (const key of ['path', 'collection'] as const)
      expect(new Set(ENTITY_KINDS.map((k) => k[key])).size).toBe(ENTITY_KINDS.length);
  });

  it('gives nested lists keys unique on their screen (their form ids start with them)', () => {
    for (const k of ENTITY_KINDS) {
      const keys = (k.nested ?? []).map((n) => n.key);
      expect(new Set(keys).size).toBe(keys.length);
      for (const n of k.nested ?? []) expect(n.schema !== undefined || n.members !== undefined).toBe(true);
    }
  });

  it('names an entity by a short one-line name field, never by a PEM key, else by its id', () => {
    expect(entityLabel({ id: '0123456789', name: 'orders' })).toBe('orders');
    expect(entityLabel({ id: '0123456789', key: '-----BEGIN PRIVATE KEY-----\nabc' })).toBe('01234567');
    expect(entityLabel({ id: '0123456789', username: null, custom_id: 'c-1' })).toBe('c-1');
  });

  it('shows any value as cell text', () => {
    const services = ENTITY_KINDS[0]!;
    const url = services.columns.find((c) => c.key === 'url')!;
    expect(cell(url, { id: 'x', protocol: 'http', host: 'h', port: 80, path: '/v1' })).toBe('http://h:80/v1');
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (fields) => {
        const e = { ...fields, id: 'abcdefghij' };
        for (const k of ENTITY_KINDS) for (const c of k.columns) expect(typeof cell(c, e)).toBe('string');
        expect(typeof entityLabel(e)).toBe('string');
      }),
    );
  });
});

describe('entityFromLookup', () => {
  it('takes an entity, unwraps a consumer group, and answers null for anything else', () => {
    expect(entityFromLookup({ id: 'a', name: 's' }, 'services')).toEqual({ id: 'a', name: 's' });
    expect(
      entityFromLookup(
        { consumer_group: { id: 'g', name: 'gold' }, consumers: [], plugins: [] },
        'consumer_groups',
      ),
    ).toEqual({ id: 'g', name: 'gold' });
    for (const body of [null, 'x', [], {}, { consumer_group: null }, { id: 3 }])
      expect(entityFromLookup(body, 'consumer_groups')).toBeNull();
  });
});
