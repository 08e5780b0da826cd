import {
  validateAcl,
  validateBasicAuthCredential,
  validateCaCertificate,
  validateCertificate,
  validateConsumer,
  validateConsumerGroup,
  validateHmacAuthCredential,
  validateJwtSecret,
  validateKeyAuthCredential,
  validateSni,
  validateTarget,
  validateUpstream,
  type GatehouseConfig,
} from '@gatehouse/shared';

/** The entity lists of GatehouseConfig. */
export type EntityKey = keyof GatehouseConfig;

/** A foreign key as stored: `<field>_id` referencing `target`. */
export interface ForeignDef {
  field: string;
  target: EntityKey;
  required: boolean;
}

/**
 * How one Kong entity maps onto its Prisma model: field order (Kong's JSON shape), foreign keys
 * (`<field>_id` columns), list columns stored as text[] ([] read back as null), Json columns,
 * the endpoint keys `/{collection}/{key}` accepts besides the id, unique field sets.
 */
export interface EntityDef {
  key: EntityKey;
  /** Prisma delegate name. */
  model: string;
  fields: readonly string[];
  foreign: readonly ForeignDef[];
  /** text[] columns that read back as null when empty. */
  nullableLists: readonly string[];
  json: readonly string[];
  /** Looked up in order when the key is not a UUID (e.g. consumers: username, then custom_id). */
  endpointKeys: readonly string[];
  /** Field sets that must be unique (a foreign field means its id). */
  unique: readonly (readonly string[])[];
  hasUpdatedAt: boolean;
  /** Kong's `auto_timestamp_ms` (targets): timestamps as seconds with milliseconds. */
  millis?: boolean;
  validate?: (input: unknown, options: { base?: never }) => Record<string, unknown>;
  /** Fields never listed by collection endpoints (certificate keys). */
  secret?: readonly string[];
}

type AnyValidator = (input: unknown, options: { base?: never }) => object;
const v = (fn: AnyValidator) => fn as EntityDef['validate'];
const TAGS = ['tags'];
const consumerFk: ForeignDef = { field: 'consumer', target: 'consumers', required: true };

