import { Router } from 'express';
import { ENTITY_RECORDS, schema, type EntityRecord } from '@gatehouse/shared';
import { pluginValidator, type ConfigStore } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';

/** The entity `/schemas/{name}` names: by kind (`keyauth_credentials`) or Admin API path (`key-auths`). */
function recordNamed(name: string): EntityRecord | undefined {
  return ENTITY_RECORDS.find((r) => r.admin && (r.kind === name || r.admin.path === name));
}

/** `/schemas/{entity}`, `/schemas/{entity}/validate` and the plugin schemas. */
export function schemaEndpoints(store: ConfigStore): Router {
  const r = Router();

  const validatePluginBody = pluginValidator(store.pluginSchemas);
  r.route('/schemas/plugins/validate')
    .post((req, res) => {
      validatePluginBody(req.body ?? {});
      res.json({ message: 'schema validation successful' });
    })
    .all(methodNotAllowed);
  r.route('/schemas/plugins/:name')
    .get((req, res) => {
      const name = param(req.params.name);
      const described = store.pluginSchemas?.has(name) ? store.pluginSchemas.describe(name) : undefined;
      if (!described) {
        res.status(404).json({ message: `No plugin named '${name}'` });
        return;
      }
      res.json(schema.describePluginSchema(described));
    })
    .all(methodNotAllowed);
  r.route('/schemas/:entity/validate')
    .post((req, res) => {
      const name = param(req.params.entity);
      const record = recordNamed(name);
      if (!record) {
        res.status(404).json({ message: `No entity named '${name}'` });
        return;
      }
      if (name === 'plugins') validatePluginBody(req.body ?? {});
      else record.validate(req.body ?? {});
      res.json({ message: 'schema validation successful' });
    })
    .all(methodNotAllowed);
  r.route('/schemas/:entity')
    .get((req, res) => {
      const name = param(req.params.entity);
      const record = recordNamed(name);
      if (!record) {
        res.status(404).json({ message: `No entity named '${name}'` });
        return;
      }
      res.json(schema.describeEntity(record.schema));
    })
    .all(methodNotAllowed);
  return r;
}
