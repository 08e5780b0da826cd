import { describe, expect, it } from 'vitest';
import { randomHex, randomNonZeroHex } from './random-hex.js';

describe('random hex ids', () => {
  it('are lower-case hex of the length asked, across pool refills, and do not repeat', () => {
    const seen = new Set<string>();
    // 4 KiB of random bytes per pool: 3,000 ids of 32 digits cross several refills.
    for (let i = 0; i < 3000; i++) {
      const id = randomHex(32);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      seen.add(id);
      const span = randomNonZeroHex(16);
      expect(span).toMatch(/^[0-9a-f]{16}$/);
      expect(span).not.toBe('0'.repeat(16));
    }
    expect(seen.size).toBe(3000);
  });
});
