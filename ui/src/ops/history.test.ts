import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffRows, entityLabel, whenText } from './history';

describe('config history diff rows', () => {
  it('lists added, changed and removed entities per kind with their fields', () => {
    const rows = diffRows({
      changes: {
        routes: {
          added: [{ id: 'r2', name: 'bills' }],
          removed: [{ id: 'r3abcdef00' }],
          changed: [
            { id: 'r1', label: "route 'invoices'", fields: { paths: { from: ['/a'], to: ['/a', '/b'] } } },
          ],
        },
        consumers: { added: [{ id: 'c1', username: 'alice' }], removed: [], changed: [] },
      },
    });
    expect(rows.map((r) => `${r.kind} ${r.op} ${r.label}`)).toEqual([
      "consumers added consumer 'alice'",
      "routes added route 'bills'",
      "routes changed route 'invoices'",
      'routes removed route r3abcdef',
    ]);
    expect(rows[2]!.fields).toEqual([{ name: 'paths', from: '["/a"]', to: '["/a","/b"]' }]);
  });

  it('never names an entity by a redacted secret', () => {
    expect(entityLabel('keyauth_credentials', { id: 'abcdef1234', key: '[redacted]' })).toBe(
      'keyauth_credential abcdef12',
    );
  });

  it('writes times in UTC and a dash for nonsense', () => {
    expect(whenText(0)).toBe('1970-01-01 00:00:00 UTC');
    expect(whenText(Number.NaN)).toBe('—');
  });

  it('does not throw on any diff-shaped answer', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string(),
          fc.oneof(
            fc.anything(),
            fc.record({
              added: fc.anything(),
              changed: fc.array(fc.record({ label: fc.anything(), fields: fc.anything() })),
            }),
          ),
        ),
        (changes) => {
          for (const r of diffRows({ changes: changes as never })) expect(typeof r.label).toBe('string');
        },
      ),
    );
  });
});
