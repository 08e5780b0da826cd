import { createHash } from 'node:crypto';
import { defineError } from '../errors.js';
import { misplacedScopeTag } from '../slices/scope.js';
import { schemaViolation } from './errors.js';
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
  Key,
  KeyAuthCredential,
  KeySet,
  MtlsAuthCredential,
  OAuth2Credential,
  OAuth2TokenRevocation,
  Plugin,
  Route,
  Service,
  Sni,
  Target,
  Upstream,
  Vault,
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
  mtlsAuthSchema,
  validateMtlsAuthCredential,
  oauth2CredentialSchema,
  oauth2TokenRevocationSchema,
  validateOAuth2Credential,
  validateOAuth2TokenRevocation,
} from './credentials.js';
import { keySchema, validateKey } from './key.js';
import { keySetSchema, validateKeySet } from './key-set.js';
import { pluginSchema, validatePlugin } from './plugin.js';
import { routeSchema, validateRoute } from './route.js';
import { serviceSchema, validateService } from './service.js';
import { targetSchema, validateTarget } from './target.js';
import { upstreamSchema, validateUpstream } from './upstream.js';
import { validateVault, vaultSchema } from './vault.js';
import type { Specs } from './validate.js';

/**
 * A foreign key as Kong shows it (`{ id }`), stored in the column `<field>_id`. The field, its
 * target and `required` come from the entity's schema (a `foreign` field); `onDelete` and `nests`
 * from the record's `references`.
 */
export interface ForeignKeySpec<K extends string = EntityKind> extends ReferenceRule {
  field: string;
  target: K;
  required: boolean;
}

/**
 * What the schema cannot say about a foreign key. `onDelete` is what deleting the target does:
 * `cascade` (the database deletes this entity too) or `restrict` (Kong refuses the delete while
 * this entity points at the target).
 */
