/**
 * `GET /analytics/{services,routes,consumers,data-planes,regions}` on the Admin API (behind its
 * auth like every endpoint): per entity, requests, 4xx, 5xx, error rate and p50/p95/p99 latency
 * over `window`, with a series per `step` when asked. `{ data: [...] }`, busiest first.
 */
import { Router, type Request, type Response } from 'express';
import { methodNotAllowed } from '../admin/errors.js';
import { parseAnalyticsQuery } from './query.js';
import { DIMENSIONS, RESOLUTION_MS, type TrafficStore } from './traffic-store.js';

export function createAnalyticsRouter(store: TrafficStore, now: () => number = Date.now): Router {
  const router = Router();
  for (const dimension of DIMENSIONS) {
    const handler = (req: Request, res: Response) => {
      const q = parseAnalyticsQuery(req.query, now(), dimension);
      const data = store.query({ dimension, ...q });
      res.json({
        data,
        window: q.window,
        step: q.step,
        from: Math.floor(q.fromMs / 1000),
        to: Math.floor(q.toMs / 1000),
        resolution: RESOLUTION_MS / 1000,
      });
    };
    router.route(`/analytics/${dimension}`).get(handler).all(methodNotAllowed);
  }
  return router;
}
