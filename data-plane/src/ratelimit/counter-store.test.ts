import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CounterStore } from './counter-store.js';

describe('CounterStore (the local policy counters)', () => {
  const hit = (key: string, windowStart = 0, windowSeconds = 60) => ({ key, windowSeconds, windowStart });

  it('adds and answers each counter after the add, keyed by key, window length and start', () => {
    const store = new CounterStore(() => 0);
    expect(store.increment([hit('a'), hit('a', 0, 1)], 1)).toEqual([1, 1]);
    expect(store.increment([hit('a'), hit('b'), hit('a', 60_000)], 2)).toEqual([3, 2, 2]);
    expect(store.usage([hit('a'), hit('never')])).toEqual([3, 0]);
  });

  it('never goes below zero and does not create counters on a take-back', () => {
    const store = new CounterStore(() => 0);
    expect(store.increment([hit('a')], -1)).toEqual([0]);
    expect(store.size).toBe(0);
    store.increment([hit('a')], 1);
    expect(store.increment([hit('a')], -5)).toEqual([0]);
  });

  it('keeps a counter through the next window (the sliding window reads it), then drops it', () => {
    let now = 0;
    const store = new CounterStore(() => now);
    store.increment([hit('a', 0, 60)], 4);
    now = 119_000;
    store.sweep();
    expect(store.usage([hit('a', 0, 60)])).toEqual([4]);
    now = 120_000;
    store.sweep();
    expect(store.usage([hit('a', 0, 60)])).toEqual([0]);
    expect(store.size).toBe(0);
  });

  it('sweeps by itself as counters are added', () => {
    let now = 0;
    const store = new CounterStore(() => now);
    for (let i = 0; i < 100; i += 1) store.increment([hit(`k${i}`, 0, 1)], 1);
    expect(store.size).toBe(100);
    now = 10_000;
    store.increment([hit('fresh', 10_000, 1)], 1);
    expect(store.size).toBe(1);
  });

  it('property: counts as one map keyed by key, window length and start, swept after two windows', () => {
    const hitArb = fc.record({
      key: fc.constantFrom('a', 'b', 'p:consumer:c1', '10.0.0.1', ''),
      windowSeconds: fc.constantFrom(1, 60, 3600),
      windowStart: fc.constantFrom(0, 1000, 60_000, 120_000, 3_600_000),
    });
    const op = fc.oneof(
      fc.record({
        t: fc.constant('inc' as const),
        hits: fc.array(hitArb, { maxLength: 4 }),
        amount: fc.integer({ min: -3, max: 3 }),
      }),
      fc.record({ t: fc.constant('usage' as const), hits: fc.array(hitArb, { maxLength: 4 }) }),
      fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 200_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        let now = 0;
        const store = new CounterStore(() => now);
        // The model: one entry per key|length|start, dropped once its window and the next are over.
        const model = new Map<string, { count: number; expiresAt: number }>();
        const id = (h: { key: string; windowSeconds: number; windowStart: number }) =>
          `${h.windowSeconds}|${h.windowStart}|${h.key}`;
        const live = (h: { key: string; windowSeconds: number; windowStart: number }) => model.get(id(h));
        for (const o of ops) {
          if (o.t === 'tick') {
            now += o.ms;
            continue;
          }
          // Both forget what is past its expiry at a sweep (the store sweeps by itself at most once a second).
          store.sweep();
          for (const [k, e] of model) if (e.expiresAt <= now) model.delete(k);
          if (o.t === 'usage') {
            expect(store.usage(o.hits)).toEqual(o.hits.map((h) => live(h)?.count ?? 0));
            continue;
          }
          const expected = o.hits.map((h) => {
            const e = live(h);
            if (e === undefined) {
              const count = Math.max(0, o.amount);
              if (count > 0) model.set(id(h), { count, expiresAt: h.windowStart + h.windowSeconds * 2000 });
              return count;
            }
            e.count = Math.max(0, e.count + o.amount);
            return e.count;
          });
          expect(store.increment(o.hits, o.amount)).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});
