import { describe, expect, it } from 'vitest';
import { decide, headersOf, periodLimit, type PeriodLimit } from './decide.js';
import { windowEnd } from '../../ratelimit/windows.js';

const at = (iso: string) => Date.parse(iso);
const now = at('2024-05-10T10:20:30Z');
const second = periodLimit('second', 2, 1);
const minute = periodLimit('minute', 5, 60);
const hour = periodLimit('hour', 100, 3600);
const starts = [at('2024-05-10T10:20:30Z'), at('2024-05-10T10:20:00Z'), at('2024-05-10T10:00:00Z')];

/** The decision's stop and headers (`hide`: none, as the plugin sends with hide_client_headers). */
function decideAt(
  limits: PeriodLimit[],
  counts: number[],
  previous: number[] | null,
  windowStarts: number[],
  at: number,
  hide: boolean,
) {
  const ends = limits.map((l, i) => windowEnd(l.period, windowStarts[i]!));
  const d = decide(limits, counts, previous, windowStarts, ends, at);
  return { stop: d.stop, headers: hide ? {} : headersOf(limits, d) };
}

describe("rate-limiting decision and headers (Kong's handler)", () => {
  it('admits while the count before the request is under each limit, with what is left after it', () => {
    const d = decideAt([second, minute, hour], [1, 4, 50], null, starts, now, false);
    expect(d.stop).toBe(false);
    expect(d.headers).toEqual({
      'X-RateLimit-Limit-Second': '2',
      'X-RateLimit-Remaining-Second': '1',
      'X-RateLimit-Limit-Minute': '5',
      'X-RateLimit-Remaining-Minute': '1',
      'X-RateLimit-Limit-Hour': '100',
      'X-RateLimit-Remaining-Hour': '50',
      // Least left: a tie between second and minute goes to the longer window.
      'RateLimit-Limit': '5',
      'RateLimit-Remaining': '1',
      'RateLimit-Reset': '30',
    });
  });

  it('refuses once a period is used up; the refused request is not counted in the others', () => {
    const d = decideAt([second, minute, hour], [1, 6, 50], null, starts, now, false);
    expect(d.stop).toBe(true);
    expect(d.headers['X-RateLimit-Remaining-Minute']).toBe('0');
    // Kong: the periods that did not stop the request show the count before it.
    expect(d.headers['X-RateLimit-Remaining-Second']).toBe('2');
    expect(d.headers['X-RateLimit-Remaining-Hour']).toBe('51');
    expect(d.headers['RateLimit-Remaining']).toBe('0');
    expect(d.headers['RateLimit-Reset']).toBe('30');
    expect(d.headers['Retry-After']).toBe('30');
  });

  it('admits the last request of the limit and refuses the next', () => {
    expect(decideAt([minute], [5], null, [starts[1]!], now, false).stop).toBe(false);
    expect(decideAt([minute], [6], null, [starts[1]!], now, false).stop).toBe(true);
  });

  it('sends no header with hide_client_headers, and still decides', () => {
    expect(decideAt([minute], [6], null, [starts[1]!], now, true)).toEqual({ stop: true, headers: {} });
  });

  it('sliding: counts the previous window weighted by the share of it still in the last minute', () => {
    // Half a minute in, 6 in the previous minute: 2 here before this one + 6·0.5 = 5 → refused.
    const refused = decideAt([minute], [3], [6], [starts[1]!], now, false);
    expect(refused.stop).toBe(true);
    // 1 here before this one + 6·0.5 = 4 < 5 → admitted, nothing left after it.
    const admitted = decideAt([minute], [2], [6], [starts[1]!], now, false);
    expect(admitted.stop).toBe(false);
    expect(admitted.headers['X-RateLimit-Remaining-Minute']).toBe('0');
    // Refused with 2 here and 6 before: one more fits once 2 + 6·w < 5, i.e. w < 0.5: at once.
    expect(Number(refused.headers['Retry-After'])).toBe(1);
  });
});
