/**
 * `GET /analytics/{services,routes,consumers,data-planes,regions}` on the Admin API (behind its
 * auth like every endpoint): per entity, requests, 4xx, 5xx, error rate and p50/p95/p99 latency
 * over `window`, with a series per `step` when asked. `{ data: [...] }`, busiest first.
 */
import { Router, type Request, type Response } from 'express';
import { methodNotAllowed } from '../admin/errors.js';
import { parseAnalyticsQuery, type AnalyticsLimits, type ParsedQuery } from './query.js';
import { DIMENSIONS, type Dimension, type TrafficGroup } from './traffic-store.js';

/** What answers the queries: the ring for the last hour, the history beyond. */
export interface AnalyticsQueries {
  readonly limits: AnalyticsLimits;
  query(q: ParsedQuery & { dimension: Dimension }): Promise<TrafficGroup[]>;
}

export function createAnalyticsRouter(source: AnalyticsQueries, now: () => number = Date.now): Router {
  const router = Router();
  for (const dimension of DIMENSIONS) {
    const handler = async (req: Request, res: Response) => {
      const q = parseAnalyticsQuery(req.query, now(), dimension, source.limits);
      const data = await source.query({ dimension, ...q });
      res.json({
        data,
        window: q.window,
        step: q.step,
        from: Math.floor(q.fromMs / 1000),
        to: Math.floor(q.toMs / 1000),
        resolution: q.resolutionMs / 1000,
      });
    };
    router.route(`/analytics/${dimension}`).get(handler).all(methodNotAllowed);
  }
  return router;
}
