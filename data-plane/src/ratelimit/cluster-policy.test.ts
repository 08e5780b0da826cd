import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClusterPolicy,
  decodePeerUpdate,
  encodePeerUpdate,
  regionToken,
  type PeerUpdate,
} from './cluster-policy.js';
import type { CounterHit } from './policy.js';

const NOW = 1_700_000_000_000;
const WINDOW_START = NOW - (NOW % 60_000);
const hit = (key: string): CounterHit => ({ key, windowSeconds: 60, windowStart: WINDOW_START });

/** A policy without NATS (peers' updates are fed to `receive` directly). */
function local(now = () => NOW): ClusterPolicy {
  return new ClusterPolicy({ now });
}

describe('cluster policy counting (no NATS)', () => {
  it("counts local increments plus every peer's last total, per window", async () => {
    const p = local();
    expect(await p.increment([hit('a'), { ...hit('a'), windowSeconds: 1, windowStart: NOW }], 2)).toEqual([
      2, 2,
    ]);
    p.receive({ from: 'peer-1', counters: [['a', WINDOW_START, 60, 5]] });
    p.receive({ from: 'peer-2', counters: [['a', WINDOW_START, 60, 1]] });
    expect(await p.usage([hit('a')])).toEqual([8]);
    // A peer's newer total replaces its older one (not added twice).
    p.receive({ from: 'peer-1', counters: [['a', WINDOW_START, 60, 7]] });
    expect(await p.increment([hit('a')], 1)).toEqual([11]);
    expect(await p.usage([{ ...hit('a'), windowSeconds: 1, windowStart: NOW }])).toEqual([2]);
    await p.close();
  });

  it('ignores a repeated or older message from a peer, and its own messages', async () => {
    const p = local();
    p.receive({ from: 'peer', counters: [['a', WINDOW_START, 60, 5]] });
    p.receive({ from: 'peer', counters: [['a', WINDOW_START, 60, 5]] });
    p.receive({ from: 'peer', counters: [['a', WINDOW_START, 60, 3]] });
    p.receive({ from: p.instanceId, counters: [['a', WINDOW_START, 60, 100]] });
    expect(await p.usage([hit('a')])).toEqual([5]);
    await p.close();
  });

  it('forgets a counter two windows after its start', async () => {
    let now = NOW;
    const p = local(() => now);
    await p.increment([hit('a')], 3);
    now = WINDOW_START + 60_000 + 1; // next window: the previous one is still readable (sliding)
    expect(await p.usage([hit('a')])).toEqual([3]);
    now = WINDOW_START + 120_000;
    expect(await p.usage([hit('a')])).toEqual([0]);
    // A peer's update for an expired window is dropped.
    p.receive({ from: 'peer', counters: [['a', WINDOW_START, 60, 9]] });
    expect(await p.usage([hit('a')])).toEqual([0]);
    await p.close();
  });

  it('turns any region into one subject token', () => {
    expect(regionToken('eu-west_1')).toBe('eu-west_1');
    expect(regionToken('a.b *>')).toBe('a_b___');
    expect(regionToken('')).toBe('default');
    expect(regionToken(null)).toBe('default');
  });

  it('round-trips its wire form', () => {
    const u: PeerUpdate = { from: 'x', counters: [['k', WINDOW_START, 60, 3]] };
    expect(decodePeerUpdate(encodePeerUpdate(u))).toEqual(u);
  });
});

describe('cluster policy: hostile messages on the subject (property)', () => {
  const hostileValue = fc.oneof(
    fc.string(),
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'),
    fc.double(),
    fc.integer(),
    fc.constantFrom(-1, 0, 1, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, 1e308),
    fc.boolean(),
    fc.constant(null),
  );
  const hostileEntry = fc.oneof(
    fc.tuple(hostileValue, hostileValue, hostileValue, hostileValue),
    fc.tuple(
      fc.oneof(fc.string(), fc.constantFrom('__proto__', 'a')),
      fc.integer({ min: WINDOW_START - 10_000_000, max: WINDOW_START + 10_000_000 }),
      fc.constantFrom(1, 60, 3600, 0, -60, 1e12),
      fc.oneof(fc.integer({ min: -5, max: 1_000_000 }), fc.double()),
    ),
    fc.array(hostileValue, { maxLength: 6 }),
    hostileValue,
  );
  const hostileMessage = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((b) => b),
    fc
      .record({
        v: fc.oneof(fc.constant(1), hostileValue),
        from: fc.oneof(fc.string({ minLength: 1 }), hostileValue, fc.constant('x'.repeat(200))),
        c: fc.oneof(fc.array(hostileEntry, { maxLength: 20 }), hostileValue),
      })
      .map((m) => new TextEncoder().encode(JSON.stringify(m))),
    fc.json().map((j) => new TextEncoder().encode(j)),
  );

  it('never throws, never counts below zero or to a non-integer, never pollutes prototypes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileMessage, { maxLength: 10 }), async (messages) => {
        const p = local();
        await p.increment([hit('a')], 1);
        for (const data of messages) {
          const update = decodePeerUpdate(data);
          if (update) {
            for (const [key, windowStart, windowSeconds, count] of update.counters) {
              expect(typeof key).toBe('string');
              expect(Number.isSafeInteger(windowStart) && windowStart >= 0).toBe(true);
              expect(Number.isSafeInteger(windowSeconds) && windowSeconds >= 1).toBe(true);
              expect(Number.isSafeInteger(count) && count >= 0).toBe(true);
            }
            p.receive(update);
          }
        }
        const [a] = await p.usage([hit('a')]);
        expect(Number.isSafeInteger(a) && a! >= 1).toBe(true);
        const [proto] = await p.usage([hit('__proto__')]);
        expect(Number.isSafeInteger(proto) && proto! >= 0).toBe(true);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        await p.close();
      }),
      { numRuns: 300 },
    );
  });
});
