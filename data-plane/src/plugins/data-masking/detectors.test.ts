import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileDetectors, ibanValid, luhnValid } from './detectors.js';

const REDACT = () => '[x]';

describe('data-masking detectors', () => {
  it.each([
    ['4111111111111111', true],
    ['4111 1111 1111 1111', true],
    ['5500-0000-0000-0004', true],
    ['4111111111111112', false],
    ['1234567812345678', false],
  ])('Luhn: %s → %s', (card, valid) => {
    expect(luhnValid(card.replace(/[ -]/g, ''))).toBe(valid);
  });

  it.each([
    ['GB82 WEST 1234 5698 7654 32', true],
    ['DE89370400440532013000', true],
    ['FR1420041010050500013M02606', true],
    ['GB82 WEST 1234 5698 7654 33', false],
    ['DE00370400440532013000', false],
    ['XX12', false],
  ])('IBAN mod-97: %s → %s', (iban, valid) => {
    expect(ibanValid(iban)).toBe(valid);
  });

  it('masks only checked items inside a string, leaving the rest', () => {
    const scan = compileDetectors(['email', 'card', 'iban'])!;
    expect(scan('mail ann@example.com or bob@ex.co.uk now', REDACT)).toBe('mail [x] or [x] now');
    expect(scan('card 4111 1111 1111 1111 ok', REDACT)).toBe('card [x] ok');
    expect(scan('not a card 4111111111111112', REDACT)).toBe('not a card 4111111111111112');
    expect(scan('iban DE89370400440532013000.', REDACT)).toBe('iban [x].');
    expect(scan('bad iban DE00370400440532013000', REDACT)).toBe('bad iban DE00370400440532013000');
    expect(scan('order 12345', REDACT)).toBe('order 12345');
  });

  it('runs only the detectors asked for', () => {
    expect(compileDetectors([])).toBeNull();
    const email = compileDetectors(['email'])!;
    expect(email('a@b.io 4111111111111111', REDACT)).toBe('[x] 4111111111111111');
  });

  it('scans hostile strings without throwing, and a long one in linear time (fast-check)', () => {
    const scan = compileDetectors(['email', 'card', 'iban'])!;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        expect(typeof scan(s, REDACT)).toBe('string');
      }),
      { numRuns: 300 },
    );
    // Near-misses repeated: bounded quantifiers keep this a single pass (no timing asserted).
    const hostile = 'a'.repeat(64).concat('@').repeat(5000) + '1 '.repeat(50_000) + 'GB82'.repeat(10_000);
    expect(typeof scan(hostile, REDACT)).toBe('string');
  });
});
