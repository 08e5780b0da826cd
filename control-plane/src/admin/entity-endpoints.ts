import { Router } from 'express';
import { ENTITY_RECORDS, type EntityKind } from '@gatehouse/shared';
import type { Fleet } from '../cluster/fleet.js';
import type { ConfigStore, EntityRepository, RepositoryKind } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { mountEntity, param, type MountOptions } from './generic-router.js';

/**
 * Kong's entity endpoints, one set per registry record that has Admin API paths: the collection
 * `/{path}`, `/{path}/{id or endpoint key}`, and the same nested under each parent
 * (`/services/{service}/routes`, `/consumers/{consumer}/key-auth`). Before them, the few
 * endpoints that are not an entity's CRUD: `/routes/{route}/service` and `/plugins/enabled`.
 */
export function entityEndpoints(store: ConfigStore, fleet?: Fleet): Router {
  const r = Router();

  r.route('/routes/:route/service')
    .get(async (req, res) => {
      const route = await store.entities.routes.get(param(req.params.route));
      if (!route.service) {
        res.status(404).json({ message: 'Not found' });
        return;
      }
      res.json(await store.entities.services.get(route.service.id));
    })
    .all(methodNotAllowed);

  // Before /plugins/{id}.
  r.route('/plugins/enabled')
    .get((_req, res) => {
      res.json({ enabled_plugins: (store.pluginSchemas?.list() ?? []).map((p) => p.name) });
    })
    .all(methodNotAllowed);

  // A plugin write answers the data planes that lack the plugin (Kong's fleet check).
  const options: Partial<Record<EntityKind, MountOptions>> = fleet
    ? {
        plugins: {
          afterWrite: async (plugin) => {
            const check = await fleet.checkPlugin(plugin.name as string);
            return check.incompatible.length > 0
              ? { ...plugin, incompatible_data_planes: check.incompatible }
              : plugin;
          },
        },
      }
    : {};

  for (const record of ENTITY_RECORDS) {
    if (!record.admin) continue;
    const repo = store.entities[record.kind as RepositoryKind] as EntityRepository<unknown>;
    const own = options[record.kind] ?? {};
    for (const nested of record.admin.nested ?? []) {
      const parents = ENTITY_RECORDS.find((p) => p.kind === nested.parent)!.admin!.path!;
      mountEntity(r, `/${parents}/:parent/${nested.path}`, repo, record.schema, {
        ...own,
        parent: { param: 'parent', field: nested.field },
      });
    }
    if (record.admin.path) mountEntity(r, `/${record.admin.path}`, repo, record.schema, own);
  }
  return r;
}
