import type { GatehouseConfig } from '../config/model.js';

export type EntityKind = keyof GatehouseConfig;

/** A foreign key of an entity: the field, the entity it points at, whether it must be set. */
export interface RefSpec {
  field: string;
  target: EntityKind;
  required: boolean;
}

/** An entity list nested inside another entity (Kong: any entity with a foreign key to the parent). */
export interface NestSpec {
  /** Key in the parent record (`routes` in a service). */
  key: string;
  kind: EntityKind;
  /** The child's foreign-key field the parent fills (`service`). */
  parentField: string;
}

export interface KindSpec {
  kind: EntityKind;
  /** Kong's endpoint key: what a reference by name matches (`name`, `username`). */
  endpointKey?: string;
  /** Fields unique across the whole config (uniqueness violations). */
  unique: string[];
  refs: RefSpec[];
  nested: NestSpec[];
  /** Singular label for messages (`service`). */
  label: string;
}

const credential = (kind: EntityKind, label: string, unique: string[]): KindSpec => ({
  kind,
  unique,
  refs: [{ field: 'consumer', target: 'consumers', required: true }],
  nested: [],
  label,
});

/**
 * The entities of a declarative file, in dependency order (an entity's references point only at
 * kinds listed before it), with Kong's nesting.
 */
export const KIND_SPECS: readonly KindSpec[] = [
  {
    kind: 'certificates',
    unique: [],
    refs: [],
    nested: [{ key: 'snis', kind: 'snis', parentField: 'certificate' }],
    label: 'certificate',
  },
  { kind: 'ca_certificates', unique: ['cert_digest'], refs: [], nested: [], label: 'ca_certificate' },
  {
    kind: 'snis',
    endpointKey: 'name',
    unique: ['name'],
    refs: [{ field: 'certificate', target: 'certificates', required: true }],
    nested: [],
    label: 'sni',
  },
  {
    kind: 'services',
    endpointKey: 'name',
    unique: ['name'],
    refs: [{ field: 'client_certificate', target: 'certificates', required: false }],
    nested: [
      { key: 'routes', kind: 'routes', parentField: 'service' },
      { key: 'plugins', kind: 'plugins', parentField: 'service' },
    ],
    label: 'service',
  },
  {
    kind: 'routes',
    endpointKey: 'name',
    unique: ['name'],
    refs: [{ field: 'service', target: 'services', required: false }],
    nested: [{ key: 'plugins', kind: 'plugins', parentField: 'route' }],
    label: 'route',
  },
  {
    kind: 'upstreams',
    endpointKey: 'name',
    unique: ['name'],
    refs: [{ field: 'client_certificate', target: 'certificates', required: false }],
    nested: [{ key: 'targets', kind: 'targets', parentField: 'upstream' }],
    label: 'upstream',
  },
  {
    kind: 'targets',
    endpointKey: 'target',
    unique: [],
    refs: [{ field: 'upstream', target: 'upstreams', required: true }],
    nested: [],
    label: 'target',
  },
  {
    kind: 'consumers',
    endpointKey: 'username',
    unique: ['username', 'custom_id'],
    refs: [],
    nested: [
      { key: 'keyauth_credentials', kind: 'keyauth_credentials', parentField: 'consumer' },
      { key: 'basicauth_credentials', kind: 'basicauth_credentials', parentField: 'consumer' },
      { key: 'jwt_secrets', kind: 'jwt_secrets', parentField: 'consumer' },
      { key: 'hmacauth_credentials', kind: 'hmacauth_credentials', parentField: 'consumer' },
      { key: 'acls', kind: 'acls', parentField: 'consumer' },
      { key: 'plugins', kind: 'plugins', parentField: 'consumer' },
      { key: 'consumer_group_consumers', kind: 'consumer_group_consumers', parentField: 'consumer' },
    ],
    label: 'consumer',
  },
  {
    kind: 'consumer_groups',
    endpointKey: 'name',
    unique: ['name'],
    refs: [],
    nested: [
      { key: 'plugins', kind: 'plugins', parentField: 'consumer_group' },
      { key: 'consumer_group_consumers', kind: 'consumer_group_consumers', parentField: 'consumer_group' },
    ],
    label: 'consumer_group',
  },
  {
    kind: 'consumer_group_consumers',
    unique: [],
    refs: [
      { field: 'consumer_group', target: 'consumer_groups', required: true },
      { field: 'consumer', target: 'consumers', required: true },
    ],
    nested: [],
    label: 'consumer_group_consumer',
  },
  {
    kind: 'plugins',
    endpointKey: 'instance_name',
    unique: ['instance_name'],
    refs: [
      { field: 'service', target: 'services', required: false },
      { field: 'route', target: 'routes', required: false },
      { field: 'consumer', target: 'consumers', required: false },
      { field: 'consumer_group', target: 'consumer_groups', required: false },
    ],
    nested: [],
    label: 'plugin',
  },
  credential('keyauth_credentials', 'keyauth_credential', ['key']),
  credential('basicauth_credentials', 'basicauth_credential', ['username']),
  credential('jwt_secrets', 'jwt_secret', ['key']),
  credential('hmacauth_credentials', 'hmacauth_credential', ['username']),
  credential('acls', 'acl', []),
];

export const KIND_SPEC: Readonly<Record<EntityKind, KindSpec>> = Object.fromEntries(
  KIND_SPECS.map((s) => [s.kind, s]),
) as Record<EntityKind, KindSpec>;

/** Kong entities (top-level keys) Gatehouse does not support: reported, droppable with skipUnsupported. */
export const UNSUPPORTED_KINDS: readonly string[] = [
  'vaults',
  'workspaces',
  'filter_chains',
  'key_sets',
  'keys',
  'partials',
  'licenses',
  'parameters',
  'clustering_data_planes',
  'degraphql_routes',
  'graphql_ratelimiting_advanced_cost_decoration',
  'oauth2_credentials',
  'oauth2_authorization_codes',
  'oauth2_tokens',
  'jwt_signer_jwks',
  'consumer_group_plugins',
  'custom_entities',
  'event_hooks',
  'rbac_users',
  'rbac_roles',
];

/** Kong 3.x entity fields Gatehouse does not support (reported by path, droppable). */
export const UNSUPPORTED_FIELDS: Partial<Record<EntityKind, readonly string[]>> = {
  services: ['tls_sans'],
  routes: ['expression', 'priority'],
  plugins: ['ordering', 'partials'],
  upstreams: ['sticky_sessions_cookie', 'sticky_sessions_cookie_path'],
  targets: ['failover'],
  consumers: [],
};

/** Per-entity keys Kong accepts and ignores (`_comment`, `_ignore`). */
export const IGNORED_ENTITY_KEYS: readonly string[] = ['_comment', '_ignore'];
