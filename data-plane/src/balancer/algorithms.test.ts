import { describe, expect, it } from 'vitest';
import { HashRing, LatencyEwma, LeastConnections, RoundRobin } from './algorithms.js';
import { hash32 } from './hash.js';

const all = (): boolean => true;

function picks(n: number, pick: () => number): number[] {
  return Array.from({ length: n }, pick);
}

describe('smooth weighted round-robin', () => {
  it('spreads weights 5/1/1 smoothly and deterministically (nginx order)', () => {
    const rr = new RoundRobin([5, 1, 1]);
    expect(picks(7, () => rr.pick(all))).toEqual([0, 0, 1, 0, 2, 0, 0]);
    // the same sequence repeats every total-weight picks
    expect(picks(7, () => rr.pick(all))).toEqual([0, 0, 1, 0, 2, 0, 0]);
  });

  it('gives each peer its weight share over a cycle', () => {
    const rr = new RoundRobin([3, 2, 1]);
    const counts = [0, 0, 0];
    for (const i of picks(600, () => rr.pick(all))) counts[i]!++;
    expect(counts).toEqual([300, 200, 100]);
  });

  it('skips unavailable peers and returns -1 when none is available', () => {
    const rr = new RoundRobin([1, 1, 1]);
    expect(new Set(picks(6, () => rr.pick((i) => i !== 1)))).toEqual(new Set([0, 2]));
    expect(rr.pick(() => false)).toBe(-1);
  });
});

describe('weighted least-connections', () => {
  it('picks the peer with the lowest (in-flight + 1) / weight', () => {
    const inFlight = [4, 1, 0];
    const lc = new LeastConnections([1, 1, 1], (i) => inFlight[i]!);
    expect(lc.pick(all)).toBe(2);
    inFlight[2] = 5;
    expect(lc.pick(all)).toBe(1);
  });

  it('weights the load: a weight-4 peer with 3 in flight ties with an idle weight-1 peer', () => {
    const inFlight = [3, 0];
    const lc = new LeastConnections([4, 1], (i) => inFlight[i]!);
    // (3+1)/4 = 1 == (0+1)/1: ties alternate
    const chosen = new Set(picks(2, () => lc.pick(all)));
    expect(chosen).toEqual(new Set([0, 1]));
    inFlight[0] = 2; // 3/4 < 1
    expect(lc.pick(all)).toBe(0);
  });

  it('alternates between equally loaded peers', () => {
    const lc = new LeastConnections([1, 1, 1], () => 0);
    expect(picks(6, () => lc.pick(all))).toEqual([0, 1, 2, 0, 1, 2]);
  });
});

describe('consistent-hashing ring', () => {
  const keys = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80'];

  it('maps the same key to the same peer, and builds the same ring in any input order', () => {
    const ring = new HashRing(keys, [10, 10, 10], 1000);
    const reversed = new HashRing([...keys].reverse(), [10, 10, 10], 1000);
    for (let k = 0; k < 200; k++) {
      const key = `user-${k}`;
      const i = ring.pick(all, key);
      expect(ring.pick(all, key)).toBe(i);
      expect(keys[i]).toBe([...keys].reverse()[reversed.pick(all, key)]);
    }
  });

  it('uses the configured number of slots and gives peers points by weight', () => {
    const ring = new HashRing(keys, [100, 100, 200], 10000);
    expect(ring.points.length).toBe(10000);
    const perPeer = [0, 0, 0];
    for (const p of ring.points) if (p >= 0) perPeer[p]!++;
    // Kong: floor(weight / total * peers * 160) points each
    expect(perPeer).toEqual([120, 120, 240]);
  });

  it('spreads keys roughly by weight', () => {
    const ring = new HashRing(keys, [1, 1, 2], 10000);
    const counts = [0, 0, 0];
    for (let k = 0; k < 20000; k++) counts[ring.pick(all, `k${k}`)]!++;
    expect(counts[2]! / 20000).toBeGreaterThan(0.35);
    expect(counts[2]! / 20000).toBeLessThan(0.65);
    expect(counts[0]! / 20000).toBeGreaterThan(0.12);
    expect(counts[1]! / 20000).toBeGreaterThan(0.12);
  });

  it('moves only the keys of a peer that becomes unavailable', () => {
    const ring = new HashRing(keys, [1, 1, 1], 1000);
    let moved = 0;
    for (let k = 0; k < 3000; k++) {
      const key = `k${k}`;
      const before = ring.pick(all, key);
      const after = ring.pick((i) => i !== 1, key);
      if (before !== 1) expect(after).toBe(before);
      else {
        expect(after).not.toBe(1);
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('returns -1 when no peer is available', () => {
    const ring = new HashRing(keys, [1, 1, 1], 100);
    expect(ring.pick(() => false, 'x')).toBe(-1);
  });

  it('hash32 is a stable 32-bit hash', () => {
    expect(hash32('')).toBe(hash32(''));
    expect(hash32('10.0.0.1')).not.toBe(hash32('10.0.0.2'));
    expect(hash32('abc')).toBeGreaterThanOrEqual(0);
    expect(hash32('abc')).toBeLessThan(2 ** 32);
  });
});

describe('latency (EWMA) balancer', () => {
  it('prefers the peer with the lower round-trip EWMA per weight, and lets idle EWMAs decay', () => {
    let now = 1000;
    const lat = new LatencyEwma([1, 1], () => now);
    lat.observe(0, 50);
    lat.observe(1, 5);
    for (let k = 0; k < 5; k++) expect(lat.pick(all)).toBe(1);
    expect(lat.pick((i) => i !== 1)).toBe(0);
    // weights divide the score: a 20x heavier slow peer wins
    const weighted = new LatencyEwma([20, 1], () => now);
    weighted.observe(0, 50);
    weighted.observe(1, 5);
    expect(weighted.pick(all)).toBe(0);
    // scores decay towards 0 while idle (10 s time constant), with the ratio kept
    now += 100;
    expect(lat.pick(all)).toBe(1);
  });

  it('alternates between peers without measurements, and seeds a new peer with the average', () => {
    const now = (): number => 5;
    const lat = new LatencyEwma([1, 1], now);
    expect([lat.pick(all), lat.pick(all), lat.pick(all)]).toEqual([0, 1, 0]);
    lat.observe(0, 10);
    lat.observe(1, 30);
    const next = new LatencyEwma([1, 1, 1], now);
    next.inherit(lat, [0, 1, -1]);
    expect(Array.from(next.ewma)).toEqual([10, 30, 20]);
  });
});
