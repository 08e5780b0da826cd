/**
 * The 10 s traffic periods rolled up into 5-minute buckets for the history in Postgres. Held in
 * memory while a bucket can still change, then handed out as rows to write: one batch per bucket
 * (`due`), a first time once the bucket has ended and its last summaries have arrived
 * (ROLLUP_GRACE_MS), again if late summaries came (a DP that lost its transport sends up to
 * 5 minutes of buffered summaries), until ROLLUP_LATE_MS after its end; later ones are counted
 * as `late` (the one-hour ring still takes them).
 *
 * Rows are kept per source (see history.ts): a summary is merged into its source's rows only,
 * so rows of different sources never hold the same summary.
 *
 * Why 5 minutes: 7 days are 2,016 buckets, so a 7-day query reads 2,016 × (combinations) rows,
 * a fifth of what 1-minute buckets would make it read and write; and 5 minutes is what a DP
 * buffers when its transport is down, so a late batch still lands in a bucket not yet final.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { LatencySketchSchema } from '@gatehouse/proto';
import {
  compactSketch,
  encodeSketch,
  SKETCH_RELATIVE_ACCURACY,
  type CompactSketch,
  type Sketch,
  type SketchData,
} from '@gatehouse/shared';
import type { TrafficRecord } from './intake.js';
import {
  DEFAULT_MAX_KEYS_PER_BUCKET,
  entityKey,
  heldRecord,
  mergeRecord,
  type HeldRecord,
} from './traffic-store.js';

export const ROLLUP_MS = 300_000;
/** A bucket is first written this long after its end (its last 10 s summaries arrive ~10 s late). */
export const ROLLUP_GRACE_MS = 20_000;
/** Late summaries still reach a bucket's rows until this long after its end. */
export const ROLLUP_LATE_MS = ROLLUP_MS + 30_000;

/** How long a bucket whose writes fail is kept for another try. */
export const MAX_UNWRITTEN_MS = 3_600_000;

/** The hourly tier (history-store.ts): hours merged from the 5-minute rows. */
export const HOURLY_MS = 3_600_000;
/**
 * An hour is rolled up once its 5-minute rows can no longer change: its last bucket is written
 * again (late summaries, or a failed write tried again) up to MAX_UNWRITTEN_MS after that
 * bucket's end, then let go; 5 minutes more absorb clock skew between replicas.
 */
export const HOURLY_SETTLE_MS = MAX_UNWRITTEN_MS + ROLLUP_MS;

/** One row of the history, ready to write: a record's combination and counts, in a bucket. */
export interface RollupRow extends Omit<TrafficRecord, 'latency'> {
  bucketStart: number;
  source: string;
  /** DP summary entries merged into it. */
  summaries: number;
  /** A gatehouse.v1.LatencySketch message. */
  latency: Uint8Array;
}

interface Merge {
  source: string;
  /** Its sketch compacted once the bucket is written (a late summary expands it again). */
  held: HeldRecord;
  summaries: number;
}

interface OpenBucket {
  start: number;
  merges: Map<string, Merge>;
  /** Bumped by every add; `writtenVersion` is the version the last write held. */
  version: number;
  writtenVersion: number;
}

export interface DueBucket {
  start: number;
  version: number;
  rows: RollupRow[];
}

export const bucketStartOf = (ms: number) => Math.floor(ms / ROLLUP_MS) * ROLLUP_MS;

