import { describe, expect, it } from 'vitest';
import { previousWindowStart, secondsUntil, windowEnd, windowStart } from './windows.js';

const at = (iso: string) => Date.parse(iso);

describe('rate-limit windows (Kong get_timestamps, UTC)', () => {
  const now = at('2024-02-29T13:45:30.250Z');

  it('aligns each period on its UTC boundary', () => {
    expect(windowStart('second', now)).toBe(at('2024-02-29T13:45:30Z'));
    expect(windowStart('minute', now)).toBe(at('2024-02-29T13:45:00Z'));
    expect(windowStart('hour', now)).toBe(at('2024-02-29T13:00:00Z'));
    expect(windowStart('day', now)).toBe(at('2024-02-29T00:00:00Z'));
    expect(windowStart('month', now)).toBe(at('2024-02-01T00:00:00Z'));
    expect(windowStart('year', now)).toBe(at('2024-01-01T00:00:00Z'));
  });

  it('ends months and years on the calendar (29-day February, 366-day leap year)', () => {
    expect(windowEnd('month', at('2024-02-01T00:00:00Z'))).toBe(at('2024-03-01T00:00:00Z'));
    expect(windowEnd('month', at('2024-12-01T00:00:00Z'))).toBe(at('2025-01-01T00:00:00Z'));
    expect(windowEnd('year', at('2024-01-01T00:00:00Z'))).toBe(at('2025-01-01T00:00:00Z'));
    expect(windowEnd('minute', at('2024-02-29T13:45:00Z'))).toBe(at('2024-02-29T13:46:00Z'));
  });

  it('finds the previous window, across month and year boundaries', () => {
    expect(previousWindowStart('month', at('2024-03-01T00:00:00Z'))).toBe(at('2024-02-01T00:00:00Z'));
    expect(previousWindowStart('year', at('2024-01-01T00:00:00Z'))).toBe(at('2023-01-01T00:00:00Z'));
    expect(previousWindowStart('second', at('2024-01-01T00:00:00Z'))).toBe(at('2023-12-31T23:59:59Z'));
  });

  it("answers Kong's reset: whole seconds left, at least 1", () => {
    expect(secondsUntil(at('2024-02-29T13:46:00Z'), now)).toBe(30);
    expect(secondsUntil(now, now)).toBe(1);
    expect(secondsUntil(now + 1000, now)).toBe(1);
  });
});
