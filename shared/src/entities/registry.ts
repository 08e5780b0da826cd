import { createHash } from 'node:crypto';
import type {
  Acl,
  BasicAuthCredential,
  CaCertificate,
  Certificate,
  Consumer,
  ConsumerGroup,
  ConsumerGroupConsumer,
  GatehouseConfig,
  HmacAuthCredential,
  JwtSecret,
  KeyAuthCredential,
  Plugin,
  Route,
  Service,
  Sni,
  Target,
  Upstream,
} from '../config/model.js';
import { caCertificateSchema, certificateSchema, sniSchema } from './certificate.js';
import { validateCaCertificate, validateCertificate, validateSni } from './certificate.js';
import {
  consumerGroupMembershipId,
  consumerSchema,
  consumerGroupConsumerSchema,
  consumerGroupSchema,
  validateConsumer,
  validateConsumerGroup,
} from './consumer.js';
import {
  aclSchema,
  basicAuthSchema,
  hmacAuthSchema,
  jwtSecretSchema,
  keyAuthSchema,
  validateAcl,
  validateBasicAuthCredential,
  validateHmacAuthCredential,
  validateJwtSecret,
  validateKeyAuthCredential,
} from './credentials.js';
import { pluginSchema, validatePlugin } from './plugin.js';
import { routeSchema, validateRoute } from './route.js';
import { serviceSchema, validateService } from './service.js';
import { targetSchema, validateTarget } from './target.js';
import { upstreamSchema, validateUpstream } from './upstream.js';
import type { Specs } from './validate.js';

/**
 * A foreign key as Kong shows it (`{ id }`), stored in the column `<field>_id`. `onDelete` is
 * what deleting the target does: `cascade` (the database deletes this entity too) or `restrict`
 * (Kong refuses the delete while this entity points at the target).
 */
export interface ForeignKeySpec<K extends string = EntityKind> {
  field: string;
  target: K;
  required: boolean;
  onDelete: 'cascade' | 'restrict';
  /** In a declarative file, a record of the target may hold this entity (under this entity's kind). */
  nests?: boolean;
}

/** An entity list nested inside another entity in a declarative file (`routes` in a service). */
export interface NestSpec<K extends string = EntityKind> {
  /** Key in the parent record. */
  key: string;
  kind: K;
  /** The child's foreign-key field the parent fills (`service`). */
  parentField: string;
}

/** Where the Admin API serves an entity: `/{path}`, and nested under parents (`/consumers/{c}/key-auth`). */
export interface AdminPaths<K extends string = EntityKind> {
  /** The top-level collection (none: only nested, as Kong's targets). */
  path?: string;
  nested?: readonly { parent: K; field: string; path: string }[];
}

/** What a record's `naturalKey` reads: the declarative entity as the file gives it. */
export interface NaturalKeyInput {
  /** The file's fields. */
  fields: Record<string, unknown>;
  /** A string as is, anything else as canonical JSON (`null` when missing). */
  text: (value: unknown) => string;
  /** The resolved id of a reference field ('' when unset). */
  ref: (field: string) => string;
  /** `key`, then `key#2`, `key#3` … for entities without a natural key that repeat in a file. */
  nth: (key: string) => string;
}

/** A validator of the shared rules: body (with the stored entity as PATCH base) => entity-shaped input. */
export type EntityValidator = (input: unknown, options?: { base?: never }) => object;

/**
 * Everything Gatehouse knows about one entity kind. The one place an entity is described: the
 * store, the Admin API, `/schemas`, `/tags`, the declarative resolver and exporter, the snapshot
 * all derive from these records. `T` is the model type (Kong's JSON shape).
 */
