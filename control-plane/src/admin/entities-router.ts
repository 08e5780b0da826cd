import { Router } from 'express';
import { ROUTE_FIELDS, SERVICE_FIELDS } from '@gatehouse/shared';
import type { ConfigStore } from '../store/index.js';
import { entityBody } from './body.js';
import { methodNotAllowed } from './errors.js';
import { listOptions, pageBody } from './list-query.js';

const param = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value.join('/') : (value ?? '');

/** Kong's endpoints for services and routes, including `/services/{service}/routes`. */
export function entitiesRouter(store: ConfigStore): Router {
  const r = Router();

  r.route('/services')
    .get(async (req, res) => {
      res.json(pageBody(req, await store.services.list(listOptions(req))));
    })
    .post(async (req, res) => {
      res.status(201).json(await store.services.create(entityBody(req, SERVICE_FIELDS)));
    })
    .all(methodNotAllowed);

  r.route('/services/:service')
    .get(async (req, res) => {
      res.json(await store.services.get(param(req.params.service)));
    })
    .patch(async (req, res) => {
      res.json(await store.services.update(param(req.params.service), entityBody(req, SERVICE_FIELDS)));
    })
    .put(async (req, res) => {
      const { service, created } = await store.services.upsert(
        param(req.params.service),
        entityBody(req, SERVICE_FIELDS),
      );
      res.status(created ? 201 : 200).json(service);
    })
    .delete(async (req, res) => {
      await store.services.delete(param(req.params.service));
      res.status(204).end();
    })
    .all(methodNotAllowed);

  r.route('/services/:service/routes')
    .get(async (req, res) => {
      const page = await store.routes.list({ ...listOptions(req), service: param(req.params.service) });
      res.json(pageBody(req, page));
    })
    .post(async (req, res) => {
      const route = await store.routes.create(entityBody(req, ROUTE_FIELDS), {
        service: param(req.params.service),
      });
      res.status(201).json(route);
    })
    .all(methodNotAllowed);

  r.route('/routes')
    .get(async (req, res) => {
      res.json(pageBody(req, await store.routes.list(listOptions(req))));
    })
    .post(async (req, res) => {
      res.status(201).json(await store.routes.create(entityBody(req, ROUTE_FIELDS)));
    })
    .all(methodNotAllowed);

  r.route('/routes/:route')
    .get(async (req, res) => {
      res.json(await store.routes.get(param(req.params.route)));
    })
    .patch(async (req, res) => {
      res.json(await store.routes.update(param(req.params.route), entityBody(req, ROUTE_FIELDS)));
    })
    .put(async (req, res) => {
      const { route, created } = await store.routes.upsert(
        param(req.params.route),
        entityBody(req, ROUTE_FIELDS),
      );
      res.status(created ? 201 : 200).json(route);
    })
    .delete(async (req, res) => {
      await store.routes.delete(param(req.params.route));
      res.status(204).end();
    })
    .all(methodNotAllowed);

  r.route('/routes/:route/service')
    .get(async (req, res) => {
      const route = await store.routes.get(param(req.params.route));
      if (!route.service) {
        res.status(404).json({ message: 'Not found' });
        return;
      }
      res.json(await store.services.get(route.service.id));
    })
    .all(methodNotAllowed);

  return r;
}
