import { describe, expect, it } from 'vitest';
import { hashOf } from './router';

describe('hashOf', () => {
  it("turns a Kong component's route into our hash route", () => {
    expect(hashOf({ fullPath: '/services/abc' })).toBe('#/services/abc');
    expect(hashOf({ fullPath: 'plugins' })).toBe('#/plugins');
    expect(hashOf({ fullPath: '/routes?x=1' })).toBe('#/routes?x=1');
  });
});
