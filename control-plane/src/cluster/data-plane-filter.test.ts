import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterParams, parseDataPlaneFilter } from './data-plane-filter.js';

describe('/clustering/data-planes filters', () => {
  it('reads region, repeated labels and sync_status, and writes them back for the next link', () => {
    const r = parseDataPlaneFilter({
      region: 'eu-west-1',
      label: ['tier=gold', 'zone=a'],
      sync_status: 'normal',
    });
    expect(r).toEqual({
      filter: { region: 'eu-west-1', labels: { tier: 'gold', zone: 'a' }, syncStatus: 'normal' },
    });
    if (!('filter' in r)) throw new Error('unreachable');
    expect(new URLSearchParams(filterParams(r.filter)).toString()).toBe(
      'region=eu-west-1&label=tier%3Dgold&label=zone%3Da&sync_status=normal',
    );
    expect(parseDataPlaneFilter({})).toEqual({ filter: {} });
  });

  it.each([
    [{ region: '' }, 'region'],
    [{ region: ['eu', 'us'] }, 'region'],
    [{ region: { x: '1' } }, 'region'],
    [{ label: 'tier' }, 'label'],
    [{ label: ['a=1', 'a=2'] }, 'label'],
    [{ label: Array.from({ length: 17 }, (_, i) => `k${i}=v`) }, 'label'],
    [{ sync_status: 'fine' }, 'sync_status'],
    [{ sync_status: ['normal'] }, 'sync_status'],
  ])('refuses %j naming %s', (query, field) => {
    expect(parseDataPlaneFilter(query as Record<string, unknown>)).toMatchObject({ field });
  });

  it('answers every hostile query with a filter or a named refusal, never a throw', () => {
    const value = fc.oneof(
      fc.fullUnicodeString({ maxLength: 70 }),
      fc.array(fc.fullUnicodeString({ maxLength: 20 }), { maxLength: 20 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 })),
    );
    fc.assert(
      fc.property(
        fc.record({ region: value, label: value, sync_status: value }, { requiredKeys: [] }),
        (query) => {
          const r = parseDataPlaneFilter(query);
          if ('field' in r) expect(['region', 'label', 'sync_status']).toContain(r.field);
          else for (const [, v] of filterParams(r.filter)) expect(v).not.toMatch(/[/\s]/);
        },
      ),
    );
  });
});
