import { randomUUID } from 'node:crypto';
import type { Request, Router } from 'express';
import type { Specs } from '@gatehouse/shared';
import type { EntityRepository, ParentScope } from '../store/index.js';
import { entityBody } from './body.js';
import { AdminErrors, methodNotAllowed } from './errors.js';
import { listOptions, pageBody } from './list-query.js';

export const param = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value.join('/') : (value ?? '');

export interface MountOptions {
  /** Route parameter naming the parent (`/consumers/:consumer/key-auth` => 'consumer') and the entity's field for it. */
  parent?: { param: string; field: string };
  /** Runs after a successful write (e.g. the fleet check of a plugin); may add fields to the body. */
  afterWrite?: (entity: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /**
   * `PUT /{path}/{key}` updates the entity at the key as a PATCH does (404 when there is none)
   * instead of creating or replacing it: Kong's targets (kong/api/routes/upstreams.lua).
   */
  putUpdates?: boolean;
  /**
   * Answers `GET /{path}/{key}` with this instead of the entity alone (Kong Enterprise's
   * `{consumer_group, consumers, plugins}`); the other methods are unchanged.
   */
  view?: (key: string, req: Request) => Promise<unknown>;
}

const parentOf = (req: Request, o: MountOptions): ParentScope | undefined =>
  o.parent ? { field: o.parent.field, key: param(req.params[o.parent.param]) } : undefined;

/**
 * Kong's collection + `{id or endpoint key}` endpoints for one entity: GET/POST on the
 * collection, GET/PATCH/PUT/DELETE on an entity, optionally nested under a parent entity.
 * Statuses as Kong's `kong/api/endpoints.lua`: POST 201, PUT 200 whether it created or replaced,
 * DELETE 204 (also for a missing entity at the top level; 404 under a parent, see the repository).
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
  const update = async (req: Request) =>
    after(await repo.update(param(req.params.key), entityBody(req, schema), parentOf(req, o)));
  r.route(`${path}/:key`)
    .get(async (req, res) => {
      const key = param(req.params.key);
      res.json(o.view ? await o.view(key, req) : await repo.get(key, parentOf(req, o)));
    })
    .patch(async (req, res) => {
      res.json(await update(req));
    })
    .put(async (req, res) => {
      if (o.putUpdates) {
        res.json(await update(req));
        return;
      }
      const { entity } = await repo.upsert(param(req.params.key), entityBody(req, schema), parentOf(req, o));
      res.json(await after(entity));
    })
    .delete(async (req, res) => {
      await repo.delete(param(req.params.key), parentOf(req, o));
      res.status(204).end();
    })
    .all(methodNotAllowed);
}

/** What a foreign-entity endpoint works on: the referencing entity's repository and the referenced one's. */
export interface ForeignEndpoint {
  /** The referencing collection's path (`/routes`). */
  path: string;
  /** The foreign-key field, also the last path segment (`service`). */
  field: string;
  repo: EntityRepository<unknown>;
  target: EntityRepository<unknown>;
  /** The referenced entity's schema (form bodies). */
  targetSchema: Specs;
  /** Runs after a successful write of the referenced entity. */
  afterWrite?: MountOptions['afterWrite'];
}

/**
 * Kong's `/{entity}/{key}/{foreign field}` endpoints (`/routes/{r}/service`, `/plugins/{p}/consumer`,
 * `/key-auths/{k}/consumer`), as `kong/api/endpoints.lua` generates them for every foreign key:
 * GET the referenced entity; PATCH it; PUT replaces it, or creates it and points the entity at it
 * when the key is unset; DELETE is refused with 405 while the key is set. 404 when the entity does
 * not exist or (except for PUT) its key is unset.
 */
export function mountForeignEntity(r: Router, ep: ForeignEndpoint): void {
  const after = async (entity: unknown) =>
    ep.afterWrite ? ep.afterWrite(entity as Record<string, unknown>) : entity;
  const referencing = async (req: Request) =>
    (await ep.repo.get(param(req.params.key))) as Record<string, unknown>;
  const referencedId = (entity: Record<string, unknown>) =>
    (entity[ep.field] as { id?: string } | null | undefined)?.id ?? null;
  const pointedAt = async (req: Request) => {
    const id = referencedId(await referencing(req));
    if (id === null) throw AdminErrors.notFound('Not found');
    return id;
  };
  r.route(`${ep.path}/:key/${ep.field}`)
    .get(async (req, res) => {
      res.json(await ep.target.get(await pointedAt(req)));
    })
    .patch(async (req, res) => {
      const id = await pointedAt(req);
      res.json(await after(await ep.target.update(id, entityBody(req, ep.targetSchema))));
    })
    .put(async (req, res) => {
      const entity = await referencing(req);
      const id = referencedId(entity);
      const body = entityBody(req, ep.targetSchema);
      const { entity: written } = await ep.target.upsert(id ?? randomUUID(), body);
      // Kong's put_entity_endpoint: a new entity is then associated (a second write, as Kong's).
      if (id === null) {
        const writtenId = (written as { id: string }).id;
        await ep.repo.update(entity.id as string, { [ep.field]: { id: writtenId } });
      }
      res.json(await after(written));
    })
    .delete(async (req) => {
      await pointedAt(req);
      throw AdminErrors.methodNotAllowed('Method not allowed');
    })
    .all(methodNotAllowed);
}
