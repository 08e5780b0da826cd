import {
  ENTITY_RECORDS,
  type EntityKind,
  type EntityRecord,
  type ForeignKeySpec,
  type NestSpec,
} from '../entities/registry.js';

export type { EntityKind, NestSpec };

/** A foreign key of an entity: the field, the entity it points at, whether it must be set. */
export type RefSpec = Pick<ForeignKeySpec, 'field' | 'target' | 'required'>;

/** What the declarative resolver needs of an entity kind (derived from its registry record). */
export interface KindSpec {
  kind: EntityKind;
  /** Kong's endpoint key: what a reference by name matches (`name`, `username`). */
  endpointKey?: string;
  /** The endpoint keys that name an entity, in order (a generated secret never does). */
  nameKeys: readonly string[];
  /** Fields unique across the whole config (uniqueness violations). */
  unique: string[];
  refs: readonly RefSpec[];
  nested: readonly NestSpec[];
  /** Singular label for messages (`service`). */
  label: string;
  /** Whether the entity has `updated_at`. */
  hasUpdatedAt: boolean;
  /** Secret fields generated when the file leaves them out. */
  generated: readonly string[];
}

function kindSpec(r: EntityRecord): KindSpec {
  // A generated secret (a key-auth key) never names an entity in references or messages.
  const nameKeys = r.endpointKeys.filter((k) => !r.generated?.includes(k));
  return {
    kind: r.kind,
    ...(nameKeys[0] ? { endpointKey: nameKeys[0] } : {}),
    nameKeys,
    unique: r.unique.filter((set) => set.length === 1).map((set) => set[0]!),
    refs: r.foreign,
    nested: r.nested,
    label: r.label,
    hasUpdatedAt: r.hasUpdatedAt,
    generated: r.generated ?? [],
  };
}

/**
 * The entities of a declarative file, in dependency order (an entity's references point only at
 * kinds listed before it), with Kong's nesting: the registry's records as the resolver reads them.
 */
export const KIND_SPECS: readonly KindSpec[] = ENTITY_RECORDS.map(kindSpec);

export const KIND_SPEC: Readonly<Record<EntityKind, KindSpec>> = Object.fromEntries(
  KIND_SPECS.map((s) => [s.kind, s]),
) as Record<EntityKind, KindSpec>;

/** Kong entities (top-level keys) Gatehouse does not support: reported, droppable with skipUnsupported. */
export const UNSUPPORTED_KINDS: readonly string[] = [
  'workspaces',
  'filter_chains',
  'partials',
  'licenses',
  'parameters',
  'clustering_data_planes',
  'degraphql_routes',
  'graphql_ratelimiting_advanced_cost_decoration',
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
