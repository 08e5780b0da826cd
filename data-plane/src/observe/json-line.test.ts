import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { roundMs } from './exchange-facts.js';
import { JsonLine } from './json-line.js';

const out = new JsonLine();
/** What `JsonLine.ms` writes for `ms`, as text. */
function msText(ms: number): string {
  out.clear();
  out.ms(ms);
  return out.text();
}

describe('JsonLine.ms', () => {
  it('writes any double exactly as String(roundMs(ms)) does', () => {
    fc.assert(
      fc.property(fc.double(), (ms) => {
        expect(msText(ms)).toBe(String(roundMs(ms)));
      }),
      { numRuns: 20_000 },
    );
  });

  it('writes realistic latencies (0 to an hour, any sub-microsecond part) as String(roundMs(ms))', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 3_600_000, noNaN: true }), (ms) => {
        expect(msText(ms)).toBe(String(roundMs(ms)));
      }),
      { numRuns: 20_000 },
    );
  });

  it('writes every microsecond count of the first ten seconds as String(roundMs(ms))', () => {
    for (let us = 0; us <= 10_000_000; us += 7) {
      const ms = us / 1000;
      if (msText(ms) !== String(roundMs(ms))) expect(msText(ms)).toBe(String(roundMs(ms)));
    }
  });

  it('writes -1 for a latency not reached, and the edges as JSON numbers', () => {
    expect(msText(-1)).toBe('-1');
    expect(msText(-0.0001)).toBe('-1');
    expect(msText(0)).toBe('0');
    expect(msText(-0)).toBe('0');
    expect(msText(0.0004)).toBe('0');
    expect(msText(0.0005)).toBe('0.001');
    expect(msText(1.92)).toBe('1.92');
    expect(msText(12.3456)).toBe('12.346');
    expect(msText(100)).toBe('100');
    expect(msText(2_147_483.6475)).toBe(String(roundMs(2_147_483.6475)));
    expect(msText(1e12 + 0.25)).toBe(String(roundMs(1e12 + 0.25)));
  });
});

describe('JsonLine', () => {
  const text = (write: (l: JsonLine) => void): string => {
    const l = new JsonLine();
    write(l);
    return l.text();
  };

  it('writes any number as JSON.stringify does (integers by digits, the rest by String)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.nat(),
          fc.maxSafeNat(),
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
        ),
        (n) => {
          expect(text((l) => l.number(n))).toBe(JSON.stringify(n));
        },
      ),
      { numRuns: 20_000 },
    );
    for (const n of [0, -0, 9, 10, 99, 100, 101, 2 ** 53 - 1, 2 ** 53, 1e21])
      expect(text((l) => l.number(n))).toBe(JSON.stringify(n));
  });

  it('writes any string so that JSON.parse of its UTF-8 bytes gives it back (property)', () => {
    const units = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: units }), fc.string({ unit: 'grapheme' })), (s) => {
        expect(JSON.parse(text((l) => l.string(s)))).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });

  it('grows past its first buffer and keeps what was written before', () => {
    const long = 'p'.repeat(10_000);
    const t = text((l) => {
      l.string('a');
      l.string(long);
      l.string('é'.repeat(3000));
      l.stringOrNull(null);
    });
    expect(t).toBe(`"a""${long}""${'é'.repeat(3000)}"null`);
  });
});
