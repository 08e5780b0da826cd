import type { Request, Router } from 'express';
import type { Specs } from '@gatehouse/shared';
import type { EntityRepository, ParentScope } from '../store/index.js';
import { entityBody } from './body.js';
import { methodNotAllowed } from './errors.js';
import { listOptions, pageBody } from './list-query.js';

export const param = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value.join('/') : (value ?? '');

export interface MountOptions {
  /** Route parameter naming the parent (`/consumers/:consumer/key-auth` => 'consumer') and the entity's field for it. */
  parent?: { param: string; field: string };
  /** Runs after a successful write (e.g. the fleet check of a plugin); may add fields to the body. */
  afterWrite?: (entity: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

const parentOf = (req: Request, o: MountOptions): ParentScope | undefined =>
  o.parent ? { field: o.parent.field, key: param(req.params[o.parent.param]) } : undefined;

/**
 * Kong's collection + `{id or endpoint key}` endpoints for one entity: GET/POST on the
 * collection, GET/PATCH/PUT/DELETE on an entity, optionally nested under a parent entity.
 */
export function mountEntity<T>(
  r: Router,
  path: string,
  repo: EntityRepository<T>,
  schema: Specs,
  o: MountOptions = {},
): void {
  const after = async (entity: T) =>
    o.afterWrite ? o.afterWrite(entity as Record<string, unknown>) : (entity as Record<string, unknown>);
  r.route(path)
    .get(async (req, res) => {
      const parent = parentOf(req, o);
      const scope = { record: repo.def, nested: parent !== undefined };
      const page = await repo.list({ ...listOptions(req, scope), ...(parent ? { parent } : {}) });
      res.json(pageBody(req, page, scope));
    })
    .post(async (req, res) => {
      res.status(201).json(await after(await repo.create(entityBody(req, schema), parentOf(req, o))));
    })
    .all(methodNotAllowed);
  r.route(`${path}/:key`)
    .get(async (req, res) => {
      res.json(await repo.get(param(req.params.key), parentOf(req, o)));
    })
    .patch(async (req, res) => {
      res.json(
        await after(await repo.update(param(req.params.key), entityBody(req, schema), parentOf(req, o))),
      );
    })
    .put(async (req, res) => {
      const { entity, created } = await repo.upsert(
        param(req.params.key),
        entityBody(req, schema),
        parentOf(req, o),
      );
      res.status(created ? 201 : 200).json(await after(entity));
    })
    .delete(async (req, res) => {
      await repo.delete(param(req.params.key), parentOf(req, o));
      res.status(204).end();
    })
    .all(methodNotAllowed);
}
