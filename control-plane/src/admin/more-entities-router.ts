import { Router } from 'express';
import {
  ACL_FIELDS,
  BASICAUTH_FIELDS,
  CA_CERTIFICATE_FIELDS,
  CERTIFICATE_FIELDS,
  CONSUMER_FIELDS,
  CONSUMER_GROUP_FIELDS,
  HMACAUTH_FIELDS,
  JWT_FIELDS,
  KEYAUTH_FIELDS,
  PLUGIN_FIELDS,
  SNI_FIELDS,
  TARGET_FIELDS,
  UPSTREAM_FIELDS,
} from '@gatehouse/shared';
import type { Fleet } from '../cluster/fleet.js';
import type { ConfigStore } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { mountEntity, param } from './generic-router.js';
import { listOptions, pageBody } from './list-query.js';

/** Credential collections: top-level (Kong's admin_api_name) and nested under a consumer. */
const CREDENTIALS = [
  ['key-auths', 'key-auth', 'keyauthCredentials', KEYAUTH_FIELDS],
  ['basic-auths', 'basic-auth', 'basicauthCredentials', BASICAUTH_FIELDS],
  ['jwts', 'jwt', 'jwtSecrets', JWT_FIELDS],
  ['hmac-auths', 'hmac-auth', 'hmacauthCredentials', HMACAUTH_FIELDS],
  ['acls', 'acls', 'acls', ACL_FIELDS],
] as const;

/**
 * Kong's endpoints for upstreams/targets, consumers, consumer groups (with membership), plugins
 * (global and scoped), certificates/SNIs, CA certificates and the auth credentials.
 */
export function moreEntitiesRouter(store: ConfigStore, fleet?: Fleet): Router {
  const r = Router();

  mountEntity(r, '/upstreams', store.upstreams, UPSTREAM_FIELDS);
  mountEntity(r, '/upstreams/:upstream/targets', store.targets, TARGET_FIELDS, {
    parent: { param: 'upstream', field: 'upstream' },
  });

  // Consumer groups and membership (before the generic consumer routes).
  r.route('/consumer_groups/:group/consumers')
    .get(async (req, res) => {
      res.json(pageBody(req, await store.memberships.consumersOf(param(req.params.group), listOptions(req))));
    })
    .post(async (req, res) => {
      res.status(201).json(await store.memberships.addConsumers(param(req.params.group), req.body));
    })
    .delete(async (req, res) => {
      await store.memberships.removeAll(param(req.params.group));
      res.status(204).end();
    })
    .all(methodNotAllowed);
  r.route('/consumer_groups/:group/consumers/:consumer')
    .get(async (req, res) => {
      const page = await store.memberships.consumersOf(param(req.params.group), { size: 1000 });
      const key = param(req.params.consumer);
      const consumer = await store.consumers.get(key);
      if (!page.data.some((c) => c.id === consumer.id)) {
        res.status(404).json({ message: 'Not found' });
        return;
      }
      res.json(consumer);
    })
    .delete(async (req, res) => {
      await store.memberships.remove(param(req.params.group), param(req.params.consumer));
      res.status(204).end();
    })
    .all(methodNotAllowed);
  r.route('/consumers/:consumer/consumer_groups')
    .get(async (req, res) => {
      res.json(pageBody(req, await store.memberships.groupsOf(param(req.params.consumer), listOptions(req))));
    })
    .post(async (req, res) => {
      res.status(201).json(await store.memberships.addGroups(param(req.params.consumer), req.body));
    })
    .all(methodNotAllowed);
  r.route('/consumers/:consumer/consumer_groups/:group')
    .delete(async (req, res) => {
      await store.memberships.remove(param(req.params.group), param(req.params.consumer));
      res.status(204).end();
    })
    .all(methodNotAllowed);
  mountEntity(r, '/consumer_groups', store.consumerGroups, CONSUMER_GROUP_FIELDS);
  mountEntity(r, '/consumers', store.consumers, CONSUMER_FIELDS);

  for (const [top, nested, repoName, specs] of CREDENTIALS) {
    const repo = store[repoName] as Parameters<typeof mountEntity>[2];
    mountEntity(r, `/consumers/:consumer/${nested}`, repo, specs, {
      parent: { param: 'consumer', field: 'consumer' },
    });
    mountEntity(r, `/${top}`, repo, specs);
  }

  // Plugins: /plugins/enabled before /plugins/{id}.
  r.route('/plugins/enabled')
    .get((_req, res) => {
      res.json({ enabled_plugins: (store.pluginSchemas?.list() ?? []).map((p) => p.name) });
    })
    .all(methodNotAllowed);
  const afterWrite = fleet
    ? async (plugin: Record<string, unknown>) => {
        const check = await fleet.checkPlugin(plugin.name as string);
        return check.incompatible.length > 0
          ? { ...plugin, incompatible_data_planes: check.incompatible }
          : plugin;
      }
    : undefined;
  const pluginOptions = afterWrite ? { afterWrite } : {};
  mountEntity(r, '/plugins', store.plugins, PLUGIN_FIELDS, pluginOptions);
  for (const [collection, field] of [
    ['services', 'service'],
    ['routes', 'route'],
    ['consumers', 'consumer'],
    ['consumer_groups', 'consumer_group'],
  ] as const) {
    mountEntity(r, `/${collection}/:parent/plugins`, store.plugins, PLUGIN_FIELDS, {
      ...pluginOptions,
      parent: { param: 'parent', field },
    });
  }

  mountEntity(r, '/certificates/:certificate/snis', store.snis, SNI_FIELDS, {
    parent: { param: 'certificate', field: 'certificate' },
  });
  mountEntity(r, '/certificates', store.certificates, CERTIFICATE_FIELDS);
  mountEntity(r, '/snis', store.snis, SNI_FIELDS);
  mountEntity(r, '/ca_certificates', store.caCertificates, CA_CERTIFICATE_FIELDS);
  return r;
}
