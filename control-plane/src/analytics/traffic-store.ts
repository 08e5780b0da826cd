/**
 * The last hour of the fleet's traffic in memory, at 10-second resolution: a ring of 360 buckets.
 * Each bucket holds two merges of what the DPs sent, so its size does not grow with the number
 * of DPs times the number of entities:
 *  - per region and service/route/consumer (every DP of the region merged): the services,
 *    routes, consumers and regions dimensions, filtered by any of those;
 *  - per DP (everything it served merged): the data-planes dimension, filtered by DP or region.
 * Each holds counts and a merged latency sketch. Bounded: a bucket holds at most
 * `maxKeysPerBucket` combinations of each kind (records beyond are counted as dropped), and a
 * bucket is reused, emptied, once its 10 s are an hour old.
 *
 * `query` groups the buckets of a window by one dimension: totals, and per step when asked, with
 * p50/p95/p99 read from the merged sketches (within the sketches' 1 % relative error whatever
 * was merged).
 */
import {
  addCompact,
  compactSketch,
  expandSketch,
  mergeSketch,
  newSketch,
  sketchQuantiles,
  type CompactSketch,
  type LatencyQuantiles,
  type Sketch,
} from '@gatehouse/shared';
import type { TrafficRecord } from './intake.js';

export const RESOLUTION_MS = 10_000;
export const RING_BUCKETS = 360;
export const DEFAULT_MAX_KEYS_PER_BUCKET = 50_000;

export const DIMENSIONS = ['services', 'routes', 'consumers', 'data-planes', 'regions'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** A record as held: its sketch compacted once the bucket is closed (see COMPACT_AFTER_MS). */
export interface HeldRecord extends Omit<TrafficRecord, 'latency'> {
  latency: Sketch | CompactSketch;
}

interface Bucket {
  start: number;
  /** Per region and service/route/consumer (nodeId empty). */
  entities: Map<string, HeldRecord>;
  /** Per DP (service, route and consumer empty). */
  nodes: Map<string, HeldRecord>;
  /** Every sketch in it is compact. */
  compact: boolean;
}

/**
 * A bucket this far behind the current one has its sketches compacted (a few KB each to 4 bytes
 * a key); a summary arriving later still merges (the record's sketch is expanded again).
 */
export const COMPACT_AFTER_MS = 30_000;

const isSketch = (l: Sketch | CompactSketch): l is Sketch => 'store' in l;

/** The dimensions each kind of record answers, and the filters it can apply. */
export const NODE_FILTERS: ReadonlySet<Dimension> = new Set(['data-planes', 'regions']);
export const ENTITY_FILTERS: ReadonlySet<Dimension> = new Set(['services', 'routes', 'consumers', 'regions']);

/** The filters a query of `dimension` can apply. */
export function filtersFor(dimension: Dimension): ReadonlySet<Dimension> {
  return dimension === 'data-planes' ? NODE_FILTERS : ENTITY_FILTERS;
}

/** What a record is, along each dimension: its id and its name (null when it has none). */
export const ALONG_FIELDS: Record<Dimension, { id: IdField; name?: IdField }> = {
  services: { id: 'serviceId', name: 'serviceName' },
  routes: { id: 'routeId', name: 'routeName' },
  consumers: { id: 'consumerId', name: 'consumerName' },
  'data-planes': { id: 'nodeId' },
  regions: { id: 'region' },
};
/** The string fields of a record that say what it is. */
export type IdField =
  'nodeId' | 'region' | 'serviceId' | 'serviceName' | 'routeId' | 'routeName' | 'consumerId' | 'consumerName';

const ALONG = Object.fromEntries(
  DIMENSIONS.map((d) => {
    const { id, name } = ALONG_FIELDS[d];
    return [d, (r: HeldRecord) => ({ id: r[id], name: name ? r[name] || null : null })];
  }),
) as Record<Dimension, (r: HeldRecord) => { id: string; name: string | null }>;

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

  add(r: HeldRecord): void {
    this.requests += r.requests;
    this.errors4xx += r.errors4xx;
    this.errors5xx += r.errors5xx;
    if (isSketch(r.latency)) mergeSketch(this.latency, r.latency);
    else addCompact(this.latency, r.latency);
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

function matches(r: HeldRecord, filters: TrafficFilters | undefined): boolean {
  if (!filters) return true;
  for (const d of DIMENSIONS) {
    const want = filters[d];
    if (want === undefined) continue;
    const { id, name } = ALONG[d](r);
    if (id !== want && name !== want) return false;
  }
  return true;
}

/** The key of a record's region × service × route × consumer merge. */
export function entityKey(r: TrafficRecord): string {
  return `${r.region}|${r.serviceId}|${r.routeId}|${r.consumerId}`;
}

/**
 * A record as a merge of its own: per entity (`node` false: the node id dropped) or per DP
 * (`node` true: service, route and consumer dropped), with a sketch of its own.
 */
export function heldRecord(r: TrafficRecord, node: boolean): HeldRecord & { latency: Sketch } {
  const latency = newSketch();
  mergeSketch(latency, r.latency);
  return node
    ? {
        ...r,
        serviceId: '',
        serviceName: '',
        routeId: '',
        routeName: '',
        consumerId: '',
        consumerName: '',
        latency,
      }
    : { ...r, nodeId: '', latency };
}

/** Adds `r` to a merge made by heldRecord (with the same `node`). */
export function mergeRecord(held: HeldRecord, r: TrafficRecord, node: boolean): void {
  held.requests += r.requests;
  held.errors4xx += r.errors4xx;
  held.errors5xx += r.errors5xx;
  if (!isSketch(held.latency)) held.latency = expandSketch(held.latency);
  mergeSketch(held.latency, r.latency);
  if (!node) {
    if (r.serviceName) held.serviceName = r.serviceName;
    if (r.routeName) held.routeName = r.routeName;
    if (r.consumerName) held.consumerName = r.consumerName;
  }
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
      bucket = { start, entities: new Map(), nodes: new Map(), compact: false };
      this.ring[slot] = bucket;
    }
    bucket.compact = false;
    for (const r of records) {
      this.merge(bucket.entities, entityKey(r), r, false);
      this.merge(bucket.nodes, r.nodeId, r, true);
    }
    this.compactClosed();
    return true;
  }

  /** Compacts the sketches of buckets at least COMPACT_AFTER_MS behind the current one. */
  private compactClosed(): void {
    const before = Math.floor(this.now() / RESOLUTION_MS) * RESOLUTION_MS - COMPACT_AFTER_MS;
    for (const b of this.ring) {
      if (!b || b.compact || b.start > before) continue;
      for (const map of [b.entities, b.nodes])
        for (const r of map.values()) if (isSketch(r.latency)) r.latency = compactSketch(r.latency);
      b.compact = true;
    }
  }

  private merge(into: Map<string, HeldRecord>, key: string, r: TrafficRecord, node: boolean): void {
    const held = into.get(key);
    if (held) return mergeRecord(held, r, node);
    if (into.size >= this.maxKeysPerBucket) {
      this.droppedRecords++;
      return;
    }
    into.set(key, heldRecord(r, node));
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
    for (const b of this.ring) if (b && b.start >= oldest) n += b.entities.size + b.nodes.size;
    return n;
  }

  query(q: TrafficQuery): TrafficGroup[] {
    const grouping = new TrafficGrouping(q);
    this.collect(q, grouping);
    return grouping.result();
  }

  /**
   * Each data plane's latency over the buckets starting within [fromMs, toMs), as one merged
   * sketch (the staged rollouts' gate merges these per group of DPs: a group's p99 is then the
   * p99 of its requests, not a mean of per-DP p99s).
   */
  latencyByDataPlane(fromMs: number, toMs: number): Map<string, Sketch> {
    const out = new Map<string, Sketch>();
    const oldest = this.oldestStart();
    for (const b of this.ring) {
      if (!b || b.start < oldest || b.start < fromMs || b.start >= toMs) continue;
      for (const r of b.nodes.values()) {
        let sketch = out.get(r.nodeId);
        if (!sketch) out.set(r.nodeId, (sketch = newSketch()));
        if (isSketch(r.latency)) mergeSketch(sketch, r.latency);
        else addCompact(sketch, r.latency);
      }
    }
    return out;
  }

  /** Adds the held records of the buckets starting within [q.fromMs, q.toMs) to `into`. */
  collect(q: Pick<TrafficQuery, 'dimension' | 'fromMs' | 'toMs'>, into: TrafficGrouping): void {
    const oldest = this.oldestStart();
    for (const b of this.ring) {
      if (!b || b.start < oldest || b.start < q.fromMs || b.start >= q.toMs) continue;
      for (const r of (q.dimension === 'data-planes' ? b.nodes : b.entities).values()) into.add(b.start, r);
    }
  }
}

