/**
 * The analytics history's tables: `analytics_history` (5-minute buckets, Prisma model
 * AnalyticsHistory) and `analytics_history_hourly` (the same rows merged per hour, model
 * AnalyticsHistoryHourly), plus `analytics_rollup` (how far the hourly tier is complete). Writes a
 * rolled-up bucket in one statement per chunk of rows, rolls final hours up, reads the rows of a
 * range for a query, deletes those past each tier's retention. No HTTP here.
 *
 * A 5-minute write is an upsert keyed by bucket, source and combination that replaces a row only
 * with one merged from more summaries: a replica re-writing its own bucket after late summaries
 * replaces its row, and of two replicas writing the same NATS bucket the more complete one stays.
 * An hourly row is the merge of the 5-minute rows of its hour with the same key (source
 * included), so the hourly tier counts what the 5-minute tier counts, never more.
 *
 * Reads are raw SQL (parameterised; table and column names come from constants here): a row
 * arrives as plain numbers, strings and bytes, without Prisma's per-row model mapping.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { LatencySketchSchema } from '@gatehouse/proto';
import {
  addCompact,
  decodeCompactSketch,
  encodeSketch,
  newSketch,
  type CompactSketch,
  type Sketch,
} from '@gatehouse/shared';
import type { PrismaClient } from '../db/index.js';
import type { Db, Tx } from '../store/tx.js';
import { HOURLY_MS, HOURLY_SETTLE_MS, ROLLUP_MS, type RollupRow } from './rollup.js';
import {
  ALONG_FIELDS,
  type Dimension,
  type HeldRecord,
  type IdField,
  type TrafficQuery,
} from './traffic-store.js';

/** The tiers of the history: 5-minute buckets, and hours rolled up from them. */
export type Tier = '5m' | '1h';
export const TIER_MS: Record<Tier, number> = { '5m': ROLLUP_MS, '1h': HOURLY_MS };
const TABLE: Record<Tier, string> = { '5m': 'analytics_history', '1h': 'analytics_history_hourly' };
/** Hours rolled up in one run of the job (one transaction): a first run over 7 days takes 7. */
export const ROLLUP_HOURS_PER_RUN = 24;

/** Rows per statement (a row is ~0.5 KB of JSON). */
const WRITE_CHUNK_ROWS = 2000;
/** A window is read this many milliseconds at a time, so a 7-day read never holds every row. */
const READ_SLICE_MS = 6 * 3_600_000;

const COLUMNS = [
  'bucket_start',
  'source',
  'node_id',
  'region',
  'service_id',
  'service_name',
  'route_id',
  'route_name',
  'consumer_id',
  'consumer_name',
  'requests',
  'errors_4xx',
  'errors_5xx',
  'summaries',
  'latency',
] as const;
const KEY = ['bucket_start', 'source', 'node_id', 'region', 'service_id', 'route_id', 'consumer_id'];
const q = (c: string) => `"${c}"`;
/**
 * The upsert of a tier's rows (a JSON array in $1): a 5-minute row is replaced only by one merged
 * from more summaries; an hourly row (written by the rollup alone, under its lock) always.
 */
const upsert = (tier: Tier) =>
  `INSERT INTO ${q(TABLE[tier])} AS h (${COLUMNS.map(q).join(', ')}) ` +
  `SELECT ${COLUMNS.map(q).join(', ')} FROM jsonb_populate_recordset(NULL::${q(TABLE[tier])}, $1::jsonb) ` +
  `ON CONFLICT (${KEY.map(q).join(', ')}) DO UPDATE SET ` +
  COLUMNS.filter((c) => !KEY.includes(c))
    .map((c) => `${q(c)} = EXCLUDED.${q(c)}`)
    .join(', ') +
  (tier === '5m' ? ` WHERE h."summaries" < EXCLUDED."summaries"` : '');
const UPSERT: Record<Tier, string> = { '5m': upsert('5m'), '1h': upsert('1h') };

