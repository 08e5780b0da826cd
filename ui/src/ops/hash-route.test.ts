import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashFor, MAX_SEGMENT_CHARS, MAX_SEGMENTS, parseHash } from './hash-route';

/** A C0 control character or DEL. */
const hasControl = (s: string) => [...s].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127);

describe('hash routes', () => {
  it('reads the screen, its segments and the query', () => {
    expect(parseHash('#/fleet/dp-1')).toEqual({ path: 'fleet', sub: ['dp-1'], query: {} });
    expect(parseHash('#/traffic?window=15m&by=routes')).toEqual({
      path: 'traffic',
      sub: [],
      query: { window: '15m', by: 'routes' },
    });
    expect(parseHash('')).toEqual({ path: '', sub: [], query: {} });
    expect(parseHash('#')).toEqual({ path: '', sub: [], query: {} });
  });

  it('decodes escaped segments and keeps malformed escapes as typed', () => {
    expect(parseHash('#/fleet/a%20b').sub).toEqual(['a b']);
    expect(parseHash('#/fleet/%E0%A4%A').sub).toEqual(['%E0%A4%A']);
  });

  it('ignores __proto__ in the query and drops control characters', () => {
    const r = parseHash('#/audit?__proto__=x&a=%00b');
    expect(Object.getPrototypeOf(r.query)).toBe(null);
    expect(r.query).toEqual({ a: 'b' });
  });

  it('round-trips what hashFor writes', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z-]{0,15}$/),
        fc.array(
          fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !hasControl(s)),
          {
            maxLength: 4,
          },
        ),
        (path, sub) => {
          expect(parseHash(hashFor(path, sub))).toEqual({ path, sub, query: {} });
        },
      ),
    );
  });

  it('never throws on a hostile hash, and bounds what it returns', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 3000 }),
          fc
            .array(
              fc.constantFrom('#', '/', '?', '&', '=', '%', '%2', '%E0', '__proto__', 'a', '\u0000', '€'),
              {
                maxLength: 400,
              },
            )
            .map((a) => a.join('')),
        ),
        (hash) => {
          const r = parseHash(hash);
          expect(typeof r.path).toBe('string');
          expect(r.sub.length).toBeLessThanOrEqual(MAX_SEGMENTS);
          for (const s of [r.path, ...r.sub]) {
            expect(s.length).toBeLessThanOrEqual(MAX_SEGMENT_CHARS);
            expect(hasControl(s)).toBe(false);
          }
          expect(Object.keys(r.query).length).toBeLessThanOrEqual(16);
        },
      ),
    );
  });
});
