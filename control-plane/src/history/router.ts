/**
 * The config history on the Admin API (docs/config-history.md):
 * - `GET /config/versions` — the published versions, newest first, Kong's paging
 *   (`{ data: [{ version, hash, created_at, author, summary }], next, offset }`, `size`, `offset`).
 * - `GET /config/versions/{v}` — version v as a declarative file (`_format_version: "3.0"`), JSON,
 *   or YAML when the client asks for it (`Accept: application/yaml`).
 * - `GET /config/versions/{a}/diff/{b}` — what changed from a to b, per entity kind, secrets redacted.
 * - `POST /config/versions/{v}/restore` — the configuration becomes v's again, in one transaction,
 *   as a new (higher) version; 409 while a staged rollout runs.
 */
import express, { type Request, type Response, type Router } from 'express';
import { ConfigHistoryErrors, fromConfig, type Logger } from '@gatehouse/shared';
import { methodNotAllowed } from '../admin/errors.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { invalidOption, type ConfigStore } from '../store/index.js';
import { diffVersions, type PluginDescriptions } from './diff.js';
import { getVersion, listVersions, versionConfig, type HistoryVersion } from './store.js';
import { summarizeChanges } from './summary.js';

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
const MAX_VERSION = 2n ** 63n - 1n;
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];

export interface ConfigHistoryRouterOptions {
  store: ConfigStore;
  prisma: PrismaClient;
  logger: Logger;
  /** Plugin schemas: which plugin config fields are secrets (redacted in diffs). */
  plugins?: PluginDescriptions;
}

/** A version number as a path segment or offset holds it, or null (decimal, 1 to 2^63-1). */
export function parseVersion(text: unknown): bigint | null {
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,18}$/.test(text)) return null;
  const v = BigInt(text);
  return v <= MAX_VERSION ? v : null;
}

const quoted = (v: unknown) => JSON.stringify(String(v)).slice(0, 80);

/** Kong's timestamps: whole seconds. */
const versionJson = (v: HistoryVersion) => ({
  version: Number(v.version),
  hash: v.hash,
  created_at: Math.floor(v.created_at.getTime() / 1000),
  author: v.author,
  summary: v.summary,
});

export function createConfigHistoryRouter(o: ConfigHistoryRouterOptions): Router {
  const router = express.Router();

  const found = async (param: unknown): Promise<HistoryVersion> => {
    const v = parseVersion(param);
    const row = v === null ? null : await getVersion(o.prisma, v);
    if (!row) throw ConfigHistoryErrors.notFound(`no config version ${quoted(param)}`);
    return row;
  };

  const list = async (req: Request, res: Response) => {
    const sizeParam = req.query.size;
    let size = DEFAULT_PAGE;
    if (sizeParam !== undefined) {
      if (typeof sizeParam !== 'string' || !/^\d{1,7}$/.test(sizeParam)) {
        throw invalidOption('size', `must be an integer between 1 and ${MAX_PAGE}`);
      }
      size = Number(sizeParam);
      if (size < 1 || size > MAX_PAGE)
        throw invalidOption('size', `must be an integer between 1 and ${MAX_PAGE}`);
    }
    const offsetParam = req.query.offset;
    let before: bigint | null = null;
    if (offsetParam !== undefined) {
      before =
        typeof offsetParam === 'string' && /^[A-Za-z0-9_-]{1,40}$/.test(offsetParam)
          ? parseVersion(Buffer.from(offsetParam, 'base64url').toString('latin1'))
          : null;
      if (before === null) throw invalidOption('offset', 'invalid offset');
    }
    const page = await listVersions(o.prisma, size, before);
    const last = page.data.at(-1);
    const offset =
      page.more && last ? Buffer.from(last.version.toString(), 'latin1').toString('base64url') : null;
    const query = new URLSearchParams();
    if (sizeParam !== undefined) query.set('size', String(size));
    if (offset) query.set('offset', offset);
    res.json({
      data: page.data.map(versionJson),
      next: offset ? `/config/versions?${query.toString()}` : null,
      ...(offset ? { offset } : {}),
    });
  };

  const one = async (req: Request, res: Response) => {
    const v = await found(req.params.version);
    const config = await versionConfig(o.prisma, v);
    res.setHeader('X-Gatehouse-Config-Version', v.version.toString());
    res.setHeader('X-Gatehouse-Config-Hash', v.hash);
    const type = req.accepts(['application/json', ...YAML_TYPES]);
    if (typeof type === 'string' && YAML_TYPES.includes(type)) {
      res.type(type).send(fromConfig(config, { format: 'yaml' }));
      return;
    }
    res.type('application/json').send(fromConfig(config, { format: 'json' }));
  };

  const diff = async (req: Request, res: Response) => {
    const a = await found(req.params.from);
    const b = await found(req.params.to);
    const result = diffVersions(
      await versionConfig(o.prisma, a),
      await versionConfig(o.prisma, b),
      o.plugins,
    );
    res.json({ from: versionJson(a), to: versionJson(b), ...result });
  };

  const restore = async (req: Request, res: Response) => {
    const v = await found(req.params.version);
    const config = await versionConfig(o.prisma, v);
    const result = await o.store.replaceAll(config, { exact: true, note: `restore of version ${v.version}` });
    const body = {
      restored_from: Number(v.version),
      hash: v.hash,
      summary: summarizeChanges(result.changes),
    };
    if (result.version === null) {
      // The configuration already is v's: no new version.
      res.status(200).json({ version: Number(await o.store.currentVersion()), ...body });
      return;
    }
    o.logger.info(
      { restored_from: Number(v.version), version: Number(result.version) },
      'config version restored',
    );
    res.status(201).json({ version: Number(result.version), ...body });
  };

  router.route('/config/versions').get(list).all(methodNotAllowed);
  router.route('/config/versions/:version').get(one).all(methodNotAllowed);
  router.route('/config/versions/:from/diff/:to').get(diff).all(methodNotAllowed);
  router.route('/config/versions/:version/restore').post(restore).all(methodNotAllowed);
  return router;
}