export class RollupBuffer {
  private readonly buckets = new Map<number, OpenBucket>();
  /** Records that came after their bucket was final (kept by the ring, not in the history). */
  late = 0;
  /** Records beyond `maxKeysPerBucket` combinations of a bucket. */
  dropped = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeysPerBucket = DEFAULT_MAX_KEYS_PER_BUCKET,
  ) {}

  add(source: string, periodStartMs: number, records: readonly TrafficRecord[]): void {
    const start = bucketStartOf(periodStartMs);
    if (start + ROLLUP_MS + ROLLUP_LATE_MS <= this.now()) {
      this.late += records.length;
      return;
    }
    let b = this.buckets.get(start);
    if (!b) this.buckets.set(start, (b = { start, merges: new Map(), version: 0, writtenVersion: 0 }));
    b.version++;
    for (const r of records) {
      this.merge(b, `${source}|e|${entityKey(r)}`, source, r, false);
      this.merge(b, `${source}|n|${r.region}|${r.nodeId}`, source, r, true);
    }
  }

  private merge(b: OpenBucket, key: string, source: string, r: TrafficRecord, node: boolean): void {
    const m = b.merges.get(key);
    if (m) {
      mergeRecord(m.held, r, node);
      m.summaries++;
    } else if (b.merges.size >= 2 * this.maxKeysPerBucket) this.dropped++;
    else b.merges.set(key, { source, held: heldRecord(r, node), summaries: 1 });
  }

  /**
   * The buckets to write now: ended at least ROLLUP_GRACE_MS ago (every one when `all`, as at
   * shutdown) and changed since their last write. Rows are encoded here, so adds that come
   * while they are written go into the next write.
   */
  due(all = false): DueBucket[] {
    const now = this.now();
    const out: DueBucket[] = [];
    for (const b of this.buckets.values()) {
      if (b.start + ROLLUP_MS + MAX_UNWRITTEN_MS <= now) {
        // Writes have failed for an hour (the database is down): let go, so memory stays bounded.
        this.dropped += b.merges.size;
        this.buckets.delete(b.start);
        continue;
      }
      if (b.version === b.writtenVersion) continue;
      if (!all && b.start + ROLLUP_MS + ROLLUP_GRACE_MS > now) continue;
      out.push({
        start: b.start,
        version: b.version,
        rows: [...b.merges.values()].map((m) => toRow(b.start, m)),
      });
    }
    return out.sort((a, b) => a.start - b.start);
  }

  /**
   * Records that the write of `due` succeeded: compacts the bucket's sketches (it changes only if
   * late summaries come), and drops buckets no longer open to late summaries.
   */
  written(due: DueBucket): void {
    const b = this.buckets.get(due.start);
    if (b && due.version > b.writtenVersion) {
      b.writtenVersion = due.version;
      for (const m of b.merges.values())
        if (isSketch(m.held.latency)) m.held.latency = compactSketch(m.held.latency);
    }
    const now = this.now();
    for (const [start, open] of this.buckets)
      if (open.version === open.writtenVersion && start + ROLLUP_MS + ROLLUP_LATE_MS <= now)
        this.buckets.delete(start);
  }

  /**
   * Start of the oldest bucket whose data is not in the history yet (never written), or of the
   * current bucket: what lies before it is in Postgres, what lies after only in memory.
   */
  persistedThrough(): number {
    let through = bucketStartOf(this.now());
    for (const b of this.buckets.values()) if (b.writtenVersion === 0 && b.start < through) through = b.start;
    return through;
  }

  /** Buckets held (for bounds and tests). */
  size(): number {
    return this.buckets.size;
  }
}

function toRow(bucketStart: number, m: Merge): RollupRow {
  const h = m.held;
  return {
    bucketStart,
    source: m.source,
    nodeId: h.nodeId,
    region: h.region,
    serviceId: h.serviceId,
    serviceName: h.serviceName,
    routeId: h.routeId,
    routeName: h.routeName,
    consumerId: h.consumerId,
    consumerName: h.consumerName,
    requests: h.requests,
    errors4xx: h.errors4xx,
    errors5xx: h.errors5xx,
    summaries: m.summaries,
    latency: toBinary(
      LatencySketchSchema,
      create(LatencySketchSchema, isSketch(h.latency) ? encodeSketch(h.latency) : compactData(h.latency)),
    ),
  };
}

const isSketch = (l: Sketch | CompactSketch): l is Sketch => 'store' in l;

function compactData(c: CompactSketch): SketchData {
  return {
    relativeAccuracy: SKETCH_RELATIVE_ACCURACY,
    offset: c.offset,
    counts: Array.from(c.counts),
    zeroCount: c.zeroCount,
    sum: c.sum,
    min: c.min,
    max: c.max,
  };
}
