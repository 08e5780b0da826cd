/**
 * Kong's upstream health endpoints (kong/api/routes/upstreams.lua), for a fleet of data planes:
 *
 *   GET      /upstreams/{u}/health                        200 targets with `health` (+ per-DP breakdown)
 *   GET      /upstreams/{u}/health?balancer_health=1      200 the upstream's own health
 *   GET      /upstreams/{u}/health?data_plane=<id>        200 as seen by that one DP
 *   PUT|POST /upstreams/{u}/targets/{t}/healthy           204, relayed to every DP
 *   PUT|POST /upstreams/{u}/targets/{t}/unhealthy         204, relayed to every DP
 *
 * `{u}` is an upstream id or name, `{t}` a target id or `host:port` (404 when either is
 * unknown). Health lives in the data planes: the CP reads what their heartbeats report
 * (upstream-health.ts) and relays orders to every DP connected to this CP (TargetHealthOrder on
 * the cluster stream) and, with NATS_URL, to the other replicas, which relay them to theirs
 * (messaging/replicas.ts). Kong refuses these in hybrid mode; Kong answers 400 "no healthchecker
 * found for <upstream>" when the upstream uses no health check, and so do we.
 */
import { Router, type Request } from 'express';
import { defineError, schemaViolation, type Target, type Upstream } from '@gatehouse/shared';
import type { DataPlaneRecord } from '../cluster/registry.js';
import type { TargetHealthOrder } from '../messaging/messages.js';
import type { ConfigStore } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';
import { balancerHealth, targetsHealth, usesHealthchecks } from './upstream-health.js';

/** Where a target health order goes: this CP's DP streams (and the other replicas). */
export interface TargetHealthRelay {
  broadcastTargetHealth(order: TargetHealthOrder): number;
}

/** The DPs whose reports count (the registry's connected rows, on any replica). */
export interface HealthSources {
  listConnected(): Promise<DataPlaneRecord[]>;
}

export const UpstreamHealthErrors = {
  /** Kong's answer when the upstream uses no health check (no healthchecker to set a target's health in). */
  noHealthchecker: defineError('GH_ERR_ADMIN_NO_HEALTHCHECKER', 400),
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Targets of one upstream listed at most (Kong pages them; an upstream has far fewer). */
const PAGE = 1000;

async function allTargets(store: ConfigStore, upstreamId: string): Promise<Target[]> {
  const out: Target[] = [];
  let offset: string | undefined;
  do {
    const page = await store.entities.targets.list({
      size: PAGE,
      parent: { field: 'upstream', key: upstreamId },
      ...(offset === undefined ? {} : { offset }),
    });
    out.push(...page.data);
    offset = page.offset ?? undefined;
  } while (offset !== undefined);
  return out;
}

async function upstreamOf(store: ConfigStore, req: Request): Promise<Upstream> {
  return store.entities.upstreams.get(param(req.params.upstream));
}

/** `{t}`: a target id, or `host[:port]` (port 8000 when omitted, as the stored form). */
async function targetOf(store: ConfigStore, upstream: Upstream, req: Request): Promise<Target> {
  const key = param(req.params.target);
  const complete = UUID.test(key) || /:[0-9]+$/.test(key) || key.startsWith('[');
  return store.entities.targets.get(complete ? key : `${key}:8000`, { field: 'upstream', key: upstream.id });
}

/** Kong reads any `balancer_health` value as "yes" except an explicit false. */
function wantsBalancerHealth(req: Request): boolean {
  const v = req.query.balancer_health;
  if (v === undefined) return false;
  const last: unknown = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof last !== 'string' || (last !== '0' && last.toLowerCase() !== 'false');
}

/** Longest DP node id (the cluster server refuses longer ones at Hello). */
const MAX_DATA_PLANE_ID_LENGTH = 256;

/** `?data_plane=<id>`: one DP's view (null: the fleet's). 400 when repeated, empty or too long. */
function dataPlaneFilter(req: Request): string | null {
  const v = req.query.data_plane;
  if (v === undefined) return null;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_DATA_PLANE_ID_LENGTH)
    throw schemaViolation({
      data_plane: `must be one data plane id of 1-${MAX_DATA_PLANE_ID_LENGTH} characters`,
    });
  return v;
}

export function upstreamHealthEndpoints(
  store: ConfigStore,
  sources: HealthSources,
  relay: TargetHealthRelay,
  nodeId: string,
): Router {
  const r = Router();

  r.route('/upstreams/:upstream/health')
    .get(async (req, res) => {
      const only = dataPlaneFilter(req);
      const upstream = await upstreamOf(store, req);
      const [targets, all] = await Promise.all([allTargets(store, upstream.id), sources.listConnected()]);
      const dps = only === null ? all : all.filter((dp) => dp.id === only);
      if (wantsBalancerHealth(req)) {
        res.json({ data: balancerHealth(upstream, targets, dps), node_id: nodeId });
        return;
      }
      const entries = targetsHealth(upstream, targets, dps);
      res.json({ data: entries, total: entries.length, next: null, node_id: nodeId });
    })
    .all(methodNotAllowed);

  for (const [suffix, healthy] of [
    ['healthy', true],
    ['unhealthy', false],
  ] as const) {
    const set = async (req: Request, res: import('express').Response) => {
      const upstream = await upstreamOf(store, req);
      const target = await targetOf(store, upstream, req);
      if (!usesHealthchecks(upstream))
        throw UpstreamHealthErrors.noHealthchecker(`no healthchecker found for ${upstream.name}`);
      relay.broadcastTargetHealth({ upstreamId: upstream.id, target: target.target.toLowerCase(), healthy });
      res.status(204).end();
    };
    r.route(`/upstreams/:upstream/targets/:target/${suffix}`).put(set).post(set).all(methodNotAllowed);
  }

  return r;
}
