/**
 * The balancing algorithms, compiled once per configuration over a fixed list of peers
 * (indices 0..n-1, weight > 0). `pick(available, hashValue)` returns the chosen index or -1;
 * `available(i)` says whether peer i may be chosen now (healthy, not already tried).
 */
import { hash32 } from './hash.js';

export interface BalancingAlgorithm {
  pick(available: (index: number) => boolean, hashValue: string): number;
}

/**
 * Smooth weighted round-robin (nginx's): every pick adds each available peer's weight to its
 * running score, takes the highest score and lowers it by the total. Deterministic, and
 * spreads heavy peers out (weights 5/1/1 give a a b a c a a, not a a a a a b c).
 */
export class RoundRobin implements BalancingAlgorithm {
  private readonly current: Float64Array;

  constructor(private readonly weights: readonly number[]) {
    this.current = new Float64Array(weights.length);
  }

  pick(available: (index: number) => boolean): number {
    const weights = this.weights;
    const current = this.current;
    let total = 0;
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      if (!available(i)) continue;
      current[i]! += weights[i]!;
      total += weights[i]!;
      if (best < 0 || current[i]! > current[best]!) best = i;
    }
    if (best >= 0) current[best]! -= total;
    return best;
  }
}

/**
 * Weighted least-connections (Kong's: the lowest (in-flight + 1) / weight wins); ties go to the
 * first peer after the previous choice, so equal peers alternate.
 */
export class LeastConnections implements BalancingAlgorithm {
  private next = 0;

  constructor(
    private readonly weights: readonly number[],
    private readonly inFlight: (index: number) => number,
  ) {}

  pick(available: (index: number) => boolean): number {
    const n = this.weights.length;
    let best = -1;
    let bestLoad = 0;
    let bestWeight = 1;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      if (!available(i)) continue;
      const load = this.inFlight(i) + 1;
      const weight = this.weights[i]!;
      // load / weight < bestLoad / bestWeight, without division
      if (best < 0 || load * bestWeight < bestLoad * weight) {
        best = i;
        bestLoad = load;
        bestWeight = weight;
      }
    }
    if (best >= 0) this.next = (best + 1) % n;
    return best;
  }
}

/** Points per peer when all weights are equal (Kong's SERVER_POINTS). */
const POINTS_PER_PEER = 160;

/**
 * Consistent hashing (Kong's ketama-style continuum): a ring of `slots` points; each peer gets
 * points in proportion to its weight at positions hash(`host:port n`) (a collision moves on to
 * the next n), built in sorted peer order so every process builds the same ring. A key lands on
 * point hash(key) % slots and walks backwards to the first point whose peer is available, so
 * removing or marking down one peer only moves the keys that were on it.
 */
export class HashRing implements BalancingAlgorithm {
  /** Peer index per point, -1 for an empty point. */
  readonly points: Int32Array;

  constructor(keys: readonly string[], weights: readonly number[], slots: number) {
    const size = Math.max(1, Math.floor(slots));
    this.points = new Int32Array(size).fill(-1);
    const order = keys
      .map((_, i) => i)
      .sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
    const total = weights.reduce((s, w) => s + w, 0);
    let filled = 0;
    for (const i of order) {
      if (filled >= size) break;
      let entries = Math.floor((weights[i]! / total) * keys.length * POINTS_PER_PEER);
      if (weights[i]! > 0 && entries === 0) entries = 1;
      for (let n = 1; n <= entries && filled < size; n++) {
        const point = hash32(`${keys[i]!} ${n}`) % size;
        if (this.points[point] === -1) {
          this.points[point] = i;
          filled++;
        } else {
          entries++; // collision: move the problem forward, as Kong does
          if (n > size * 4) break;
        }
      }
    }
  }

  pick(available: (index: number) => boolean, hashValue: string): number {
    const points = this.points;
    const size = points.length;
    const start = hash32(hashValue) % size;
    for (let k = 0; k < size; k++) {
      let p = start - k;
      if (p < 0) p += size;
      const i = points[p]!;
      if (i >= 0 && available(i)) return i;
    }
    return -1;
  }
}

/** Kong's latency balancer decay time (seconds). */
const LATENCY_DECAY_S = 10;

/**
 * Kong's `latency` algorithm: each peer keeps an exponentially weighted moving average of its
 * round-trip times (connect + full response), decaying towards 0 with a 10 s time constant while
 * the peer is idle; the peer with the lowest EWMA / weight wins (ties go to the peer after the
 * previous choice). A peer new to the upstream starts at the average of the others (Kong's slow
 * start), so it is neither flooded nor starved.
 */
export class LatencyEwma implements BalancingAlgorithm {
  readonly ewma: Float64Array;
  /** Last update per peer, in seconds (0 = never). */
  readonly touched: Float64Array;
  private next = 0;

  constructor(
    private readonly weights: readonly number[],
    private readonly now: () => number = () => performance.now() / 1000,
  ) {
    this.ewma = new Float64Array(weights.length);
    this.touched = new Float64Array(weights.length);
  }

  /** Seeds peers from a previous compilation (`from[i]` = old index, or -1 for a new peer). */
  inherit(previous: LatencyEwma, from: readonly number[]): void {
    let sum = 0;
    let count = 0;
    from.forEach((old, i) => {
      if (old < 0) return;
      this.ewma[i] = previous.ewma[old]!;
      this.touched[i] = previous.touched[old]!;
      sum += this.ewma[i];
      count++;
    });
    if (count === 0) return;
    const start = sum / count;
    const t = this.now();
    from.forEach((old, i) => {
      if (old >= 0) return;
      this.ewma[i] = start;
      this.touched[i] = t;
    });
  }

  private decayed(i: number, rtt: number, now: number): number {
    const touched = this.touched[i]!;
    // never measured: the first round trip is taken as it is (Kong: last touched at epoch 0)
    const w = touched === 0 ? 0 : Math.exp(-Math.max(0, now - touched) / LATENCY_DECAY_S);
    return this.ewma[i]! * w + rtt * (1 - w);
  }

  /** Records a round trip of `rttMs` milliseconds to peer i. */
  observe(i: number, rttMs: number): void {
    const now = this.now();
    this.ewma[i] = this.decayed(i, rttMs, now);
    this.touched[i] = now;
  }

  pick(available: (index: number) => boolean): number {
    const n = this.weights.length;
    const now = this.now();
    let best = -1;
    let bestScore = 0;
    for (let k = 0; k < n; k++) {
      const i = (this.next + k) % n;
      if (!available(i)) continue;
      const score = this.decayed(i, 0, now) / this.weights[i]!;
      if (best < 0 || score < bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best >= 0) this.next = (best + 1) % n;
    return best;
  }
}
