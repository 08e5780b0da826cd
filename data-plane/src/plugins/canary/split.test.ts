import { describe, expect, it } from 'vitest';
import { bucketOf, fixedRollout, inCanary, openBuckets, timedRollout } from './split.js';

describe('plugin canary (split)', () => {
  it('opens exactly steps × percentage / 100 buckets for a fixed split', () => {
    expect(openBuckets(fixedRollout(1000, 30), 0)).toBe(300);
    expect(openBuckets(fixedRollout(1000, 0), 0)).toBe(0);
    expect(openBuckets(fixedRollout(1000, 100), 0)).toBe(1000);
    // A float a hair over the percentage opens no extra bucket; a part-bucket is not opened.
    expect(openBuckets(fixedRollout(100, 29.000000000000004), 0)).toBe(29);
    expect(openBuckets(fixedRollout(10, 15), 0)).toBe(1);
    expect(openBuckets(fixedRollout(1, 99.9), 0)).toBe(0);
  });

  it('ramps a timed release one increment per duration / steps, from none before start to all after the end', () => {
    const start = 1_700_000_000;
    const ramp = timedRollout(10, start, 36_000); // 10 increments of 10 %, one per hour
    const at = (seconds: number) => openBuckets(ramp, (start + seconds) * 1000);
    expect(at(-1)).toBe(0);
    expect(at(0)).toBe(0);
    expect(at(3599)).toBe(0);
    expect(at(3600)).toBe(1);
    expect(at(5 * 3600 + 1)).toBe(5);
    expect(at(36_000 - 1)).toBe(9);
    expect(at(36_000)).toBe(10);
    expect(at(10 * 36_000)).toBe(10);
  });

  it('puts a value in the same bucket every time, in [0, steps)', () => {
    for (const steps of [1, 7, 1000, 1_000_000]) {
      for (const v of ['alice', '10.0.0.1', '', 'ü', 'x'.repeat(10_000)]) {
        const b = bucketOf(v, steps);
        expect(b).toBe(bucketOf(v, steps));
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThan(steps);
        expect(Number.isInteger(b)).toBe(true);
      }
    }
  });

  it('keeps a value on the canary once the ramp reached it (buckets only ever open)', () => {
    const start = 1_000;
    const ramp = timedRollout(1000, start, 600);
    for (let n = 0; n < 300; n++) {
      const bucket = bucketOf(`consumer-${n}`, 1000);
      let reached = false;
      for (let s = 0; s <= 660; s += 15) {
        const canary = inCanary(ramp, bucket, (start + s) * 1000);
        if (reached) expect(canary).toBe(true);
        reached ||= canary;
      }
      expect(reached).toBe(true);
    }
  });

  // 20,000 sequential IPv4 addresses into 1000 buckets with 30 % open: each address is in the
  // canary with probability 0.3 if the hash is uniform; the count is Binomial(20000, 0.3), mean
  // 6000, σ = √(20000·0.3·0.7) ≈ 64.8. The values are fixed, so the count is too; the bound of
  // ±6σ (±389) is what a uniform hash must meet, and a biased one (e.g. a hash of the last octet
  // only) misses it.
  it('splits 20,000 distinct client addresses within 6σ of the percentage', () => {
    const ramp = fixedRollout(1000, 30);
    let canary = 0;
    for (let n = 0; n < 20_000; n++) {
      const ip = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
      if (inCanary(ramp, bucketOf(ip, 1000), 0)) canary++;
    }
    expect(Math.abs(canary - 6000)).toBeLessThanOrEqual(389);
  });
});
