/**
 * Staged rollouts on the Admin API (docs/rollouts.md):
 * - `POST /config/rollouts` `{ config, waves, soak, gate }`: `config` is a declarative document
 *   (as `POST /config` takes it: the document, or its YAML/JSON text), validated the same way, so
 *   a bad change is a 400 before anything starts; the plan is checked by `planSchema`. 201 with
 *   the rollout; 409 while another one runs; 400 when the change changes nothing.
 * - `GET /config/rollouts` (newest first, Kong's `{ data, next, offset }`), `GET /config/rollouts/{id}`.
 * - `POST /config/rollouts/{id}/abort`: rolls back now (the base config as a new version).
 * - `GET /config/rollouts/{id}/data-planes`: each connected DP's wave, whether the waves so far
 *   include it, and whether the rollout holds it at the base version (plan.ts `rolloutMembership`).
 */
import express, { type Request, type Response, type Router } from 'express';
import {
  inputProblems,
  inputViolation,
  parseDeclarative,
  RolloutErrors,
  toConfig,
  type DeclarativeDocument,
  type Logger,
  type PluginSchemas,
} from '@gatehouse/shared';
import { AdminErrors, methodNotAllowed } from '../admin/errors.js';
import { auditScope } from '../audit/middleware.js';
import { carryStoredValues } from '../declarative/diff.js';
import { declarativeErrorBody } from '../declarative/kong-errors.js';
import { documentOf } from '../declarative/router.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { invalidOption } from '../store/index.js';
import type { ConfigStore } from '../store/index.js';
import type { RolloutManager } from './manager.js';
import { parsePlan, rolloutMembership } from './plan.js';
import { getRollout, listRollouts, rollBack, rolloutJson, startRollout } from './store.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_PAGE = 1000;

export interface RolloutRouterOptions {
  store: ConfigStore;
  prisma: PrismaClient;
  manager: RolloutManager | null;
  logger: Logger;
  plugins?: PluginSchemas;
  bodyLimit?: string | number;
  /** The connected data planes (the registry's), for `…/data-planes`; none when unset. */
  dataPlanes?: () => Promise<
    { id: string; hostname: string; labels: Record<string, string>; config_version: number }[]
  >;
}

function rolloutId(req: Request): string {
  const id = String(req.params.id ?? '').toLowerCase();
  if (!UUID.test(id))
    throw RolloutErrors.notFound(`no rollout ${JSON.stringify(req.params.id).slice(0, 80)}`);
  return id;
}

export function createRolloutRouter(o: RolloutRouterOptions): Router {
  const router = express.Router();
  const json = express.json({
    limit: o.bodyLimit ?? '64mb',
    type: ['application/json', 'application/*+json'],
  });

  const create = async (req: Request, res: Response) => {
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw AdminErrors.malformedBody('expected a JSON object: { config, waves, soak, gate }');
    const record = body as Record<string, unknown>;
    const plan: Record<string, unknown> = {};
    for (const key of Object.keys(record)) {
      if (key === 'config') continue;
      plan[key] = record[key];
    }
    const problems = inputProblems(plan);
    if (problems.length) throw inputViolation(problems);
    // Unknown keys are the plan schema's "unknown field"; a key holding undefined is absent.
    for (const key of Object.keys(plan)) if (plan[key] === undefined) delete plan[key];
    const parsedPlan = parsePlan(plan);
    const input = documentOf(req);
    let desired;
    let doc: DeclarativeDocument | undefined;
    try {
      doc = typeof input === 'string' ? parseDeclarative(input) : input;
      const resolved = toConfig(doc, { plugins: o.plugins });
      const current = await o.store.readConfig();
      desired = carryStoredValues(current.config, resolved);
    } catch (e) {
      const bodyOut = declarativeErrorBody(e, doc);
      if (bodyOut) {
        res.status(400).json(bodyOut);
        return;
      }
      throw e;
    }
    const rollout = await startRollout(o.store, desired, parsedPlan);
    o.logger.info(
      { rollout: rollout.id, target_version: Number(rollout.targetVersion) },
      'staged rollout started',
    );
    await o.manager?.refresh();
    res.status(201).json(rolloutJson(rollout));
  };

  const list = async (req: Request, res: Response) => {
    const sizeParam = req.query.size;
    let size = 100;
    if (sizeParam !== undefined) {
      if (
        typeof sizeParam !== 'string' ||
        !/^\d{1,7}$/.test(sizeParam) ||
        Number(sizeParam) < 1 ||
        Number(sizeParam) > MAX_PAGE
      )
        throw invalidOption('size', `must be an integer between 1 and ${MAX_PAGE}`);
      size = Number(sizeParam);
    }
    const offsetParam = req.query.offset;
    let after: { createdAt: Date; id: string } | null = null;
    if (offsetParam !== undefined) {
      const m =
        typeof offsetParam === 'string'
          ? /^(\d{1,15})_([0-9a-f-]{36})$/.exec(Buffer.from(offsetParam, 'base64url').toString('latin1'))
          : null;
      if (!m || !UUID.test(m[2]!)) throw invalidOption('offset', 'invalid offset');
      after = { createdAt: new Date(Number(m[1])), id: m[2]! };
    }
    const page = await listRollouts(o.prisma, size, after);
    const offset =
      page.more && page.last
        ? Buffer.from(`${page.last.createdAt}_${page.last.id}`, 'latin1').toString('base64url')
        : null;
    res.json({
      data: page.data.map(rolloutJson),
      next: offset
        ? `/config/rollouts?${new URLSearchParams([...(sizeParam ? [['size', String(size)] as [string, string]] : []), ['offset', offset] as [string, string]]).toString()}`
        : null,
      offset: offset ?? undefined,
    });
  };

  const one = async (req: Request, res: Response) => {
    const id = rolloutId(req);
    const r = await getRollout(o.prisma, id);
    if (!r) throw RolloutErrors.notFound(`no rollout ${id}`);
    res.json(rolloutJson(r));
  };

  const dataPlanes = async (req: Request, res: Response) => {
    const id = rolloutId(req);
    const r = await getRollout(o.prisma, id);
    if (!r) throw RolloutErrors.notFound(`no rollout ${id}`);
    const dps = o.dataPlanes ? await o.dataPlanes() : [];
    res.json({ data: rolloutMembership(r, dps), next: null });
  };

  const abort = async (req: Request, res: Response) => {
    const id = rolloutId(req);
    const r = await getRollout(o.prisma, id);
    if (!r) throw RolloutErrors.notFound(`no rollout ${id}`);
    const done = await rollBack(o.store, id, { state: 'aborted', reason: 'aborted through the Admin API' });
    if (!done)
      throw RolloutErrors.notRunning(
        `rollout ${id} is ${(await getRollout(o.prisma, id))?.state ?? r.state}: nothing to abort`,
      );
    o.logger.warn(
      { rollout: id, rollback_version: Number(done.rollbackVersion) },
      'staged rollout aborted; rolled back',
    );
    await o.manager?.refresh();
    res.json(rolloutJson(done));
  };

  // auditScope: the parser's callbacks leave the request's async context (audit/middleware.ts).
  router.route('/config/rollouts').get(list).post(json, auditScope, create).all(methodNotAllowed);
  router.route('/config/rollouts/:id').get(one).all(methodNotAllowed);
  router.route('/config/rollouts/:id/abort').post(abort).all(methodNotAllowed);
  router.route('/config/rollouts/:id/data-planes').get(dataPlanes).all(methodNotAllowed);
  return router;
}