export const ENTITY_DEFS = {
  upstreams: {
    key: 'upstreams',
    model: 'upstream',
    fields: [
      'id',
      'name',
      'algorithm',
      'hash_on',
      'hash_fallback',
      'hash_on_header',
      'hash_fallback_header',
      'hash_on_cookie',
      'hash_on_cookie_path',
      'hash_on_query_arg',
      'hash_fallback_query_arg',
      'hash_on_uri_capture',
      'hash_fallback_uri_capture',
      'slots',
      'healthchecks',
      'host_header',
      'client_certificate',
      'use_srv_name',
      'tags',
      'created_at',
      'updated_at',
    ],
    foreign: [{ field: 'client_certificate', target: 'certificates', required: false }],
    nullableLists: TAGS,
    json: ['healthchecks'],
    endpointKeys: ['name'],
    unique: [['name']],
    hasUpdatedAt: true,
    validate: v(validateUpstream),
  },
  targets: {
    key: 'targets',
    model: 'target',
    fields: ['id', 'upstream', 'target', 'weight', 'tags', 'created_at', 'updated_at'],
    foreign: [{ field: 'upstream', target: 'upstreams', required: true }],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['target'],
    unique: [['upstream', 'target']],
    hasUpdatedAt: true,
    millis: true,
    validate: v(validateTarget),
  },
  consumers: {
    key: 'consumers',
    model: 'consumer',
    fields: ['id', 'username', 'custom_id', 'tags', 'created_at', 'updated_at'],
    foreign: [],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['username', 'custom_id'],
    unique: [['username'], ['custom_id']],
    hasUpdatedAt: true,
    validate: v(validateConsumer),
  },
  consumer_groups: {
    key: 'consumer_groups',
    model: 'consumerGroup',
    fields: ['id', 'name', 'tags', 'created_at', 'updated_at'],
    foreign: [],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['name'],
    unique: [['name']],
    hasUpdatedAt: true,
    validate: v(validateConsumerGroup),
  },
  consumer_group_consumers: {
    key: 'consumer_group_consumers',
    model: 'consumerGroupConsumer',
    fields: ['id', 'consumer_group', 'consumer', 'created_at'],
    foreign: [
      { field: 'consumer_group', target: 'consumer_groups', required: true },
      { field: 'consumer', target: 'consumers', required: true },
    ],
    nullableLists: [],
    json: [],
    endpointKeys: [],
    unique: [['consumer_group', 'consumer']],
    hasUpdatedAt: false,
  },
  plugins: {
    key: 'plugins',
    model: 'plugin',
    fields: [
      'id',
      'name',
      'instance_name',
      'config',
      'protocols',
      'enabled',
      'service',
      'route',
      'consumer',
      'consumer_group',
      'tags',
      'created_at',
      'updated_at',
    ],
    foreign: [
      { field: 'service', target: 'services', required: false },
      { field: 'route', target: 'routes', required: false },
      { field: 'consumer', target: 'consumers', required: false },
      { field: 'consumer_group', target: 'consumer_groups', required: false },
    ],
    nullableLists: TAGS,
    json: ['config'],
    endpointKeys: ['instance_name'],
    unique: [['instance_name'], ['name', 'service', 'route', 'consumer', 'consumer_group']],
    hasUpdatedAt: true,
  },
  certificates: {
    key: 'certificates',
    model: 'certificate',
    fields: ['id', 'cert', 'key', 'cert_alt', 'key_alt', 'tags', 'created_at', 'updated_at'],
    foreign: [],
    nullableLists: TAGS,
    json: [],
    endpointKeys: [],
    unique: [],
    hasUpdatedAt: true,
    validate: v(validateCertificate),
    secret: ['key', 'key_alt'],
  },
  snis: {
    key: 'snis',
    model: 'sni',
    fields: ['id', 'name', 'certificate', 'tags', 'created_at', 'updated_at'],
    foreign: [{ field: 'certificate', target: 'certificates', required: true }],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['name'],
    unique: [['name']],
    hasUpdatedAt: true,
    validate: v(validateSni),
  },
  ca_certificates: {
    key: 'ca_certificates',
    model: 'caCertificate',
    fields: ['id', 'cert', 'cert_digest', 'tags', 'created_at', 'updated_at'],
    foreign: [],
    nullableLists: TAGS,
    json: [],
    endpointKeys: [],
    unique: [['cert_digest']],
    hasUpdatedAt: true,
    validate: v(validateCaCertificate),
  },
  keyauth_credentials: {
    key: 'keyauth_credentials',
    model: 'keyauthCredential',
    fields: ['id', 'consumer', 'key', 'ttl', 'tags', 'created_at'],
    foreign: [consumerFk],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['key'],
    unique: [['key']],
    hasUpdatedAt: false,
    validate: v(validateKeyAuthCredential),
  },
  basicauth_credentials: {
    key: 'basicauth_credentials',
    model: 'basicauthCredential',
    fields: ['id', 'consumer', 'username', 'password', 'tags', 'created_at'],
    foreign: [consumerFk],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['username'],
    unique: [['username']],
    hasUpdatedAt: false,
    validate: v(validateBasicAuthCredential),
  },
  jwt_secrets: {
    key: 'jwt_secrets',
    model: 'jwtSecret',
    fields: ['id', 'consumer', 'key', 'secret', 'rsa_public_key', 'algorithm', 'tags', 'created_at'],
    foreign: [consumerFk],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['key'],
    unique: [['key']],
    hasUpdatedAt: false,
    validate: v(validateJwtSecret),
  },
  hmacauth_credentials: {
    key: 'hmacauth_credentials',
    model: 'hmacauthCredential',
    fields: ['id', 'consumer', 'username', 'secret', 'tags', 'created_at'],
    foreign: [consumerFk],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['username'],
    unique: [['username']],
    hasUpdatedAt: false,
    validate: v(validateHmacAuthCredential),
  },
  acls: {
    key: 'acls',
    model: 'acl',
    fields: ['id', 'consumer', 'group', 'tags', 'created_at'],
    foreign: [consumerFk],
    nullableLists: TAGS,
    json: [],
    endpointKeys: ['group'],
    unique: [['consumer', 'group']],
    hasUpdatedAt: false,
    validate: v(validateAcl),
  },
} satisfies Partial<Record<EntityKey, EntityDef>>;

export type GenericEntityKey = keyof typeof ENTITY_DEFS;

/** Which entities reference which (for refusals on delete; cascades are done by the database). */
export interface Reference {
  from: EntityKey;
  field: string;
  onDelete: 'cascade' | 'restrict';
}

export const REFERENCES: Partial<Record<EntityKey, Reference[]>> = {
  services: [
    { from: 'routes', field: 'service', onDelete: 'restrict' },
    { from: 'plugins', field: 'service', onDelete: 'cascade' },
  ],
  routes: [{ from: 'plugins', field: 'route', onDelete: 'cascade' }],
  certificates: [
    { from: 'services', field: 'client_certificate', onDelete: 'restrict' },
    { from: 'upstreams', field: 'client_certificate', onDelete: 'restrict' },
    { from: 'snis', field: 'certificate', onDelete: 'cascade' },
  ],
};

/** Prisma delegate names of services and routes (not generic: they have their own repositories). */
export const MODEL_OF: Record<EntityKey, string> = {
  services: 'service',
  routes: 'route',
  ...Object.fromEntries(Object.values(ENTITY_DEFS).map((d) => [d.key, d.model])),
} as Record<EntityKey, string>;