export interface EntityRecord<T = unknown, K extends string = EntityKind> {
  /** Kong's DAO name, the key in GatehouseConfig and the table name. */
  kind: K;
  /** Singular, for messages (`service`, `keyauth_credential`). */
  label: string;
  /** The Prisma delegate (`prisma.<delegate>`). */
  delegate: string;
  /** Kong's JSON field order. */
  fields: readonly string[];
  /** The entity's schema (shared/src/schema): validation, form-body coercion, `GET /schemas/{entity}`. */
  specs: Specs;
  /** The shared validator (plugins: without config validation; the registry's users add it). */
  validate: EntityValidator;
  foreign: readonly ForeignKeySpec<K>[];
  /** Looked up in order when a key is not a UUID; the first is what `PUT /{path}/{key}` sets. */
  endpointKeys: readonly string[];
  /** Field sets that must be unique (a foreign field means its id). */
  unique: readonly (readonly string[])[];
  /** Fields never listed by collection endpoints (certificate keys). */
  hidden?: readonly string[];
  /** Secret fields generated when left out (an import keeps the stored value for these). */
  generated?: readonly string[];
  /** Whether the entity has `updated_at` (credentials and memberships have only `created_at`). */
  hasUpdatedAt: boolean;
  /** Kong's `auto_timestamp_ms` (targets): timestamps as seconds with milliseconds. */
  millis?: boolean;
  /** Whether the entity carries `tags` (served by `/tags`). */
  tags: boolean;
  /** text[] columns that read back as null when empty. */
  nullableLists: readonly string[];
  /** Json columns. */
  json: readonly string[];
  /** Declarative nesting: the lists a record of this kind may hold (derived from `nests`). */
  nested: readonly NestSpec<K>[];
  /**
   * The natural key a declarative entity's id derives from when the file gives none (the same
   * file always gives the same ids, as Kong's DB-less mode); `{ id }` when the id is the key.
   */
  naturalKey(e: NaturalKeyInput): string | { id: string };
  /** Admin API paths; none for entities with their own endpoints (memberships). */
  admin?: AdminPaths<K>;
  /** Phantom: the model type. */
  readonly model?: T;
}

/** Records are written with plain strings for kinds (the kinds are the registry's own keys). */
const record = <T>(r: Omit<EntityRecord<T, string>, 'model' | 'nested'>): EntityRecord<T, string> => ({
  ...r,
  nested: [],
});
const v = (fn: (input: unknown, options?: { base?: never }) => object): EntityValidator => fn;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** A credential's key, or (a key the file leaves to be generated) its consumer, numbered. */
const keyOrNth = ({ fields: f, text, ref, nth }: NaturalKeyInput) =>
  f.key != null ? text(f.key) : nth(`~${ref('consumer')}`);

const consumerFk = {
  field: 'consumer',
  target: 'consumers',
  required: true,
  onDelete: 'cascade',
  nests: true,
} as const;
const credentialNesting = (path: string) => [{ parent: 'consumers', field: 'consumer', path }];

/**
 * The entity registry, in dependency order: an entity's foreign keys point only at kinds listed
 * before it (parents are written before children, deleted after them).
 */
