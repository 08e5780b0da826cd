import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickScreen, screenPath } from './screen-path';

const list = [{ path: 'services' }, { path: 'routes' }, { path: 'fleet' }, { path: 'rbac-users' }];

describe('screenPath / pickScreen', () => {
  it('takes the first segment of a hash route, with or without a sub-path or query', () => {
    expect(screenPath('#/services')).toBe('services');
    expect(screenPath('#/fleet/dp-1')).toBe('fleet');
    expect(screenPath('#/traffic?window=15m')).toBe('traffic');
    expect(screenPath('#services')).toBe('services');
    expect(screenPath('')).toBe('');
    expect(pickScreen(list, '#/routes/abc')).toBe(list[1]);
    expect(pickScreen(list, '#/rbac-users')).toBe(list[3]);
  });

  it('falls back to the first screen for an empty, unknown or hidden path', () => {
    expect(pickScreen(list, '')).toBe(list[0]);
    expect(pickScreen(list, '#/nope')).toBe(list[0]);
    expect(pickScreen(list.slice(0, 2), '#/fleet')).toBe(list[0]);
    expect(pickScreen([], '#/fleet')).toBeUndefined();
  });

  it('answers a screen of the list for any typed hash, never throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (typed) => {
        const s = pickScreen(list, typed);
        expect(list).toContain(s);
        if (s !== list[0]) expect(typed).toMatch(new RegExp(`^#?/?${s!.path}(?:[/?]|$)`));
      }),
    );
  });
});