/** Milliseconds since the epoch of a timestamptz column, as a float8 (no Date per row). */
const ms = (c: string) => `(extract(epoch FROM ${q(c)}) * 1000)::float8`;
/** The columns a query reads, counts as float8 (no BigInt per row). */
const READ_COLUMNS =
  `${ms('bucket_start')} AS "t", "node_id", "region", "service_id", "service_name", "route_id", ` +
  `"route_name", "consumer_id", "consumer_name", "requests"::float8 AS "requests", "errors_4xx"::float8 AS "errors_4xx", ` +
  `"errors_5xx"::float8 AS "errors_5xx", "latency"`;

interface ReadRow {
  t: number;
  node_id: string;
  region: string;
  service_id: string;
  service_name: string;
  route_id: string;
  route_name: string;
  consumer_id: string;
  consumer_name: string;
  requests: number;
  errors_4xx: number;
  errors_5xx: number;
  latency: Uint8Array;
}

function rowJson(r: RollupRow): Record<(typeof COLUMNS)[number], string | number> {
  return {
    bucket_start: new Date(r.bucketStart).toISOString(),
    source: r.source,
    node_id: r.nodeId,
    region: r.region,
    service_id: r.serviceId,
    service_name: r.serviceName,
    route_id: r.routeId,
    route_name: r.routeName,
    consumer_id: r.consumerId,
    consumer_name: r.consumerName,
    requests: r.requests,
    errors_4xx: r.errors4xx,
    errors_5xx: r.errors5xx,
    summaries: r.summaries,
    latency: `\\x${Buffer.from(r.latency.buffer, r.latency.byteOffset, r.latency.byteLength).toString('hex')}`,
  };
}

/** The column of each field of a record that says what it is. */
const COLUMN: Record<IdField, (typeof COLUMNS)[number]> = {
  nodeId: 'node_id',
  region: 'region',
  serviceId: 'service_id',
  serviceName: 'service_name',
  routeId: 'route_id',
  routeName: 'route_name',
  consumerId: 'consumer_id',
  consumerName: 'consumer_name',
};

/** A filter along `d` matches its id or its name, as the ring's filters do. */
function filterColumns(d: Dimension): string[] {
  const { id, name } = ALONG_FIELDS[d];
  return name ? [COLUMN[id], COLUMN[name]] : [COLUMN[id]];
}

/**
 * The WHERE clause of a read of [from, to) and its parameters: the rows of the query's kind
 * (per-DP rows answer the data-planes dimension, the others every other) and filters.
 */
function where(qr: Pick<TrafficQuery, 'dimension' | 'filters'>, from: number, to: number) {
  const params: string[] = [new Date(from).toISOString(), new Date(to).toISOString()];
  const and = [
    `"bucket_start" >= $1::timestamptz`,
    `"bucket_start" < $2::timestamptz`,
    qr.dimension === 'data-planes' ? `"node_id" <> ''` : `"node_id" = ''`,
  ];
  for (const [d, v] of Object.entries(qr.filters ?? {}) as [Dimension, string | undefined][]) {
    if (v === undefined) continue;
    params.push(v);
    and.push(
      `(${filterColumns(d)
        .map((c) => `${q(c)} = $${params.length}`)
        .join(' OR ')})`,
    );
  }
  return { sql: and.join(' AND '), params };
}

/** A stored sketch, or null when it does not decode (a row damaged outside Gatehouse). */
function sketchOf(bytes: Uint8Array): CompactSketch | null {
  try {
    return decodeCompactSketch(fromBinary(LatencySketchSchema, bytes));
  } catch {
    return null;
  }
}

/** A [from, to) range of a window and the tier that answers it. */
export interface TierRange {
  tier: Tier;
  fromMs: number;
  toMs: number;
}

export class HistoryStore {
  /** Rows whose sketch did not decode (skipped by queries and by the rollup). */
  badRows = 0;

  constructor(private readonly prisma: PrismaClient) {}