const RECORDS = {
  certificates: record<Certificate>({
    kind: 'certificates',
    label: 'certificate',
    delegate: 'certificate',
    fields: ['id', 'cert', 'key', 'cert_alt', 'key_alt', 'tags', 'created_at', 'updated_at'],
    specs: certificateSchema,
    validate: v(validateCertificate),
    foreign: [],
    endpointKeys: [],
    unique: [],
    hidden: ['key', 'key_alt'],
    naturalKey: (e) => sha256(e.text(e.fields.cert).trim()),
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'certificates' },
  }),
  ca_certificates: record<CaCertificate>({
    kind: 'ca_certificates',
    label: 'ca_certificate',
    delegate: 'caCertificate',
    fields: ['id', 'cert', 'cert_digest', 'tags', 'created_at', 'updated_at'],
    specs: caCertificateSchema,
    validate: v(validateCaCertificate),
    foreign: [],
    endpointKeys: [],
    unique: [['cert_digest']],
    naturalKey: (e) => sha256(e.text(e.fields.cert).trim()),
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'ca_certificates' },
  }),
  snis: record<Sni>({
    kind: 'snis',
    label: 'sni',
    delegate: 'sni',
    fields: ['id', 'name', 'certificate', 'tags', 'created_at', 'updated_at'],
    specs: sniSchema,
    validate: v(validateSni),
    foreign: [
      { field: 'certificate', target: 'certificates', required: true, onDelete: 'cascade', nests: true },
    ],
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: (e) => e.text(e.fields.name),
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'snis', nested: [{ parent: 'certificates', field: 'certificate', path: 'snis' }] },
  }),
  services: record<Service>({
    kind: 'services',
    label: 'service',
    delegate: 'service',
    fields: [
      'id',
      'name',
      'protocol',
      'host',
      'port',
      'path',
      'retries',
      'connect_timeout',
      'write_timeout',
      'read_timeout',
      'enabled',
      'tags',
      'client_certificate',
      'tls_verify',
      'tls_verify_depth',
      'ca_certificates',
      'created_at',
      'updated_at',
    ],
    specs: serviceSchema,
    validate: v(validateService),
    foreign: [{ field: 'client_certificate', target: 'certificates', required: false, onDelete: 'restrict' }],
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: ({ fields: f, text, nth }) =>
      f.name != null ? text(f.name) : nth(`~${text([f.url, f.protocol, f.host, f.port, f.path])}`),
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['tags', 'ca_certificates'],
    json: [],
    admin: { path: 'services' },
  }),
  routes: record<Route>({
    kind: 'routes',
    label: 'route',
    delegate: 'route',
    fields: [
      'id',
      'name',
      'protocols',
      'methods',
      'hosts',
      'paths',
      'headers',
      'snis',
      'sources',
      'destinations',
      'regex_priority',
      'strip_path',
      'path_handling',
      'preserve_host',
      'https_redirect_status_code',
      'request_buffering',
      'response_buffering',
      'service',
      'tags',
      'created_at',
      'updated_at',
    ],
    specs: routeSchema,
    validate: v(validateRoute),
    foreign: [{ field: 'service', target: 'services', required: false, onDelete: 'restrict', nests: true }],
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: ({ fields: f, text, ref, nth }) =>
      f.name != null
        ? text(f.name)
        : nth(
            `~${ref('service')}:${text([f.protocols, f.methods, f.hosts, f.paths, f.headers, f.snis, f.sources, f.destinations])}`,
          ),
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['methods', 'hosts', 'paths', 'snis', 'tags'],
    json: ['headers', 'sources', 'destinations'],
    admin: { path: 'routes', nested: [{ parent: 'services', field: 'service', path: 'routes' }] },
  }),
  upstreams: record<Upstream>({
    kind: 'upstreams',
    label: 'upstream',
    delegate: 'upstream',
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
    specs: upstreamSchema,
    validate: v(validateUpstream),
    foreign: [{ field: 'client_certificate', target: 'certificates', required: false, onDelete: 'restrict' }],
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: (e) => e.text(e.fields.name),
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['tags'],
    json: ['healthchecks'],
    admin: { path: 'upstreams' },
  }),
  targets: record<Target>({
    kind: 'targets',
    label: 'target',
    delegate: 'target',
    fields: ['id', 'upstream', 'target', 'weight', 'tags', 'created_at', 'updated_at'],
    specs: targetSchema,
    validate: v(validateTarget),
    foreign: [{ field: 'upstream', target: 'upstreams', required: true, onDelete: 'cascade', nests: true }],
    endpointKeys: ['target'],
    unique: [['upstream', 'target']],
    naturalKey: (e) => `${e.text(e.fields.target)}:${e.ref('upstream')}`,
    hasUpdatedAt: true,
    millis: true,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    // Only nested: Kong has no top-level /targets.
    admin: { nested: [{ parent: 'upstreams', field: 'upstream', path: 'targets' }] },
  }),
  consumers: record<Consumer>({
    kind: 'consumers',
    label: 'consumer',
    delegate: 'consumer',
    fields: ['id', 'username', 'custom_id', 'tags', 'created_at', 'updated_at'],
    specs: consumerSchema,
    validate: v(validateConsumer),
    foreign: [],
    endpointKeys: ['username', 'custom_id'],
    unique: [['username'], ['custom_id']],
    naturalKey: ({ fields: f, text }) =>
      f.username != null ? text(f.username) : `custom_id:${text(f.custom_id)}`,
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'consumers' },
  }),
  consumer_groups: record<ConsumerGroup>({
    kind: 'consumer_groups',
    label: 'consumer_group',
    delegate: 'consumerGroup',
    fields: ['id', 'name', 'tags', 'created_at', 'updated_at'],
    specs: consumerGroupSchema,
    validate: v(validateConsumerGroup),
    foreign: [],
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: (e) => e.text(e.fields.name),
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'consumer_groups' },
  }),
  consumer_group_consumers: record<ConsumerGroupConsumer>({
    kind: 'consumer_group_consumers',
    label: 'consumer_group_consumer',
    delegate: 'consumerGroupConsumer',
    fields: ['id', 'consumer_group', 'consumer', 'created_at'],
    specs: consumerGroupConsumerSchema,
    validate: (input) => input as object,
    foreign: [
      {
        field: 'consumer_group',
        target: 'consumer_groups',
        required: true,
        onDelete: 'cascade',
        nests: true,
      },
      { field: 'consumer', target: 'consumers', required: true, onDelete: 'cascade', nests: true },
    ],
    endpointKeys: [],
    unique: [['consumer_group', 'consumer']],
    naturalKey: (e) => ({ id: consumerGroupMembershipId(e.ref('consumer_group'), e.ref('consumer')) }),
    hasUpdatedAt: false,
    tags: false,
    nullableLists: [],
    json: [],
  }),
  plugins: record<Plugin>({
    kind: 'plugins',
    label: 'plugin',
    delegate: 'plugin',
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
    specs: pluginSchema,
    validate: v(validatePlugin),
    foreign: [
      { field: 'service', target: 'services', required: false, onDelete: 'cascade', nests: true },
      { field: 'route', target: 'routes', required: false, onDelete: 'cascade', nests: true },
      { field: 'consumer', target: 'consumers', required: false, onDelete: 'cascade', nests: true },
      {
        field: 'consumer_group',
        target: 'consumer_groups',
        required: false,
        onDelete: 'cascade',
        nests: true,
      },
    ],
    endpointKeys: ['instance_name'],
    unique: [['instance_name'], ['name', 'service', 'route', 'consumer', 'consumer_group']],
    naturalKey: ({ fields: f, text, ref }) =>
      [f.name, ref('route'), ref('service'), ref('consumer'), ref('consumer_group')].map(text).join(':'),
    hasUpdatedAt: true,
    tags: true,
    nullableLists: ['tags'],
    json: ['config'],
    admin: {
      path: 'plugins',
      nested: [
        { parent: 'services', field: 'service', path: 'plugins' },
        { parent: 'routes', field: 'route', path: 'plugins' },
        { parent: 'consumers', field: 'consumer', path: 'plugins' },
        { parent: 'consumer_groups', field: 'consumer_group', path: 'plugins' },
      ],
    },
  }),
  keyauth_credentials: record<KeyAuthCredential>({
    kind: 'keyauth_credentials',
    label: 'keyauth_credential',
    delegate: 'keyauthCredential',
    fields: ['id', 'consumer', 'key', 'ttl', 'tags', 'created_at'],
    specs: keyAuthSchema,
    validate: v(validateKeyAuthCredential),
    foreign: [consumerFk],
    endpointKeys: ['key'],
    unique: [['key']],
    generated: ['key'],
    naturalKey: keyOrNth,
    hasUpdatedAt: false,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'key-auths', nested: credentialNesting('key-auth') },
  }),
  basicauth_credentials: record<BasicAuthCredential>({
    kind: 'basicauth_credentials',
    label: 'basicauth_credential',
    delegate: 'basicauthCredential',
    fields: ['id', 'consumer', 'username', 'password', 'tags', 'created_at'],
    specs: basicAuthSchema,
    validate: v(validateBasicAuthCredential),
    foreign: [consumerFk],
    endpointKeys: ['username'],
    unique: [['username']],
    naturalKey: (e) => e.text(e.fields.username),
    hasUpdatedAt: false,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'basic-auths', nested: credentialNesting('basic-auth') },
  }),
  jwt_secrets: record<JwtSecret>({
    kind: 'jwt_secrets',
    label: 'jwt_secret',
    delegate: 'jwtSecret',
    fields: ['id', 'consumer', 'key', 'secret', 'rsa_public_key', 'algorithm', 'tags', 'created_at'],
    specs: jwtSecretSchema,
    validate: v(validateJwtSecret),
    foreign: [consumerFk],
    endpointKeys: ['key'],
    unique: [['key']],
    generated: ['key', 'secret'],
    naturalKey: keyOrNth,
    hasUpdatedAt: false,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'jwts', nested: credentialNesting('jwt') },
  }),
  hmacauth_credentials: record<HmacAuthCredential>({
    kind: 'hmacauth_credentials',
    label: 'hmacauth_credential',
    delegate: 'hmacauthCredential',
    fields: ['id', 'consumer', 'username', 'secret', 'tags', 'created_at'],
    specs: hmacAuthSchema,
    validate: v(validateHmacAuthCredential),
    foreign: [consumerFk],
    endpointKeys: ['username'],
    unique: [['username']],
    generated: ['secret'],
    naturalKey: (e) => e.text(e.fields.username),
    hasUpdatedAt: false,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'hmac-auths', nested: credentialNesting('hmac-auth') },
  }),
  acls: record<Acl>({
    kind: 'acls',
    label: 'acl',
    delegate: 'acl',
    fields: ['id', 'consumer', 'group', 'tags', 'created_at'],
    specs: aclSchema,
    validate: v(validateAcl),
    foreign: [consumerFk],
    endpointKeys: ['group'],
    unique: [['consumer', 'group']],
    naturalKey: (e) => `${e.ref('consumer')}:${e.text(e.fields.group)}`,
    hasUpdatedAt: false,
    tags: true,
    nullableLists: ['tags'],
    json: [],
    admin: { path: 'acls', nested: credentialNesting('acls') },
  }),
};

