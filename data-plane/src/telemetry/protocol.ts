/**
 * Traffic summaries between a worker and its primary (node:cluster IPC). Each worker sends what
 * it counted since its last message every `flushMs`; the primary merges every worker's into the
 * node's current period. Sketches travel as data (SketchData), merged by bins in the primary.
 */
import type { SketchData } from '@gatehouse/shared';

/** One service/route/consumer combination of one worker (or of the node, once merged). */
export interface TrafficEntryData {
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
  latency: SketchData;
}

/** Worker -> primary: the traffic since the previous message, and the worker's memory. */
export interface TrafficMessage {
  t: 'traffic';
  entries: TrafficEntryData[];
  /** Requests not counted: the worker held the most keys a period may hold. */
  droppedEntries: number;
  rssBytes: number;
  heapUsedBytes: number;
}

export function isTrafficMessage(m: unknown): m is TrafficMessage {
  return typeof m === 'object' && m !== null && (m as { t?: unknown }).t === 'traffic';
}