  /** Writes one 5-minute bucket's rows (one transaction). */
  async write(rows: readonly RollupRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.prisma.$transaction(async (tx) => writeRows(tx, '5m', rows));
  }

  /** The end of the hours rolled up (the hourly tier answers the hours before it); null: none. */
  async hourlyThrough(): Promise<number | null> {
    return rolledUpThrough(this.prisma);
  }

  /**
   * Calls `onRow` with each row of the tier in [r.fromMs, r.toMs) that the query's dimension and
   * filters take.
   */
  async read(
    qr: Pick<TrafficQuery, 'dimension' | 'filters'>,
    r: TierRange,
    onRow: (bucketStart: number, r: HeldRecord) => void,
  ): Promise<void> {
    for (let from = r.fromMs; from < r.toMs; from += READ_SLICE_MS) {
      const w = where(qr, from, Math.min(r.toMs, from + READ_SLICE_MS));
      const rows = await this.prisma.$queryRawUnsafe<ReadRow[]>(
        `SELECT ${READ_COLUMNS} FROM ${q(TABLE[r.tier])} WHERE ${w.sql}`,
        ...w.params,
      );
      for (const row of rows) {
        const latency = sketchOf(row.latency);
        if (!latency) {
          // Skipped and counted, never a 500.
          this.badRows++;
          continue;
        }
        onRow(row.t, {
          nodeId: row.node_id,
          region: row.region,
          serviceId: row.service_id,
          serviceName: row.service_name,
          routeId: row.route_id,
          routeName: row.route_name,
          consumerId: row.consumer_id,
          consumerName: row.consumer_name,
          requests: row.requests,
          errors4xx: row.errors_4xx,
          errors5xx: row.errors_5xx,
          latency,
        });
      }
    }
  }
}

async function writeRows(tx: Tx, tier: Tier, rows: readonly RollupRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += WRITE_CHUNK_ROWS)
    await tx.$executeRawUnsafe(
      UPSERT[tier],
      JSON.stringify(rows.slice(i, i + WRITE_CHUNK_ROWS).map(rowJson)),
    );
}

const HOURLY_TIER = '1h';

async function rolledUpThrough(db: Db): Promise<number | null> {
  const rows = await db.$queryRawUnsafe<{ through: number }[]>(
    `SELECT ${ms('through')} AS "through" FROM "analytics_rollup" WHERE "tier" = $1`,
    HOURLY_TIER,
  );
  return rows[0]?.through ?? null;
}

export const floorHour = (t: number) => Math.floor(t / HOURLY_MS) * HOURLY_MS;

export interface RollupRun {
  /** Hours rolled up, and the hourly rows they made. */
  hours: number;
  rows: number;
  /** The hourly tier is complete before this. */
  through: number;
  /** More hours are ready than one run takes. */
  more: boolean;
}

/**
 * Rolls the 5-minute rows of final hours up into hourly rows (in `tx`, which holds the job's
 * lock): the hours from the last run's end (or the oldest 5-minute row) to the last hour whose
 * 5-minute rows can no longer change (HOURLY_SETTLE_MS after its end), at most `maxHours`.
 */
export async function rollUpHours(
  tx: Tx,
  nowMs: number,
  maxHours = ROLLUP_HOURS_PER_RUN,
): Promise<RollupRun> {
  const ready = floorHour(nowMs - HOURLY_SETTLE_MS);
  let start = await rolledUpThrough(tx);
  if (start === null) {
    const first = await tx.$queryRawUnsafe<{ first: number | null }[]>(
      `SELECT (extract(epoch FROM min("bucket_start")) * 1000)::float8 AS "first" FROM "analytics_history"`,
    );
    start = first[0]?.first == null ? ready : Math.min(ready, floorHour(first[0].first));
  }
  const end = Math.min(ready, start + maxHours * HOURLY_MS);
  let rows = 0;
  for (let hour = start; hour < end; hour += HOURLY_MS) rows += await rollUpHour(tx, hour);
  const through = Math.max(start, end);
  await tx.$executeRawUnsafe(
    `INSERT INTO "analytics_rollup" ("tier", "through") VALUES ($1, $2::timestamptz) ` +
      `ON CONFLICT ("tier") DO UPDATE SET "through" = EXCLUDED."through"`,
    HOURLY_TIER,
    new Date(through).toISOString(),
  );
  return { hours: Math.max(0, end - start) / HOURLY_MS, rows, through, more: end < ready };
}

