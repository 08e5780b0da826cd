import { describe, expect, it } from 'vitest';
import { LoginThrottle } from './login-throttle.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('login throttling', () => {
  it('blocks a client after maxFailures within the window, until the window ends', () => {
    const c = clock();
    const t = new LoginThrottle({ maxFailures: 3, windowMs: 60_000, now: c.now });
    t.failed('a');
    t.failed('a');
    expect(t.retryAfter('a')).toBe(0);
    t.failed('a');
    expect(t.retryAfter('a')).toBe(60);
    expect(t.retryAfter('b')).toBe(0);
    c.advance(30_500);
    expect(t.retryAfter('a')).toBe(30);
    c.advance(29_500);
    expect(t.retryAfter('a')).toBe(0);
    t.failed('a');
    expect(t.retryAfter('a')).toBe(0);
  });

  it('starts a new window when the old one ended without reaching the limit', () => {
    const c = clock();
    const t = new LoginThrottle({ maxFailures: 2, windowMs: 1000, now: c.now });
    t.failed('a');
    c.advance(1000);
    t.failed('a');
    expect(t.retryAfter('a')).toBe(0);
    t.failed('a');
    expect(t.retryAfter('a')).toBe(1);
  });

  it('does nothing with maxFailures 0', () => {
    const t = new LoginThrottle({ maxFailures: 0, windowMs: 1000 });
    for (let i = 0; i < 100; i++) t.failed('a');
    expect(t.retryAfter('a')).toBe(0);
  });

  it('tracks at most maxClients addresses, dropping the oldest', () => {
    const c = clock();
    const t = new LoginThrottle({ maxFailures: 1, windowMs: 60_000, maxClients: 3, now: c.now });
    for (const a of ['a', 'b', 'c', 'd']) t.failed(a);
    expect(t.retryAfter('a')).toBe(0);
    for (const a of ['b', 'c', 'd']) expect(t.retryAfter(a)).toBe(60);
  });

  it('refuses nonsensical settings', () => {
    expect(() => new LoginThrottle({ maxFailures: -1, windowMs: 1000 })).toThrow(RangeError);
    expect(() => new LoginThrottle({ maxFailures: 1, windowMs: 0 })).toThrow(RangeError);
  });
});