/**
 * Groups records of a query's window by its dimension: totals per group, and a series per step
 * when asked. Records come from any source (the ring's buckets, the history's rows) as long as
 * each period is added once; `add` skips records outside the window or the filters.
 */
export class TrafficGrouping {
  private readonly groups = new Map<
    string,
    { id: string; name: string | null; total: Acc; steps: Map<number, Acc> }
  >();
  private readonly along: (typeof ALONG)[Dimension];

  constructor(private readonly q: TrafficQuery) {
    this.along = ALONG[q.dimension];
  }

  /** Adds a record of the bucket (or period) starting at `start`. */
  add(start: number, r: HeldRecord): void {
    const q = this.q;
    if (start < q.fromMs || start >= q.toMs || !matches(r, q.filters)) return;
    const { id, name } = this.along(r);
    let g = this.groups.get(id);
    if (!g) {
      g = { id, name, total: new Acc(), steps: new Map() };
      this.groups.set(id, g);
    }
    if (name !== null) g.name = name;
    g.total.add(r);
    if (q.stepMs) {
      const step = q.fromMs + Math.floor((start - q.fromMs) / q.stepMs) * q.stepMs;
      let s = g.steps.get(step);
      if (!s) g.steps.set(step, (s = new Acc()));
      s.add(r);
    }
  }

  /** The groups, busiest first (ties by id, so the order is stable). */
  result(): TrafficGroup[] {
    const q = this.q;
    const out: TrafficGroup[] = [];
    for (const g of this.groups.values()) {
      const group: TrafficGroup = { id: g.id === '' ? null : g.id, name: g.name, ...g.total.totals() };
      if (q.stepMs) {
        group.series = [...g.steps.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([start, acc]) => ({ start: Math.floor(start / 1000), ...acc.totals() }));
      }
      out.push(group);
    }
    out.sort((a, b) => b.requests - a.requests || String(a.id).localeCompare(String(b.id)));
    return out;
  }
}
