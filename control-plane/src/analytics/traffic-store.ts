/**
 * The last hour of the fleet's traffic in memory, at 10-second resolution: a ring of 360 buckets,
 * each holding per DP and service/route/consumer the counts and a merged latency sketch. Bounded:
 * a bucket holds at most `maxKeysPerBucket` combinations (records beyond are counted as dropped),
 * and a bucket is reused, emptied, once its 10 s are an hour old.
 *
 * `query` groups the buckets of a window by one dimension (service, route, consumer, DP, region):
 * totals, and per step when asked, with p50/p95/p99 read from the merged sketches (within the
 * sketches' 1 % relative error whatever was merged).
 */
import { mergeSketch, newSketch, sketchQuantiles, type LatencyQuantiles, type Sketch } from '@gatehouse/shared';
import type { TrafficRecord } from './intake.js';

export const RESOLUTION_MS = 10_000;
export const RING_BUCKETS = 360;
export const DEFAULT_MAX_KEYS_PER_BUCKET = 50_000;

export const DIMENSIONS = ['services', 'routes', 'consumers', 'data-planes', 'regions'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

interface Bucket {
  start: number;
  records: Map<string, TrafficRecord>;
}

/** What a record is, along each dimension: its id and its name (null when it has none). */
const ALONG: Record<Dimension, (r: TrafficRecord) => { id: string; name: string | null }> = {
  services: (r) => ({ id: r.serviceId, name: r.serviceName || null }),
  routes: (r) => ({ id: r.routeId, name: r.routeName || null }),
  consumers: (r) => ({ id: r.consumerId, name: null }),
  'data-planes': (r) => ({ id: r.nodeId, name: null }),
  regions: (r) => ({ id: r.region, name: null }),
};

/** Filters: per dimension, an id or a name the record must have along it. */
export type TrafficFilters = Partial<Record<Dimension, string>>;

export interface TrafficTotals {
  requests: number;
  errors_4xx: number;
  errors_5xx: number;
  /** 5xx responses / requests (0 without requests). */
  error_rate: number;
  latency_ms: LatencyQuantiles;
}

export interface TrafficPoint extends TrafficTotals {
  /** Unix seconds of the step's start. */
  start: number;
}

export interface TrafficGroup extends TrafficTotals {
  id: string | null;
  name: string | null;
  series?: TrafficPoint[];
}

export interface TrafficQuery {
  dimension: Dimension;
  /** [fromMs, toMs): bucket starts within. */
  fromMs: number;
  toMs: number;
  /** Series step (a multiple of RESOLUTION_MS); absent: totals only. */
  stepMs?: number;
  filters?: TrafficFilters;
}

class Acc {
  requests = 0;
  errors4xx = 0;
  errors5xx = 0;
  latency: Sketch = newSketch();

  add(r: TrafficRecord): void {
    this.requests += r.requests;
    this.errors4xx += r.errors4xx;
    this.errors5xx += r.errors5xx;
    mergeSketch(this.latency, r.latency);
  }

  totals(): TrafficTotals {
    return {
      requests: this.requests,
      errors_4xx: this.errors4xx,
      errors_5xx: this.errors5xx,
      error_rate: this.requests > 0 ? Math.round((this.errors5xx / this.requests) * 1e6) / 1e6 : 0,
      latency_ms: sketchQuantiles(this.latency),
    };
  }
}

function matches(r: TrafficRecord, filters: TrafficFilters | undefined): boolean {
  if (!filters) return true;
  for (const d of DIMENSIONS) {
    const want = filters[d];
    if (want === undefined) continue;
    const { id, name } = ALONG[d](r);
    if (id !== want && name !== want) return false;
  }
  return true;
}

export class TrafficStore {
  private readonly ring: (Bucket | null)[] = new Array<Bucket | null>(RING_BUCKETS).fill(null);
  /** Records refused: too old, or the bucket full. */
  droppedRecords = 0;

  constructor(
    private readonly maxKeysPerBucket = DEFAULT_MAX_KEYS_PER_BUCKET,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds a DP's period (its start decides the bucket); false when it is older than the ring. */
  add(periodStartMs: number, records: readonly TrafficRecord[]): boolean {
    const start = Math.floor(periodStartMs / RESOLUTION_MS) * RESOLUTION_MS;
    const oldest = this.oldestStart();
    if (start < oldest) {
      this.droppedRecords += records.length;
      return false;
    }
    const slot = (start / RESOLUTION_MS) % RING_BUCKETS;
    let bucket = this.ring[slot];
    if (!bucket || bucket.start !== start) {
      if (bucket && bucket.start > start) {
        this.droppedRecords += records.length;
        return false;
      }
      bucket = { start, records: new Map() };
      this.ring[slot] = bucket;
    }
    for (const r of records) {
      const key = `${r.nodeId}|${r.serviceId}|${r.routeId}|${r.consumerId}`;
      const held = bucket.records.get(key);
      if (held) {
        held.requests += r.requests;
        held.errors4xx += r.errors4xx;
        held.errors5xx += r.errors5xx;
        mergeSketch(held.latency, r.latency);
      } else if (bucket.records.size >= this.maxKeysPerBucket) {
        this.droppedRecords++;
      } else {
        bucket.records.set(key, { ...r });
      }
    }
    return true;
  }

  /** Start of the oldest bucket the ring still holds (an hour back). */
  oldestStart(): number {
    const current = Math.floor(this.now() / RESOLUTION_MS) * RESOLUTION_MS;
    return current - (RING_BUCKETS - 1) * RESOLUTION_MS;
  }

  /** Combinations held, over every bucket (for bounds and measurements). */
  size(): number {
    let n = 0;
    const oldest = this.oldestStart();
    for (const b of this.ring) if (b && b.start >= oldest) n += b.records.size;
    return n;
  }

  query(q: TrafficQuery): TrafficGroup[] {
    const along = ALONG[q.dimension];
    const groups = new Map<string, { id: string; name: string | null; total: Acc; steps: Map<number, Acc> }>();
    const oldest = this.oldestStart();
    for (const b of this.ring) {
      if (!b || b.start < oldest || b.start < q.fromMs || b.start >= q.toMs) continue;
      const step = q.stepMs ? q.fromMs + Math.floor((b.start - q.fromMs) / q.stepMs) * q.stepMs : 0;
      for (const r of b.records.values()) {
        if (!matches(r, q.filters)) continue;
        const { id, name } = along(r);
        let g = groups.get(id);
        if (!g) {
          g = { id, name, total: new Acc(), steps: new Map() };
          groups.set(id, g);
        }
        if (name !== null) g.name = name;
        g.total.add(r);
        if (q.stepMs) {
          let s = g.steps.get(step);
          if (!s) g.steps.set(step, (s = new Acc()));
          s.add(r);
        }
      }
    }
    const out: TrafficGroup[] = [];
    for (const g of groups.values()) {
      const group: TrafficGroup = { id: g.id === '' ? null : g.id, name: g.name, ...g.total.totals() };
      if (q.stepMs) {
        group.series = [...g.steps.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([start, acc]) => ({ start: Math.floor(start / 1000), ...acc.totals() }));
      }
      out.push(group);
    }
    // Busiest first; ties by id, so the order is stable.
    out.sort((a, b) => b.requests - a.requests || String(a.id).localeCompare(String(b.id)));
    return out;
  }
}
