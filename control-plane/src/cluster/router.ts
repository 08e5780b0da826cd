/**
 * `/clustering/*` on the Admin API, shaped like Kong's:
 *  - GET /clustering/data-planes  {data, next}  (size 1-1000, default 100; offset = cursor;
 *                                 filters region=, label=k=v (repeatable), sync_status=)
 *  - GET /clustering/status       { <node id>: {config_hash, hostname, ip, last_seen}, ...,
 *                                   control_plane: {version, hash, built_at, ...},
 *                                   messaging: {state, servers, ...} (CP replicas over NATS) }
 */
import { Router, type Request, type Response } from 'express';
import { methodNotAllowed } from '../admin/errors.js';
import type { PublishedSnapshot, SliceStats } from '../snapshot/index.js';
import { filterParams, parseDataPlaneFilter } from './data-plane-filter.js';
import { DATA_PLANES_MAX_PAGE_SIZE, type DataPlaneRegistry } from './registry.js';

export interface LatestSnapshotSource {
  readonly latest: PublishedSnapshot | null;
  /** Per-slice builds (absent: not shown). */
  readonly sliceStats?: SliceStats;
}

function badRequest(res: Response, field: string, message: string): void {
  res.status(400).json({
    message: `schema violation (${field}: ${message})`,
    name: 'schema violation',
    code: 2,
    fields: { [field]: message },
  });
}

function controlPlaneSection(publisher: LatestSnapshotSource) {
  const latest = publisher.latest;
  const slices = publisher.sliceStats ? { slices: publisher.sliceStats } : {};
  if (!latest) return { version: null, config_hash: null, built_at: null, ...slices };
  return {
    version: Number(latest.snapshot.version),
    config_hash: latest.snapshot.hash,
    built_at: Math.floor(latest.builtAt.getTime() / 1000),
    built_at_ms: latest.builtAt.getTime(),
    build_ms: latest.buildMs,
    size: latest.snapshot.uncompressedSize,
    compressed_size: latest.snapshot.config.length,
    ...slices,
  };
}

/** This replica's link to the others (messaging/), for `/clustering/status`. */
export interface ReplicaStatusSource {
  readonly cpId: string;
  status(): object;
}

export function createClusteringRouter(
  registry: DataPlaneRegistry,
  publisher: LatestSnapshotSource,
  replica?: ReplicaStatusSource,
): Router {
  const router = Router();

  const dataPlanes = async (req: Request, res: Response) => {
    const sizeParam = req.query.size;
    let size = 100;
    if (sizeParam !== undefined) {
      if (typeof sizeParam !== 'string' || !/^\d+$/.test(sizeParam)) {
        return badRequest(res, 'size', 'expected an integer');
      }
      size = Number(sizeParam);
      if (size < 1 || size > DATA_PLANES_MAX_PAGE_SIZE)
        return badRequest(res, 'size', `must be between 1 and ${DATA_PLANES_MAX_PAGE_SIZE}`);
    }
    const offsetParam = req.query.offset;
    if (
      offsetParam !== undefined &&
      (typeof offsetParam !== 'string' || !/^[A-Za-z0-9_-]+$/.test(offsetParam))
    ) {
      return badRequest(res, 'offset', 'invalid offset');
    }
    const parsed = parseDataPlaneFilter(req.query);
    if ('field' in parsed) return badRequest(res, parsed.field, parsed.message);
    const page = await registry.list({ size, offset: offsetParam ?? null, filter: parsed.filter });
    const next = page.offset
      ? `/clustering/data-planes?${new URLSearchParams([
          ...(sizeParam ? [['size', String(size)] as [string, string]] : []),
          ...filterParams(parsed.filter),
          ['offset', page.offset],
        ]).toString()}`
      : null;
    res.json({ data: page.data, next, offset: page.offset ?? undefined });
  };

  const status = async (_req: Request, res: Response) => {
    const out: Record<string, unknown> = {};
    let offset: string | null = null;
    do {
      const page = await registry.list({ size: DATA_PLANES_MAX_PAGE_SIZE, offset });
      for (const dp of page.data) {
        out[dp.id] = {
          config_hash: dp.config_hash,
          hostname: dp.hostname,
          ip: dp.ip,
          last_seen: dp.last_seen,
          connected: dp.connected,
          sync_status: dp.sync_status,
          cp_id: dp.cp_id,
        };
      }
      offset = page.offset;
    } while (offset);
    out.control_plane = { ...controlPlaneSection(publisher), ...(replica ? { cp_id: replica.cpId } : {}) };
    if (replica) out.messaging = replica.status();
    res.json(out);
  };

  router.route('/clustering/data-planes').get(dataPlanes).all(methodNotAllowed);
  router.route('/clustering/status').get(status).all(methodNotAllowed);
  return router;
}
