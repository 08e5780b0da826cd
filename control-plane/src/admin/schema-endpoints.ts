import { Router } from 'express';
import { ENTITY_RECORDS, type EntityRecord, type Specs } from '@gatehouse/shared';
import { pluginValidator, type ConfigStore } from '../store/index.js';
import { methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';

/** The entity `/schemas/{name}` names: by kind (`keyauth_credentials`) or Admin API path (`key-auths`). */
function recordNamed(name: string): EntityRecord | undefined {
  return ENTITY_RECORDS.find((r) => r.admin && (r.kind === name || r.admin.path === name));
}

const TYPES: Record<string, string> = {
  string: 'string',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  set: 'set',
  map: 'map',
  foreign: 'foreign',
  records: 'array',
  record: 'record',
  ignored: 'integer',
};

/** Kong's JSON schema shape (`{ fields: [{ name: { type, required, default, … } }] }`) of an entity. */
function describeEntity(record: EntityRecord) {
  const specs: Specs = record.specs;
  const references = Object.fromEntries(record.foreign.map((fk) => [fk.field, fk.target]));
  return {
    fields: Object.entries(specs).map(([name, spec]) => {
      const field: Record<string, unknown> = { type: TYPES[spec.kind] ?? 'string' };
      if (name === 'id') Object.assign(field, { type: 'string', uuid: true, auto: true });
      else if (name === 'created_at' || name === 'updated_at')
        Object.assign(field, { type: 'integer', timestamp: true, auto: true });
      else {
        if (!spec.nullable && spec.default === undefined) field.required = true;
        if (spec.default !== undefined) field.default = spec.default;
        if (references[name]) field.reference = references[name];
      }
      return { [name]: field };
    }),
  };
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
      const schema = store.pluginSchemas?.has(name) ? store.pluginSchemas.describe(name) : undefined;
      if (!schema) {
        res.status(404).json({ message: `No plugin named '${name}'` });
        return;
      }
      res.json(schema);
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
      res.json(describeEntity(record));
    })
    .all(methodNotAllowed);
  return r;
}
