import { describe, expect, it } from 'vitest';
import { decodeSketch, sketchQuantiles } from '@gatehouse/shared';
import type { ProxyRequest } from '../proxy/request.js';
import { TrafficRecorder } from './traffic-recorder.js';

/** The fields of a finished request the recorder reads. */
function ended(o: {
  route?: string;
  service?: string;
  consumer?: string;
  consumerName?: string;
  status: number;
  startedAt: number;
}) {
  return {
    entry: o.route
      ? {
          route: { id: o.route, name: `${o.route}-name` },
          service: o.service ? { id: o.service, name: 'svc' } : null,
        }
      : null,
    consumerId: o.consumer,
    consumerName: o.consumerName,
    res: { statusCode: o.status },
    startedAt: o.startedAt,
  } as unknown as ProxyRequest;
}

describe('TrafficRecorder (a worker)', () => {
  it("names each consumer's cell with its username (else custom_id), '' without a consumer", () => {
    const rec = new TrafficRecorder(1000, () => 0);
    rec.requestEnded(ended({ route: 'r', consumer: 'c1', consumerName: 'alice', status: 200, startedAt: 0 }));
    rec.requestEnded(ended({ route: 'r', status: 200, startedAt: 0 }));
    const byConsumer = Object.fromEntries(rec.flush()!.entries.map((e) => [e.consumerId, e.consumerName]));
    expect(byConsumer).toEqual({ c1: 'alice', '': '' });
  });

  it('counts per service/route/consumer: requests, 4xx, 5xx and latency from startedAt', () => {
    let now = 1000;
    const rec = new TrafficRecorder(1000, () => now);
    for (const [status, took] of [
      [200, 10],
      [404, 20],
      [503, 30],
      [200, 40],
    ] as const) {
      now += took;
      rec.requestEnded(ended({ route: 'r1', service: 's1', status, startedAt: now - took }));
    }
    rec.requestEnded(ended({ route: 'r1', service: 's1', consumer: 'c1', status: 200, startedAt: now }));
    rec.requestEnded(ended({ status: 404, startedAt: now })); // no route matched
    const m = rec.flush()!;
    expect(m.entries).toHaveLength(3);
    const main = m.entries.find((e) => e.routeId === 'r1' && e.consumerId === '')!;
    expect(main).toMatchObject({
      serviceName: 'svc',
      routeName: 'r1-name',
      requests: 4,
      errors4xx: 1,
      errors5xx: 1,
    });
    const q = sketchQuantiles(decodeSketch(main.latency));
    expect(Math.abs(q.p99! - 30)).toBeLessThanOrEqual(0.3); // rank 0.99·3 → the third of 10, 20, 30, 40
    expect(m.entries.find((e) => e.routeId === '')).toMatchObject({
      serviceId: '',
      requests: 1,
      errors4xx: 1,
    });
    expect(rec.flush()).toBeNull(); // a flush starts afresh
  });

  it('holds at most maxKeys combinations between flushes, counting requests beyond as dropped', () => {
    const rec = new TrafficRecorder(2, () => 5);
    for (const c of ['a', 'b', 'c', 'c', 'a'])
      rec.requestEnded(ended({ route: 'r', consumer: c, status: 200, startedAt: 0 }));
    const m = rec.flush()!;
    expect(m.entries.map((e) => [e.consumerId, e.requests])).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
    expect(m.droppedEntries).toBe(2);
  });

  it('counts the requests of one compiled route entry into the flush they end in (nothing carries over)', () => {
    const rec = new TrafficRecorder(1000, () => 5);
    const request = ended({ route: 'r', service: 's', status: 200, startedAt: 0 });
    rec.requestEnded(request);
    rec.requestEnded(request);
    expect(rec.flush()!.entries.map((e) => e.requests)).toEqual([2]);
    rec.requestEnded(request);
    rec.requestEnded({ ...request, consumerId: undefined, res: { statusCode: 502 } } as ProxyRequest);
    expect(rec.flush()!.entries).toMatchObject([{ routeId: 'r', consumerId: '', requests: 2, errors5xx: 1 }]);
  });
});
