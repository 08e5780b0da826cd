import { Router } from 'express';
import { ENTITIES, ENTITY_RECORDS, type EntityKind } from '@gatehouse/shared';
import type { Fleet } from '../cluster/fleet.js';
import type { ConfigStore, EntityRepository, RepositoryKind } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { mountEntity, mountForeignEntity, type MountOptions } from './generic-router.js';

/**
 * Kong's entity endpoints, derived from the registry records that have Admin API paths, as
 * `kong/api/endpoints.lua` generates them: the collection `/{path}`, `/{path}/{id or endpoint key}`,
 * the same nested under each parent (`/services/{service}/routes[/{route}]`,
 * `/consumers/{consumer}/key-auth[/{key}]`), and for each foreign key the referenced entity
 * (`/routes/{route}/service`, `/plugins/{plugin}/consumer`). Before them, `/plugins/enabled`.
 */
/** The tags of a plugin and of the service / route it is attached to (which DPs' slices hold it). */
async function pluginReachTags(
  store: ConfigStore,
  plugin: Record<string, unknown>,
): Promise<(readonly string[] | null | undefined)[]> {
  const idOf = (field: string) => {
    const ref = plugin[field] as { id?: unknown } | null | undefined;
    return typeof ref?.id === 'string' ? ref.id : null;
  };
  // Consumers are not scopable (slices.ts): only services and routes narrow a plugin's reach.
  const tagsOf = async (kind: 'services' | 'routes', id: string | null) => {
    if (id === null) return null;
    try {
      return (await store.entities[kind].get(id)) as {
        tags?: string[] | null;
        service?: { id?: unknown } | null;
      };
    } catch {
      return null; // deleted meanwhile: nothing to narrow by
    }
  };
  const route = await tagsOf('routes', idOf('route'));
  const routeService = typeof route?.service?.id === 'string' ? route.service.id : null;
  const others = await Promise.all([tagsOf('services', idOf('service')), tagsOf('services', routeService)]);
  return [plugin.tags as string[] | null | undefined, route?.tags, ...others.map((e) => e?.tags)];
}

export function entityEndpoints(store: ConfigStore, fleet?: Fleet): Router {
  const r = Router();

  // Before /plugins/{id}.
  r.route('/plugins/enabled')
    .get((_req, res) => {
      res.json({ enabled_plugins: (store.pluginSchemas?.list() ?? []).map((p) => p.name) });
    })
    .all(methodNotAllowed);

  const options: Partial<Record<EntityKind, MountOptions>> = {
    // A plugin write answers the data planes that lack the plugin (Kong's fleet check).
    ...(fleet
      ? {
          plugins: {
            afterWrite: async (plugin) => {
              const check = await fleet.checkPlugin(plugin.name as string, undefined, {
                tags: await pluginReachTags(store, plugin),
              });
              return check.incompatible.length > 0
                ? { ...plugin, incompatible_data_planes: check.incompatible }
                : plugin;
            },
          },
        }
      : {}),
    // Kong's PUT /upstreams/{u}/targets/{t} updates the target (kong/api/routes/upstreams.lua).
    targets: { putUpdates: true },
    // Kong Enterprise's GET /consumer_groups/{g}: the group with its consumers and plugins.
    consumer_groups: {
      view: (key, req) =>
        store.memberships.view(key, {
          listConsumers: (req.query as Record<string, unknown>).list_consumers !== 'false',
        }),
    },
  };
  const repoOf = (kind: EntityKind) =>
    store.entities[kind as RepositoryKind] as EntityRepository<unknown> | undefined;

  for (const record of ENTITY_RECORDS) {
    if (!record.admin) continue;
    const repo = repoOf(record.kind)!;
    const own = options[record.kind] ?? {};
    for (const nested of record.admin.nested ?? []) {
      const parents = ENTITIES[nested.parent].admin!.path!;
      mountEntity(r, `/${parents}/:parent/${nested.path}`, repo, record.schema, {
        ...own,
        parent: { param: 'parent', field: nested.field },
      });
    }
    if (!record.admin.path) continue;
    for (const fk of record.foreign) {
      const target = repoOf(fk.target);
      if (!target || record.admin.withoutForeignEndpoints?.includes(fk.field)) continue;
      mountForeignEntity(r, {
        path: `/${record.admin.path}`,
        field: fk.field,
        repo,
        target,
        targetSchema: ENTITIES[fk.target].schema,
        ...(options[fk.target]?.afterWrite ? { afterWrite: options[fk.target]!.afterWrite } : {}),
      });
    }
    mountEntity(r, `/${record.admin.path}`, repo, record.schema, own);
  }
  return r;
}