/** An entity kind: Kong's DAO name (`services`, `keyauth_credentials`). */
export type EntityKind = keyof typeof RECORDS;

/** The model type (Kong's JSON shape) of an entity kind. */
export type EntityModel<K extends EntityKind> =
  (typeof RECORDS)[K] extends EntityRecord<infer T, string> ? T : never;

/**
 * The entity registry, keyed by kind, in dependency order: an entity's foreign keys point only at
 * kinds listed before it (parents are written before children and deleted after them). The unit
 * test `registry.test.ts` checks every kind named in a record exists.
 */
export const ENTITIES = Object.fromEntries(
  Object.entries(RECORDS).map(([kind, r]) => [kind, { ...r, nested: nestedIn(kind) }]),
) as unknown as { readonly [K in EntityKind]: EntityRecord<EntityModel<K>> };

/** The lists a declarative record of `parent` may hold: every kind with a nesting foreign key to it. */
function nestedIn(parent: string): NestSpec<string>[] {
  return Object.values(RECORDS).flatMap((child: EntityRecord<unknown, string>) =>
    child.foreign
      .filter((fk) => fk.nests && fk.target === parent)
      .map((fk) => ({ key: child.kind, kind: child.kind, parentField: fk.field })),
  );
}

/** Every entity kind, in dependency order. */
export const ENTITY_KINDS = Object.keys(ENTITIES) as EntityKind[];

