/**
 * Checks a TrafficSummary from a DP (the stream or NATS) before it reaches the store. A summary is
 * taken whole or not at all: one bad entry (an over-long id, a sketch that is not one, counts
 * that disagree) refuses it, with the reason, and the caller counts the refusal.
 */
import type { TrafficSummary } from '@gatehouse/proto';
import { decodeSketch, SketchDataError, type Sketch } from '@gatehouse/shared';

export const MAX_SUMMARY_ENTRIES = 5000;
const MAX_ID = 256;
/** How far a summary's period may be in the future (clock skew). */
const MAX_FUTURE_MS = 60_000;

/** One service/route/consumer combination of one DP over one period, checked. */
export interface TrafficRecord {
  nodeId: string;
  region: string;
  serviceId: string;
  serviceName: string;
  routeId: string;
  routeName: string;
  consumerId: string;
  /** The consumer's username, else its custom_id ('' without one). */
  consumerName: string;
  requests: number;
  errors4xx: number;
  errors5xx: number;
  latency: Sketch;
}

export interface CheckedSummary {
  periodStartMs: number;
  records: TrafficRecord[];
}

export class SummaryRefused extends Error {
  readonly code = 'summary_refused';
}

function id(field: string, v: string): string {
  if (v.length > MAX_ID) throw new SummaryRefused(`${field} longer than ${MAX_ID} characters`);
  return v;
}

function count(field: string, v: bigint): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SummaryRefused(`${field} out of range`);
  return Number(v);
}

/**
 * The summary's records, attributed to `who` (the stream's node and region, or the NATS
 * subject's when the message says none). Throws SummaryRefused.
 */
export function checkSummary(
  s: TrafficSummary,
  who: { nodeId: string; region: string },
  now = Date.now(),
): CheckedSummary {
  const nodeId = id('node_id', who.nodeId);
  const region = id('region', who.region);
  if (nodeId === '') throw new SummaryRefused('no node id');
  const start = Number(s.periodStartUnixMs);
  if (!Number.isSafeInteger(start) || start <= 0 || start > now + MAX_FUTURE_MS)
    throw new SummaryRefused('period_start_unix_ms is not a plausible time');
  if (s.entries.length > MAX_SUMMARY_ENTRIES)
    throw new SummaryRefused(`more than ${MAX_SUMMARY_ENTRIES} entries`);
  const records: TrafficRecord[] = [];
  for (const e of s.entries) {
    if (!e.latency) throw new SummaryRefused('an entry without a latency sketch');
    let latency: Sketch;
    try {
      latency = decodeSketch(e.latency);
    } catch (err) {
      if (err instanceof SketchDataError) throw new SummaryRefused(`latency: ${err.message}`);
      throw err;
    }
    const requests = count('requests', e.requests);
    const errors4xx = count('errors_4xx', e.errors4xx);
    const errors5xx = count('errors_5xx', e.errors5xx);
    if (errors4xx + errors5xx > requests) throw new SummaryRefused('more errors than requests');
    if (latency.count !== requests)
      throw new SummaryRefused('the latency sketch does not count every request');
    records.push({
      nodeId,
      region,
      serviceId: id('service_id', e.serviceId),
      serviceName: id('service_name', e.serviceName),
      routeId: id('route_id', e.routeId),
      routeName: id('route_name', e.routeName),
      consumerId: id('consumer_id', e.consumerId),
      consumerName: id('consumer_username', e.consumerUsername),
      requests,
      errors4xx,
      errors5xx,
      latency,
    });
  }
  return { periodStartMs: start, records };
}
