import express, { type Request, type Router } from 'express';
import {
  defineError,
  fromConfig,
  parseDeclarative,
  type DeclarativeDocument,
  type Logger,
  type PluginSchemas,
} from '@gatehouse/shared';
import { methodNotAllowed } from '../admin/errors.js';
import { auditScope } from '../audit/middleware.js';
import type { ConfigStore } from '../store/index.js';
import { declarativeErrorBody } from './kong-errors.js';
import { importDeclarative } from './import.js';
import { withRoomyHeap } from '../heap-sizing.js';

export interface ConfigRouterOptions {
  /** Validates plugin configs (unknown names are unsupported). */
  plugins?: PluginSchemas;
  /** Largest raw YAML/JSON body this router reads itself (default 64 MiB). */
  bodyLimit?: string | number;
}

const missingConfig = defineError('GH_ERR_DECLARATIVE_MISSING', 400);

const truthy = (v: unknown) => typeof v === 'string' && ['1', 'true', 'on', 'yes'].includes(v.toLowerCase());

const RAW_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'text/plain'];

/** The document a request carries: the JSON document itself, `{ config: "<yaml or json>" }`, or a raw YAML body. */
export function documentOf(req: Request): string | DeclarativeDocument {
  const body: unknown = req.body;
  if (typeof body === 'string' && body.trim() !== '') return body;
  if (body !== null && typeof body === 'object' && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if ('_format_version' in record) return record;
    if (typeof record.config === 'string') return record.config;
    if (record.config !== null && typeof record.config === 'object')
      return record.config as DeclarativeDocument;
  }
  throw missingConfig('expected a declarative configuration');
}

/**
 * Kong's DB-less endpoints on the control plane:
 * Mount it before the Admin API's body parsers (createAdminApp's `routers`): it reads its own bodies.
 * - `POST /config` (body: the document as JSON, `{ config: "<yaml or json>" }` as JSON or form, or a
 *   raw YAML body) makes the database match it in one transaction and answers 201 with the flat
 *   entities (`{ services: { <id>: {...} }, ... }`); `?check_hash=1` answers 304 when nothing would
 *   change; `?skip_unsupported=1` drops unsupported entries; errors are Kong's 400 body with
 *   `fields` and `flattened_errors` naming each path.
 * - `POST /config/diff` (Gatehouse): the same input, answers the changes without applying them.
 * - `GET /config`: `{ config: "<yaml>" }`, the current configuration as a declarative document.
 */
export function createConfigRouter(
  store: ConfigStore,
  logger: Logger,
  options: ConfigRouterOptions = {},
): Router {
  const router = express.Router();
  const limit = options.bodyLimit ?? '64mb';
  // Mounted before the Admin API's body parsers (whose limit is 1 MiB): this router reads its own.
  const bodies = [
    express.json({ limit, type: ['application/json', 'application/*+json'] }),
    express.urlencoded({ limit, extended: false }),
    express.text({ type: RAW_TYPES, limit }),
    // The parsers' callbacks leave the request's async context: the audit source is re-entered.
    auditScope,
  ];

  const readConfig = async (_req: Request, res: express.Response) => {
    const { config } = await store.readConfig();
    res.json({ config: fromConfig(config) });
  };

  const run = (dryRun: boolean) =>
    async function handler(req: Request, res: express.Response) {
      const input = documentOf(req);
      try {
        const result = await importDeclarative(store, input, {
          dryRun: dryRun || truthy(req.query.check_hash),
          skipUnsupported: truthy(req.query.skip_unsupported),
          plugins: options.plugins,
        });
        if (dryRun) {
          res.json({
            changes: result.changes.map(({ action, kind, id, label, fields }) => ({
              action,
              kind,
              id,
              label,
              fields: fields ?? null,
            })),
            unsupported: result.unsupported,
          });
          return;
        }
        if (truthy(req.query.check_hash)) {
          if (result.changes.length === 0) {
            res.status(304).end();
            return;
          }
          const applied = await importDeclarative(store, input, {
            skipUnsupported: truthy(req.query.skip_unsupported),
            plugins: options.plugins,
          });
          Object.assign(result, applied);
        }
        if (result.changes.length)
          logger.info(
            { changes: result.changes.length, version: result.version?.toString() },
            'declarative config applied',
          );
        const flat: Record<string, Record<string, unknown>> = {};
        for (const [kind, list] of Object.entries(result.config) as [string, { id: string }[]][]) {
          if (list.length) flat[kind] = Object.fromEntries(list.map((e) => [e.id, e]));
        }
        res.status(201).json(flat);
      } catch (e) {
        let doc: unknown = input;
        if (typeof input === 'string') {
          try {
            doc = parseDeclarative(input);
          } catch {
            doc = undefined;
          }
        }
        const body = declarativeErrorBody(e, doc);
        if (body) {
          res.status(400).json(body);
          return;
        }
        throw e;
      }
    };

  // A whole-config import holds a large live heap: it runs with V8's default heap sizing from the
  // body parse to the answer (heap-sizing.ts; with the lean sizing the 10k import took 2x the CPU).
  const roomy: express.RequestHandler = (_req, res, next) => {
    void withRoomyHeap(
      () =>
        new Promise<void>((resolve) => {
          res.once('close', resolve);
          next();
        }),
    );
  };

  router.route('/config').get(readConfig).post(roomy, bodies, run(false)).all(methodNotAllowed);
  router.route('/config/diff').post(roomy, bodies, run(true)).all(methodNotAllowed);
  return router;
}