/** The registry's records, in dependency order. */
export const ENTITY_RECORDS: readonly EntityRecord[] = ENTITY_KINDS.map((k) => ENTITIES[k]);

/** A foreign key pointing at an entity kind, seen from the target. */
export interface Reference {
  from: EntityKind;
  field: string;
  onDelete: ForeignKeySpec['onDelete'];
}

/** Who points at an entity kind: every foreign key targeting it. */
export function referencesTo(kind: EntityKind): Reference[] {
  return ENTITY_KINDS.flatMap((from) =>
    ENTITIES[from].foreign
      .filter((fk) => fk.target === kind)
      .map((fk) => ({ from, field: fk.field, onDelete: fk.onDelete })),
  );
}

/** Entity lists of a whole configuration, keyed by kind. */
export type EntityLists = { [K in EntityKind]: EntityModel<K>[] };

/** A configuration with every entity list empty. */
export function emptyConfig(): GatehouseConfig {
  return Object.fromEntries(ENTITY_KINDS.map((k) => [k, []])) as unknown as GatehouseConfig;
}

/** Fills in every entity list a partial config lacks (old snapshots, tests, DB-less files). */
export function completeConfig(partial: Partial<GatehouseConfig>): GatehouseConfig {
  return { ...emptyConfig(), ...partial };
}
