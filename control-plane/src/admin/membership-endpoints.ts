import { Router } from 'express';
import { ENTITIES } from '@gatehouse/shared';
import type { ConfigStore } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';
import { listOptions, pageBody } from './list-query.js';

/**
 * Kong Enterprise's consumer-group membership endpoints: `/consumer_groups/{group}/consumers[/{consumer}]`
 * and `/consumers/{consumer}/consumer_groups[/{group}]` (`GET /consumer_groups/{group}`, the group
 * with its consumers and plugins, is the generic entity endpoint's `view`, in entity-endpoints.ts).
 */
export function membershipEndpoints(store: ConfigStore): Router {
  const r = Router();
  r.route('/consumer_groups/:group/consumers')
    .get(async (req, res) => {
      const scope = { record: ENTITIES.consumers, members: true };
      const page = await store.memberships.consumersOf(param(req.params.group), listOptions(req, scope));
      res.json(pageBody(req, page, scope));
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
      const consumer = await store.entities.consumers.get(key);
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
      const scope = { record: ENTITIES.consumer_groups, members: true };
      const page = await store.memberships.groupsOf(param(req.params.consumer), listOptions(req, scope));
      res.json(pageBody(req, page, scope));
    })
    .post(async (req, res) => {
      res.status(201).json(await store.memberships.addGroups(param(req.params.consumer), req.body));
    })
    .delete(async (req, res) => {
      await store.memberships.removeFromAll(param(req.params.consumer));
      res.status(204).end();
    })
    .all(methodNotAllowed);
  r.route('/consumers/:consumer/consumer_groups/:group')
    .delete(async (req, res) => {
      await store.memberships.remove(param(req.params.group), param(req.params.consumer));
      res.status(204).end();
    })
    .all(methodNotAllowed);
  return r;
}
