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
  ROUTE_FIELDS,
  SERVICE_FIELDS,
  SNI_FIELDS,
  TARGET_FIELDS,
  UPSTREAM_FIELDS,
  validateAcl,
  validateBasicAuthCredential,
  validateCaCertificate,
  validateCertificate,
  validateConsumer,
  validateConsumerGroup,
  validateHmacAuthCredential,
  validateJwtSecret,
  validateKeyAuthCredential,
  validateRoute,
  validateService,
  validateSni,
  validateTarget,
  validateUpstream,
  type Specs,
} from '@gatehouse/shared';
import { decodeOffset, encodeOffset, parseSize, type ConfigStore } from '../store/index.js';
import { pluginValidator } from '../store/plugins.js';
import { methodNotAllowed } from './errors.js';
import { param } from './generic-router.js';

type Validator = (input: unknown) => unknown;

/** Entities `GET /schemas/{name}` knows, with their fields and validator. */
const SCHEMAS: Record<string, { specs: Specs; validate: Validator; references?: Record<string, string> }> = {
  services: {
    specs: SERVICE_FIELDS,
    validate: validateService,
    references: { client_certificate: 'certificates' },
  },
  routes: { specs: ROUTE_FIELDS, validate: validateRoute, references: { service: 'services' } },
  upstreams: {
    specs: UPSTREAM_FIELDS,
    validate: validateUpstream,
    references: { client_certificate: 'certificates' },
  },
  targets: { specs: TARGET_FIELDS, validate: validateTarget, references: { upstream: 'upstreams' } },
  consumers: { specs: CONSUMER_FIELDS, validate: validateConsumer },
  consumer_groups: { specs: CONSUMER_GROUP_FIELDS, validate: validateConsumerGroup },
  certificates: { specs: CERTIFICATE_FIELDS, validate: validateCertificate },
  snis: { specs: SNI_FIELDS, validate: validateSni, references: { certificate: 'certificates' } },
  ca_certificates: { specs: CA_CERTIFICATE_FIELDS, validate: validateCaCertificate },
  keyauth_credentials: {
    specs: KEYAUTH_FIELDS,
    validate: validateKeyAuthCredential,
    references: { consumer: 'consumers' },
  },
  basicauth_credentials: {
    specs: BASICAUTH_FIELDS,
    validate: validateBasicAuthCredential,
    references: { consumer: 'consumers' },
  },
  jwt_secrets: { specs: JWT_FIELDS, validate: validateJwtSecret, references: { consumer: 'consumers' } },
  hmacauth_credentials: {
    specs: HMACAUTH_FIELDS,
    validate: validateHmacAuthCredential,
    references: { consumer: 'consumers' },
  },
  acls: { specs: ACL_FIELDS, validate: validateAcl, references: { consumer: 'consumers' } },
  plugins: {
    specs: PLUGIN_FIELDS,
    validate: () => undefined,
    references: {
      service: 'services',
      route: 'routes',
      consumer: 'consumers',
      consumer_group: 'consumer_groups',
    },
  },
};
const ALIASES: Record<string, string> = {
  'key-auths': 'keyauth_credentials',
  'basic-auths': 'basicauth_credentials',
  jwts: 'jwt_secrets',
  'hmac-auths': 'hmacauth_credentials',
};

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
function describeEntity(specs: Specs, references: Record<string, string> = {}) {
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

const TAGGED_TABLES = [
  'services',
  'routes',
  'upstreams',
  'targets',
  'consumers',
  'consumer_groups',
  'plugins',
  'certificates',
  'snis',
  'ca_certificates',
  'keyauth_credentials',
  'basicauth_credentials',
  'jwt_secrets',
  'hmacauth_credentials',
  'acls',
] as const;

interface TagRow {
  tag: string;
  entity_name: string;
  entity_id: string;
}

/** `/tags`, `/tags/{tag}`, `/schemas/...` and `/plugins/enabled`. */
export function metaRouter(store: ConfigStore): Router {
  const r = Router();

  const tagsPage = async (size: number, offset: string | undefined, tag?: string) => {
    const union = TAGGED_TABLES.map(
      (t) => `SELECT unnest(tags) AS tag, '${t}' AS entity_name, id::text AS entity_id FROM "${t}"`,
    ).join(' UNION ALL ');
    const rows = await store.prisma.$queryRawUnsafe<TagRow[]>(
      `SELECT tag, entity_name, entity_id FROM (${union}) t ${tag === undefined ? '' : 'WHERE tag = $1'} ORDER BY tag, entity_name, entity_id`,
      ...(tag === undefined ? [] : [tag]),
    );
    const after = offset ? decodeOffset(offset) : undefined;
    const start =
      after === undefined
        ? 0
        : rows.findIndex((x) => `${x.tag}\u0000${x.entity_name}\u0000${x.entity_id}` > after);
    const from = start === -1 ? rows.length : start;
    const data = rows.slice(from, from + size);
    const last = data[data.length - 1];
    const more = from + size < rows.length && last;
    return {
      data,
      offset: more ? encodeOffset(`${last.tag}\u0000${last.entity_name}\u0000${last.entity_id}`) : null,
    };
  };
  const tagsBody = (path: string, page: { data: TagRow[]; offset: string | null }, size: number) =>
    page.offset === null
      ? { data: page.data, next: null }
      : { data: page.data, offset: page.offset, next: `${path}?offset=${page.offset}&size=${size}` };

  r.route('/tags')
    .get(async (req, res) => {
      const size = parseSize(typeof req.query.size === 'string' ? req.query.size : undefined);
      const offset = typeof req.query.offset === 'string' ? req.query.offset : undefined;
      res.json(tagsBody('/tags', await tagsPage(size, offset), size));
    })
    .all(methodNotAllowed);
  r.route('/tags/:tag')
    .get(async (req, res) => {
      const size = parseSize(typeof req.query.size === 'string' ? req.query.size : undefined);
      const offset = typeof req.query.offset === 'string' ? req.query.offset : undefined;
      const tag = param(req.params.tag);
      res.json(tagsBody(`/tags/${encodeURIComponent(tag)}`, await tagsPage(size, offset, tag), size));
    })
    .all(methodNotAllowed);

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
      const entry = SCHEMAS[ALIASES[name] ?? name];
      if (!entry) {
        res.status(404).json({ message: `No entity named '${name}'` });
        return;
      }
      if (name === 'plugins') validatePluginBody(req.body ?? {});
      else entry.validate(req.body ?? {});
      res.json({ message: 'schema validation successful' });
    })
    .all(methodNotAllowed);
  r.route('/schemas/:entity')
    .get((req, res) => {
      const name = param(req.params.entity);
      const entry = SCHEMAS[ALIASES[name] ?? name];
      if (!entry) {
        res.status(404).json({ message: `No entity named '${name}'` });
        return;
      }
      res.json(describeEntity(entry.specs, entry.references));
    })
    .all(methodNotAllowed);
  return r;
}
