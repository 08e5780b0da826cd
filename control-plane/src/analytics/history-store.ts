/**
 * The `analytics_history` table (Prisma model AnalyticsHistory): writes a rolled-up bucket in one
 * statement per chunk of rows, reads the rows of a window for a query, deletes those past the
 * retention. No HTTP here.
 *
 * A write is an upsert keyed by bucket, source and combination that replaces a row only with one
 * merged from more summaries: a replica re-writing its own bucket after late summaries replaces
 * its row, and of two replicas writing the same NATS bucket the more complete one stays.
 */
import { fromBinary } from '@bufbuild/protobuf';
import { LatencySketchSchema } from '@gatehouse/proto';
import { decodeCompactSketch } from '@gatehouse/shared';
import type { PrismaClient } from '../db/index.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { Tx } from '../store/tx.js';
import type { RollupRow } from './rollup.js';
import {
  ALONG_FIELDS,
  type Dimension,
  type HeldRecord,
  type IdField,
  type TrafficQuery,
} from './traffic-store.js';

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
  'requests',
  'errors_4xx',
  'errors_5xx',
  'summaries',
  'latency',
] as const;
const KEY = ['bucket_start', 'source', 'node_id', 'region', 'service_id', 'route_id', 'consumer_id'];
const q = (c: string) => `"${c}"`;
const UPSERT =
  `INSERT INTO "analytics_history" AS h (${COLUMNS.map(q).join(', ')}) ` +
  `SELECT ${COLUMNS.map(q).join(', ')} FROM jsonb_populate_recordset(NULL::"analytics_history", $1::jsonb) ` +
  `ON CONFLICT (${KEY.map(q).join(', ')}) DO UPDATE SET ` +
  COLUMNS.filter((c) => !KEY.includes(c))
    .map((c) => `${q(c)} = EXCLUDED.${q(c)}`)
    .join(', ') +
  ` WHERE h."summaries" < EXCLUDED."summaries"`;

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
};

/** A filter along `d` matches its id or its name, as the ring's filters do. */
function filterColumns(d: Dimension): string[] {
  const { id, name } = ALONG_FIELDS[d];
  return name ? [COLUMN[id], COLUMN[name]] : [COLUMN[id]];
}

function where(q: Pick<TrafficQuery, 'dimension' | 'filters'>, from: number, to: number) {
  const and: Prisma.AnalyticsHistoryWhereInput[] = [
    { bucket_start: { gte: new Date(from), lt: new Date(to) } },
    // Per-DP rows answer the data-planes dimension, the others every other.
    { node_id: q.dimension === 'data-planes' ? { not: '' } : '' },
  ];
  for (const [d, v] of Object.entries(q.filters ?? {}) as [Dimension, string | undefined][])
    if (v !== undefined) and.push({ OR: filterColumns(d).map((c) => ({ [c]: v })) });
  return { AND: and };
}

export class HistoryStore {
  /** Rows whose sketch did not decode (skipped by queries). */
  badRows = 0;

  constructor(private readonly prisma: PrismaClient) {}

  /** Writes one bucket's rows (one transaction). */
  async write(rows: readonly RollupRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.prisma.$transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += WRITE_CHUNK_ROWS)
        await tx.$executeRawUnsafe(UPSERT, JSON.stringify(rows.slice(i, i + WRITE_CHUNK_ROWS).map(rowJson)));
    });
  }

  /** Calls `onRow` with each row of [q.fromMs, q.toMs) that the query's dimension and filters take. */
  async read(
    q: Pick<TrafficQuery, 'dimension' | 'fromMs' | 'toMs' | 'filters'>,
    onRow: (bucketStart: number, r: HeldRecord) => void,
  ): Promise<void> {
    for (let from = q.fromMs; from < q.toMs; from += READ_SLICE_MS) {
      const rows = await this.prisma.analyticsHistory.findMany({
        where: where(q, from, Math.min(q.toMs, from + READ_SLICE_MS)),
        select: {
          bucket_start: true,
          node_id: true,
          region: true,
          service_id: true,
          service_name: true,
          route_id: true,
          route_name: true,
          consumer_id: true,
          requests: true,
          errors_4xx: true,
          errors_5xx: true,
          latency: true,
        },
      });
      for (const row of rows) {
        let latency;
        try {
          latency = decodeCompactSketch(fromBinary(LatencySketchSchema, row.latency));
        } catch {
          // Not a sketch (a row damaged outside Gatehouse): skipped and counted, never a 500.
          this.badRows++;
          continue;
        }
        onRow(row.bucket_start.getTime(), {
          nodeId: row.node_id,
          region: row.region,
          serviceId: row.service_id,
          serviceName: row.service_name,
          routeId: row.route_id,
          routeName: row.route_name,
          consumerId: row.consumer_id,
          requests: Number(row.requests),
          errors4xx: Number(row.errors_4xx),
          errors5xx: Number(row.errors_5xx),
          latency,
        });
      }
    }
  }
}

/** Deletes the rows of buckets that started before `beforeMs`; returns how many. */
export async function pruneHistory(tx: Tx, beforeMs: number): Promise<number> {
  const { count } = await tx.analyticsHistory.deleteMany({
    where: { bucket_start: { lt: new Date(beforeMs) } },
  });
  return count;
}
