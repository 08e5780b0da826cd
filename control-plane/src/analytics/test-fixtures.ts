/**
 * Test fixtures of the analytics unit tests: a DP's traffic record (one service, route and
 * region by default) whose sketch holds `latencies` (default one request of 10 ms).
 */
import { newSketch, recordLatency } from '@gatehouse/shared';
import type { TrafficRecord } from './intake.js';

export function trafficRecord(o: Partial<TrafficRecord> & { latencies?: number[] } = {}): TrafficRecord {
  const latency = newSketch();
  const values = o.latencies ?? [10];
  for (const v of values) recordLatency(latency, v);
  const { latencies: _, ...rest } = o;
  return {
    nodeId: 'dp-1',
    region: 'eu',
    serviceId: 's1',
    serviceName: 'svc',
    routeId: 'r1',
    routeName: 'route',
    consumerId: '',
    consumerName: '',
    requests: values.length,
    errors4xx: 0,
    errors5xx: 0,
    ...rest,
    latency,
  };
}
