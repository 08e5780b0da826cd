/**
 * Kong's proxy-cache Admin API (kong/plugins/proxy-cache/api.lua) on the control plane:
 *
 *   DELETE /proxy-cache                                   purge every entry         204
 *   DELETE /proxy-cache/{cache_key}                       purge one key             204
 *   DELETE /proxy-cache/{plugin_id}/caches/{cache_key}    purge one plugin's key    204, 404 no such plugin
 *   GET    /proxy-cache/{cache_key}                       404
 *   GET    /proxy-cache/{plugin_id}/caches/{cache_key}    404
 *
 * The entries live in the memory of each data plane's workers, never on the CP: a purge is
 * relayed to every DP connected to this CP (ProxyCachePurge on the cluster stream) and, with
 * NATS_URL, to the other CP replicas, which relay it to theirs (messaging/replicas.ts); it is
 * answered 204 at once, whether or not a DP held the key (Kong answers 404 when its own node does not).
 * A GET cannot see a DP's memory: it answers 404, as a Kong hybrid CP (which serves no traffic,
 * so its memory strategy holds nothing) does. A key that cannot be one (not 64 hex digits) and a
 * plugin id that is no proxy-cache plugin are 404 as well.
 */
import { Router, type Request } from 'express';
import { isGatehouseError } from '@gatehouse/shared';
import type { ConfigStore } from '../store/index.js';
import { AdminErrors, methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';

/** Where a purge goes: the cluster server's streams (and the other replicas, messaging/replicas.ts). */
export interface PurgeRelay {
  broadcastPurge(order: { pluginId: string | null; key: string | null }): number;
}

const CACHE_KEY = /^[0-9a-fA-F]{64}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const NOT_ON_CP = 'Not found (proxy-cache entries live in the data planes; the control plane holds none)';

/** The `cache_key` path parameter, lower-cased; 404 when it cannot be a cache key. */
function cacheKey(req: Request): string {
  const key = param(req.params.cache_key);
  if (!CACHE_KEY.test(key)) throw AdminErrors.notFound('Not found');
  return key.toLowerCase();
}

/** The `plugin_id` parameter when it names a proxy-cache plugin; 404 otherwise. */
async function proxyCachePlugin(store: ConfigStore, req: Request): Promise<string> {
  const id = param(req.params.plugin_id);
  if (!UUID.test(id)) throw AdminErrors.notFound('Not found');
  try {
    const plugin = await store.entities.plugins.get(id.toLowerCase());
    if (plugin.name !== 'proxy-cache') throw AdminErrors.notFound('Not found');
    return plugin.id;
  } catch (e) {
    if (isGatehouseError(e) && e.status === 404) throw AdminErrors.notFound('Not found');
    throw e;
  }
}

export function proxyCacheEndpoints(store: ConfigStore, relay: PurgeRelay): Router {
  const r = Router();

  r.route('/proxy-cache')
    .delete((_req, res) => {
      relay.broadcastPurge({ pluginId: null, key: null });
      res.status(204).end();
    })
    .all(methodNotAllowed);

  r.route('/proxy-cache/:cache_key')
    .get((req) => {
      cacheKey(req);
      throw AdminErrors.notFound(NOT_ON_CP);
    })
    .delete((req, res) => {
      relay.broadcastPurge({ pluginId: null, key: cacheKey(req) });
      res.status(204).end();
    })
    .all(methodNotAllowed);

  r.route('/proxy-cache/:plugin_id/caches/:cache_key')
    .get(async (req) => {
      await proxyCachePlugin(store, req);
      cacheKey(req);
      throw AdminErrors.notFound(NOT_ON_CP);
    })
    .delete(async (req, res) => {
      const pluginId = await proxyCachePlugin(store, req);
      relay.broadcastPurge({ pluginId, key: cacheKey(req) });
      res.status(204).end();
    })
    .all(methodNotAllowed);

  return r;
}
