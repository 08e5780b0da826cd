import { ENTITY_DEFS, type EntityDef, type EntityKey } from './entity-defs.js';

/** Services and routes keep their own repositories; these defs serve lookups and replaceAll. */
export const SERVICE_DEF: EntityDef = {
  key: 'services',
  model: 'service',
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
  foreign: [{ field: 'client_certificate', target: 'certificates', required: false }],
  nullableLists: ['tags', 'ca_certificates'],
  json: [],
  endpointKeys: ['name'],
  unique: [['name']],
  hasUpdatedAt: true,
};

export const ROUTE_DEF: EntityDef = {
  key: 'routes',
  model: 'route',
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
  foreign: [{ field: 'service', target: 'services', required: false }],
  nullableLists: ['methods', 'hosts', 'paths', 'snis', 'tags'],
  json: ['headers', 'sources', 'destinations'],
  endpointKeys: ['name'],
  unique: [['name']],
  hasUpdatedAt: true,
};

/** The EntityDef of any entity (services and routes only for lookups by id or name). */
export function defOf(key: EntityKey): EntityDef {
  if (key === 'services') return SERVICE_DEF;
  if (key === 'routes') return ROUTE_DEF;
  return (ENTITY_DEFS as Record<string, EntityDef>)[key]!;
}

/** The field a PUT `/{collection}/{key}` sets from a key that is not a UUID (Kong's endpoint_key). */
export const ENDPOINT_KEYS_OF: Partial<Record<EntityKey, string>> = {
  services: 'name',
  routes: 'name',
  upstreams: 'name',
  targets: 'target',
  consumers: 'username',
  consumer_groups: 'name',
  plugins: 'instance_name',
  snis: 'name',
  keyauth_credentials: 'key',
  basicauth_credentials: 'username',
  jwt_secrets: 'key',
  hmacauth_credentials: 'username',
  acls: 'group',
};