interface HourMerge {
  row: Omit<RollupRow, 'latency'>;
  latency: Sketch;
}

/** Merges the 5-minute rows of [hour, hour + 1 h) per source and combination; rows written. */
async function rollUpHour(tx: Tx, hour: number): Promise<number> {
  const rows = await tx.$queryRawUnsafe<(ReadRow & { source: string; summaries: number })[]>(
    `SELECT ${READ_COLUMNS}, "source", "summaries" FROM "analytics_history" ` +
      `WHERE "bucket_start" >= $1::timestamptz AND "bucket_start" < $2::timestamptz ORDER BY "bucket_start"`,
    new Date(hour).toISOString(),
    new Date(hour + HOURLY_MS).toISOString(),
  );
  const merges = new Map<string, HourMerge>();
  for (const r of rows) {
    const sketch = sketchOf(r.latency);
    if (!sketch) continue; // as queries skip it
    const key = `${r.source}\u0000${r.node_id}\u0000${r.region}\u0000${r.service_id}\u0000${r.route_id}\u0000${r.consumer_id}`;
    let m = merges.get(key);
    if (!m) {
      m = {
        row: {
          bucketStart: hour,
          source: r.source,
          nodeId: r.node_id,
          region: r.region,
          serviceId: r.service_id,
          serviceName: r.service_name,
          routeId: r.route_id,
          routeName: r.route_name,
          consumerId: r.consumer_id,
          consumerName: r.consumer_name,
          requests: 0,
          errors4xx: 0,
          errors5xx: 0,
          summaries: 0,
        },
        latency: newSketch(),
      };
      merges.set(key, m);
    }
    m.row.requests += r.requests;
    m.row.errors4xx += r.errors_4xx;
    m.row.errors5xx += r.errors_5xx;
    m.row.summaries += r.summaries;
    // The latest name of the hour, as the ring keeps it.
    if (r.service_name) m.row.serviceName = r.service_name;
    if (r.route_name) m.row.routeName = r.route_name;
    if (r.consumer_name) m.row.consumerName = r.consumer_name;
    addCompact(m.latency, sketch);
  }
  const out: RollupRow[] = [...merges.values()].map((m) => ({
    ...m.row,
    latency: toBinary(LatencySketchSchema, create(LatencySketchSchema, encodeSketch(m.latency))),
  }));
  await writeRows(tx, '1h', out);
  return out.length;
}

/** What the retention deletes: rows of buckets that started before these. */
export interface PruneCutoffs {
  fiveMinuteBeforeMs: number;
  hourlyBeforeMs: number;
}

/**
 * Deletes the rows past each tier's retention; returns how many. A 5-minute row whose hour is
 * not rolled up yet is kept (until the hourly retention), so no traffic leaves the history
 * before its tier's retention says so.
 */
export async function pruneHistory(tx: Tx, cut: PruneCutoffs): Promise<number> {
  const through = (await rolledUpThrough(tx)) ?? -Infinity;
  const fiveMinute = Math.max(Math.min(cut.fiveMinuteBeforeMs, through), cut.hourlyBeforeMs);
  let n = 0;
  for (const [tier, before] of [
    ['5m', fiveMinute],
    ['1h', cut.hourlyBeforeMs],
  ] as const)
    n += await tx.$executeRawUnsafe(
      `DELETE FROM ${q(TABLE[tier])} WHERE "bucket_start" < $1::timestamptz`,
      new Date(before).toISOString(),
    );
  return n;
}
