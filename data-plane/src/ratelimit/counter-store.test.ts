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
});