export interface ReferenceRule {
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
  /**
   * Foreign fields without Kong's `/{path}/{key}/{field}` endpoint (Kong disables them with a
   * 404, e.g. `/snis/{sni}/certificate` in kong/api/routes/snis.lua); every other foreign field
   * of a kind with a `path` has one.
   */
  withoutForeignEndpoints?: readonly string[];
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
  /**
   * The stored fields, in the order entities are written as JSON (derived: the schema's fields
   * less transient ones, timestamps last).
   */
  fields: readonly string[];
  /** The entity's schema (shared/src/schema): validation, form-body coercion, `GET /schemas/{entity}`. */
  schema: Specs;
  /** The shared validator (plugins: without config validation; the registry's users add it). */
  validate: EntityValidator;
  /** Derived: the schema's `foreign` fields with the record's `references`. */
  foreign: readonly ForeignKeySpec<K>[];
  /** Looked up in order when a key is not a UUID; the first is what `PUT /{path}/{key}` sets. */
  endpointKeys: readonly string[];
  /** Field sets that must be unique (a foreign field means its id). */
  unique: readonly (readonly string[])[];
  /** Fields never listed by collection endpoints (certificate keys). */
  hidden?: readonly string[];
  /** Secret fields generated when left out (an import keeps the stored value for these). */
  generated?: readonly string[];
  /** Derived: the schema has `updated_at` (credentials and memberships have only `created_at`). */
  hasUpdatedAt: boolean;
  /** Derived: Kong's `auto_timestamp_ms` (targets; a `number` `created_at`): seconds with milliseconds. */
  millis: boolean;
  /** Derived: the schema has `tags` (served by `/tags`). */
  tags: boolean;
  /**
   * Derived: the array and set fields stored as text[] columns (every stored array or set field
   * not in `json`). Kong keeps `[]` apart from null (a Postgres `'{}'` against NULL); the store
   * keeps the fields holding `[]` in the row's `empty_lists` column.
   */
  lists: readonly string[];
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

/** The facts of an entity kind its schema cannot say; `defineEntity` derives the rest. */
export type EntityDefinition<T> = Omit<
  EntityRecord<T, string>,
  'model' | 'nested' | 'fields' | 'foreign' | 'hasUpdatedAt' | 'millis' | 'tags' | 'lists'
> & {
  /** One entry per `foreign` field of the schema, by field name (a missing or extra one throws). */
  references: Readonly<Record<string, ReferenceRule>>;
};

/** Thrown while the registry module loads when a record and its schema disagree. */
export const invalidEntityDefinition = defineError('GH_ERR_REGISTRY_INVALID_DEFINITION', 500);

const TIMESTAMPS = ['created_at', 'updated_at'];

/**
 * An entity record from its definition: the stored fields, foreign keys, timestamps and tag
 * support are read from the schema, so each of those facts lives in one place. Records are
 * written with plain strings for kinds (the kinds are the registry's own keys).
 */
export function defineEntity<T>(def: EntityDefinition<T>): EntityRecord<T, string> {
  const { references, ...rest } = def;
  const schemaFields = Object.entries(def.schema.fields).filter(([, f]) => f.transient !== true);
  const names = schemaFields.map(([name]) => name);
  const foreign = schemaFields.flatMap(([field, f]) =>
    f.type === 'foreign' ? [{ field, target: f.reference, required: f.required === true }] : [],
  );
  const foreignFields = new Set(foreign.map((fk) => fk.field));
  const missing = [...foreignFields].filter((f) => !Object.hasOwn(references, f));
  const extra = Object.keys(references).filter((f) => !foreignFields.has(f));
  if (missing.length > 0 || extra.length > 0) {
    throw invalidEntityDefinition(
      `${def.kind}: references must name each foreign field of the schema` +
        (missing.length > 0 ? `; missing: ${missing.join(', ')}` : '') +
        (extra.length > 0 ? `; not foreign fields: ${extra.join(', ')}` : ''),
    );
  }
  const notForeign = (def.admin?.withoutForeignEndpoints ?? []).filter((f) => !foreignFields.has(f));
  if (notForeign.length > 0) {
    throw invalidEntityDefinition(
      `${def.kind}: admin.withoutForeignEndpoints names fields that are not foreign: ${notForeign.join(', ')}`,
    );
  }
  const createdAt = def.schema.fields.created_at;
  const lists = schemaFields.flatMap(([name, f]) =>
    (f.type === 'array' || f.type === 'set') && !def.json.includes(name) ? [name] : [],
  );
  return {
    ...rest,
    validate: names.includes('tags') ? refusingMisplacedScopeTags(def.kind, def.validate) : def.validate,
    fields: [...names.filter((n) => !TIMESTAMPS.includes(n)), ...TIMESTAMPS.filter((n) => names.includes(n))],
    foreign: foreign.map((fk) => ({ ...fk, ...references[fk.field]! })),
    hasUpdatedAt: names.includes('updated_at'),
    millis: createdAt?.type === 'number',
    tags: names.includes('tags'),
    lists,
    nested: [],
  };
}
/** A validator that also refuses scope tags on a kind slices do not read (docs/regions-and-slices.md). */
function refusingMisplacedScopeTags(kind: string, validate: EntityValidator): EntityValidator {
  return (input, options) => {
    const out = validate(input, options);
    const problem = misplacedScopeTag(kind, (out as { tags?: string[] | null }).tags);
    if (problem) throw schemaViolation({ tags: problem });
    return out;
  };
}
const v = (fn: (input: unknown, options?: { base?: never }) => object): EntityValidator => fn;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** A credential's key, or (a key the file leaves to be generated) its consumer, numbered. */
const keyOrNth = ({ fields: f, text, ref, nth }: NaturalKeyInput) =>
  f.key != null ? text(f.key) : nth(`~${ref('consumer')}`);

const consumerOwned = { onDelete: 'cascade', nests: true } as const;
const credentialNesting = (path: string) => [{ parent: 'consumers', field: 'consumer', path }];

/**
 * The entity registry, in dependency order: an entity's foreign keys point only at kinds listed
 * before it (parents are written before children, deleted after them).
 */
const RECORDS = {
  certificates: defineEntity<Certificate>({
    kind: 'certificates',
    label: 'certificate',
    delegate: 'certificate',
    schema: certificateSchema,
    validate: v(validateCertificate),
    references: {},
    endpointKeys: [],
    unique: [],
    hidden: ['key', 'key_alt'],
    naturalKey: (e) => sha256(e.text(e.fields.cert).trim()),
    json: [],
    admin: { path: 'certificates' },
  }),
  ca_certificates: defineEntity<CaCertificate>({
    kind: 'ca_certificates',
    label: 'ca_certificate',
    delegate: 'caCertificate',
    schema: caCertificateSchema,
    validate: v(validateCaCertificate),
    references: {},
    endpointKeys: [],
    unique: [['cert_digest']],
    naturalKey: (e) => sha256(e.text(e.fields.cert).trim()),
    json: [],
    admin: { path: 'ca_certificates' },
  }),
  snis: defineEntity<Sni>({
    kind: 'snis',
    label: 'sni',
    delegate: 'sni',
    schema: sniSchema,
    validate: v(validateSni),
    references: { certificate: { onDelete: 'cascade', nests: true } },
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: (e) => e.text(e.fields.name),
    json: [],
    admin: {
      path: 'snis',
      nested: [{ parent: 'certificates', field: 'certificate', path: 'snis' }],
      withoutForeignEndpoints: ['certificate'],
    },
  }),
  services: defineEntity<Service>({
    kind: 'services',
    label: 'service',
    delegate: 'service',
    schema: serviceSchema,
    validate: v(validateService),
    references: { client_certificate: { onDelete: 'restrict' } },
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: ({ fields: f, text, nth }) =>
      f.name != null ? text(f.name) : nth(`~${text([f.url, f.protocol, f.host, f.port, f.path])}`),
    json: [],
    admin: {
      path: 'services',
      nested: [{ parent: 'certificates', field: 'client_certificate', path: 'services' }],
    },
  }),
  routes: defineEntity<Route>({
    kind: 'routes',
    label: 'route',
    delegate: 'route',
    schema: routeSchema,
    validate: v(validateRoute),
    references: { service: { onDelete: 'restrict', nests: true } },
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: ({ fields: f, text, ref, nth }) =>
      f.name != null
        ? text(f.name)
        : nth(
            `~${ref('service')}:${text([f.protocols, f.methods, f.hosts, f.paths, f.headers, f.snis, f.sources, f.destinations])}`,
          ),
    json: ['headers', 'sources', 'destinations'],
    admin: { path: 'routes', nested: [{ parent: 'services', field: 'service', path: 'routes' }] },
  }),
  upstreams: defineEntity<Upstream>({
    kind: 'upstreams',
    label: 'upstream',
    delegate: 'upstream',
    schema: upstreamSchema,
    validate: v(validateUpstream),
    references: { client_certificate: { onDelete: 'restrict' } },
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: (e) => e.text(e.fields.name),
    json: ['healthchecks'],
    admin: {
      path: 'upstreams',
      nested: [{ parent: 'certificates', field: 'client_certificate', path: 'upstreams' }],
    },
  }),
  targets: defineEntity<Target>({
    kind: 'targets',
    label: 'target',
    delegate: 'target',
    schema: targetSchema,
    validate: v(validateTarget),
    references: { upstream: { onDelete: 'cascade', nests: true } },
    endpointKeys: ['target'],
    unique: [['upstream', 'target']],
    naturalKey: (e) => `${e.text(e.fields.target)}:${e.ref('upstream')}`,
    json: [],
    // Only nested: Kong has no top-level /targets.
    admin: { nested: [{ parent: 'upstreams', field: 'upstream', path: 'targets' }] },
  }),
  consumers: defineEntity<Consumer>({
    kind: 'consumers',
    label: 'consumer',
    delegate: 'consumer',
    schema: consumerSchema,
    validate: v(validateConsumer),
    references: {},
    endpointKeys: ['username', 'custom_id'],
    unique: [['username'], ['custom_id']],
    naturalKey: ({ fields: f, text }) =>
      f.username != null ? text(f.username) : `custom_id:${text(f.custom_id)}`,
    json: [],
    admin: { path: 'consumers' },
  }),
  consumer_groups: defineEntity<ConsumerGroup>({
    kind: 'consumer_groups',
    label: 'consumer_group',
    delegate: 'consumerGroup',
    schema: consumerGroupSchema,
    validate: v(validateConsumerGroup),
    references: {},
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: (e) => e.text(e.fields.name),
    json: [],
    admin: { path: 'consumer_groups' },
  }),
  consumer_group_consumers: defineEntity<ConsumerGroupConsumer>({
    kind: 'consumer_group_consumers',
    label: 'consumer_group_consumer',
    delegate: 'consumerGroupConsumer',
    schema: consumerGroupConsumerSchema,
    validate: (input) => input as object,
    references: {
      consumer_group: { onDelete: 'cascade', nests: true },
      consumer: { onDelete: 'cascade', nests: true },
    },
    endpointKeys: [],
    unique: [['consumer_group', 'consumer']],
    naturalKey: (e) => ({ id: consumerGroupMembershipId(e.ref('consumer_group'), e.ref('consumer')) }),
    json: [],
  }),
  plugins: defineEntity<Plugin>({
    kind: 'plugins',
    label: 'plugin',
    delegate: 'plugin',
    schema: pluginSchema,
    validate: v(validatePlugin),
    references: {
      service: { onDelete: 'cascade', nests: true },
      route: { onDelete: 'cascade', nests: true },
      consumer: { onDelete: 'cascade', nests: true },
      consumer_group: { onDelete: 'cascade', nests: true },
    },
    endpointKeys: ['instance_name'],
    unique: [['instance_name'], ['name', 'service', 'route', 'consumer', 'consumer_group']],
    naturalKey: ({ fields: f, text, ref }) =>
      [f.name, ref('route'), ref('service'), ref('consumer'), ref('consumer_group')].map(text).join(':'),
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
  keyauth_credentials: defineEntity<KeyAuthCredential>({
    kind: 'keyauth_credentials',
    label: 'keyauth_credential',
    delegate: 'keyauthCredential',
    schema: keyAuthSchema,
    validate: v(validateKeyAuthCredential),
    references: { consumer: consumerOwned },
    endpointKeys: ['key'],
    unique: [['key']],
    generated: ['key'],
    naturalKey: keyOrNth,
    json: [],
    admin: { path: 'key-auths', nested: credentialNesting('key-auth') },
  }),
  basicauth_credentials: defineEntity<BasicAuthCredential>({
    kind: 'basicauth_credentials',
    label: 'basicauth_credential',
    delegate: 'basicauthCredential',
    schema: basicAuthSchema,
    validate: v(validateBasicAuthCredential),
    references: { consumer: consumerOwned },
    endpointKeys: ['username'],
    unique: [['username']],
    naturalKey: (e) => e.text(e.fields.username),
    json: [],
    admin: { path: 'basic-auths', nested: credentialNesting('basic-auth') },
  }),
  jwt_secrets: defineEntity<JwtSecret>({
    kind: 'jwt_secrets',
    label: 'jwt_secret',
    delegate: 'jwtSecret',
    schema: jwtSecretSchema,
    validate: v(validateJwtSecret),
    references: { consumer: consumerOwned },
    endpointKeys: ['key'],
    unique: [['key']],
    generated: ['key', 'secret'],
    naturalKey: keyOrNth,
    json: [],
    admin: { path: 'jwts', nested: credentialNesting('jwt') },
  }),
  hmacauth_credentials: defineEntity<HmacAuthCredential>({
    kind: 'hmacauth_credentials',
    label: 'hmacauth_credential',
    delegate: 'hmacauthCredential',
    schema: hmacAuthSchema,
    validate: v(validateHmacAuthCredential),
    references: { consumer: consumerOwned },
    endpointKeys: ['username'],
    unique: [['username']],
    generated: ['secret'],
    naturalKey: (e) => e.text(e.fields.username),
    json: [],
    admin: { path: 'hmac-auths', nested: credentialNesting('hmac-auth') },
  }),
  acls: defineEntity<Acl>({
    kind: 'acls',
    label: 'acl',
    delegate: 'acl',
    schema: aclSchema,
    validate: v(validateAcl),
    references: { consumer: consumerOwned },
    endpointKeys: ['group'],
    unique: [['consumer', 'group']],
    naturalKey: (e) => `${e.ref('consumer')}:${e.text(e.fields.group)}`,
    json: [],
    admin: { path: 'acls', nested: credentialNesting('acls') },
  }),
  mtls_auth_credentials: defineEntity<MtlsAuthCredential>({
    kind: 'mtls_auth_credentials',
    label: 'mtls_auth_credential',
    delegate: 'mtlsAuthCredential',
    schema: mtlsAuthSchema,
    validate: v(validateMtlsAuthCredential),
    references: { consumer: consumerOwned, ca_certificate: { onDelete: 'cascade' } },
    endpointKeys: [],
    unique: [],
    naturalKey: (e) => `${e.ref('consumer')}:${e.text(e.fields.subject_name)}:${e.ref('ca_certificate')}`,
    json: [],
    admin: { path: 'mtls-auths', nested: credentialNesting('mtls-auth') },
  }),
  oauth2_credentials: defineEntity<OAuth2Credential>({
    kind: 'oauth2_credentials',
    label: 'oauth2_credential',
    delegate: 'oauth2Credential',
    schema: oauth2CredentialSchema,
    validate: v(validateOAuth2Credential),
    references: { consumer: consumerOwned },
    endpointKeys: ['client_id'],
    unique: [['client_id']],
    generated: ['client_id', 'client_secret'],
    naturalKey: ({ fields: f, text, ref, nth }) =>
      f.client_id != null ? text(f.client_id) : nth(`~${ref('consumer')}:${text(f.name)}`),
    json: [],
    admin: { path: 'oauth2', nested: credentialNesting('oauth2') },
  }),
  // Not Kong's oauth2_tokens: access tokens are signed JWTs no store holds; only revoked ones are
  // kept, until they would have expired (docs/plugins.md, oauth2).
  oauth2_token_revocations: defineEntity<OAuth2TokenRevocation>({
    kind: 'oauth2_token_revocations',
    label: 'oauth2_token_revocation',
    delegate: 'oauth2TokenRevocation',
    schema: oauth2TokenRevocationSchema,
    validate: v(validateOAuth2TokenRevocation),
    references: { credential: { onDelete: 'cascade' } },
    endpointKeys: ['jti'],
    unique: [['jti']],
    naturalKey: (e) => e.text(e.fields.jti),
    json: [],
    admin: {
      path: 'oauth2_token_revocations',
      nested: [{ parent: 'oauth2_credentials', field: 'credential', path: 'oauth2_token_revocations' }],
    },
  }),
  key_sets: defineEntity<KeySet>({
    kind: 'key_sets',
    label: 'key_set',
    delegate: 'keySet',
    schema: keySetSchema,
    validate: v(validateKeySet),
    references: {},
    endpointKeys: ['name'],
    unique: [['name']],
    naturalKey: ({ fields: f, text, nth }) => (f.name != null ? text(f.name) : nth('~key_set')),
    json: [],
    admin: { path: 'key-sets' },
  }),
  keys: defineEntity<Key>({
    kind: 'keys',
    label: 'key',
    delegate: 'key',
    schema: keySchema,
    validate: v(validateKey),
    references: { set: { onDelete: 'cascade', nests: true } },
    endpointKeys: ['name'],
    unique: [['name'], ['kid', 'set']],
    // Key material is served by `GET /keys/{key}` only, as certificates' keys.
    hidden: ['jwk', 'pem'],
    naturalKey: ({ fields: f, text, ref }) =>
      f.name != null ? text(f.name) : `${text(f.kid)}:${ref('set')}`,
    json: ['pem'],
    admin: { path: 'keys', nested: [{ parent: 'key_sets', field: 'set', path: 'keys' }] },
  }),
  vaults: defineEntity<Vault>({
    kind: 'vaults',
    label: 'vault',
    delegate: 'vault',
    schema: vaultSchema,
    validate: v(validateVault),
    references: {},
    endpointKeys: ['prefix'],
    unique: [['prefix']],
    naturalKey: (e) => e.text(e.fields.prefix),
    json: ['config'],
    admin: { path: 'vaults' },
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

/** A consumer's credential kinds: what a consumer owns besides its plugins and group memberships. */
export const CREDENTIAL_KINDS: readonly EntityKind[] = ENTITIES.consumers.nested
  .map((n) => n.kind)
  .filter((k) => k !== 'plugins' && k !== 'consumer_group_consumers');

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
