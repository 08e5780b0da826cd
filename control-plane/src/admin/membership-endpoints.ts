import { Router } from 'express';
import type { ConfigStore } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';
import { listOptions, pageBody } from './list-query.js';

/**
 * Kong Enterprise's consumer-group endpoints beyond the group's CRUD: `GET /consumer_groups/{group}`
 * with its consumers and plugins, and the memberships `/consumer_groups/{group}/consumers[/{consumer}]`
 * and `/consumers/{consumer}/consumer_groups[/{group}]`. Mounted before the generic entity
 * endpoints, which answer the group's other methods.
 */
export function membershipEndpoints(store: ConfigStore): Router {
  const r = Router();
  // Only GET: PATCH, PUT and DELETE fall through to the generic `/consumer_groups/{key}`.
  r.route('/consumer_groups/:group').get(async (req, res) => {
    const listConsumers = (req.query as Record<string, unknown>).list_consumers !== 'false';
    res.json(await store.memberships.view(param(req.params.group), { listConsumers }));
  });
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
      res.json(pageBody(req, await store.memberships.groupsOf(param(req.params.consumer), listOptions(req))));
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
