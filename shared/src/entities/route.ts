import { ROUTE_DEFAULTS, type Route, type RouteProtocol } from '../config/model.js';
import type { FieldErrors } from './errors.js';
import * as f from './fields.js';
import { addEntityError, emptyToNull, throwIfErrors, validateFields, type Specs } from './validate.js';

export const ROUTE_PROTOCOLS: readonly RouteProtocol[] = [
  'grpc',
  'grpcs',
  'http',
  'https',
  'tcp',
  'tls',
  'tls_passthrough',
  'udp',
  'ws',
  'wss',
];

/** A route's service reference as written by a client: by id, or by name (resolved by the store). */
export type ServiceReference = { id: string } | { name: string };

/** Fields a client writes on a route; the store adds id and timestamps and resolves `service`. */
export type RouteInput = Omit<Route, 'id' | 'created_at' | 'updated_at' | 'service'> & {
  id?: string;
  service: ServiceReference | null;
};

const bool = (def: boolean) => ({
  kind: 'boolean' as const,
  nullable: false,
  default: def,
  validate: f.boolean,
});

export const ROUTE_FIELDS: Specs = {
  id: { kind: 'string', nullable: true, validate: f.uuid },
  created_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  updated_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  name: { kind: 'string', nullable: true, default: null, validate: f.name },
  protocols: {
    kind: 'set',
    nullable: false,
    default: [...ROUTE_DEFAULTS.protocols],
    validate: f.set(f.oneOf(ROUTE_PROTOCOLS), { minLength: 1 }),
  },
  methods: { kind: 'set', nullable: true, default: null, validate: f.set(f.httpMethod) },
  hosts: { kind: 'set', nullable: true, default: null, validate: f.set(f.routeHost) },
  paths: { kind: 'set', nullable: true, default: null, validate: f.set(f.routePath) },
  headers: { kind: 'map', nullable: true, default: null, validate: f.headerMap },
  https_redirect_status_code: {
    kind: 'integer',
    nullable: false,
    default: ROUTE_DEFAULTS.https_redirect_status_code,
    validate: f.oneOf([426, 301, 302, 307, 308] as const),
  },
  regex_priority: {
    kind: 'integer',
    nullable: false,
    default: ROUTE_DEFAULTS.regex_priority,
    validate: f.integer(-(2 ** 31), 2 ** 31 - 1),
  },
  strip_path: bool(ROUTE_DEFAULTS.strip_path),
  path_handling: {
    kind: 'string',
    nullable: false,
    default: ROUTE_DEFAULTS.path_handling,
    validate: f.oneOf(['v0', 'v1'] as const),
  },
  preserve_host: bool(ROUTE_DEFAULTS.preserve_host),
  request_buffering: bool(ROUTE_DEFAULTS.request_buffering),
  response_buffering: bool(ROUTE_DEFAULTS.response_buffering),
  snis: { kind: 'set', nullable: true, default: null, validate: f.set(f.sni) },
  sources: { kind: 'records', nullable: true, default: null, validate: f.ipPortRecords },
  destinations: { kind: 'records', nullable: true, default: null, validate: f.ipPortRecords },
  tags: { kind: 'set', nullable: true, default: null, validate: f.set(f.tag) },
  service: { kind: 'foreign', nullable: true, default: null, validate: f.foreignKey({ byName: true }) },
};

const HTTP_FAMILY: RouteProtocol[] = ['http', 'https', 'ws', 'wss'];
const GRPC_FAMILY: RouteProtocol[] = ['grpc', 'grpcs'];
const STREAM_FAMILY: RouteProtocol[] = ['tcp', 'tls', 'udp', 'tls_passthrough'];
const quoted = (names: string[]) => names.map((n) => `'${n}'`).join(', ');
const isSet = (value: unknown) =>
  Array.isArray(value)
    ? value.length > 0
    : value !== null && value !== undefined && Object.keys(value).length > 0;

/** Kong's entity checks on a route whose fields are individually valid. */
function checkRoute(v: RouteInput, errors: FieldErrors): void {
  const protocols = v.protocols;
  const families = [HTTP_FAMILY, GRPC_FAMILY, STREAM_FAMILY].filter((fam) =>
    protocols.some((p) => fam.includes(p)),
  );
  if (families.length > 1) {
    errors.protocols = `mixing protocols of different families is not allowed: ${protocols.join(', ')}`;
    return;
  }
  const tlsProtocols = protocols.filter((p) =>
    ['https', 'grpcs', 'tls', 'tls_passthrough', 'wss'].includes(p),
  );
  if (isSet(v.snis) && tlsProtocols.length === 0) {
    errors.snis =
      "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls', 'tls_passthrough' or 'wss'";
  }
  const fam = families[0] ?? HTTP_FAMILY;
  if (fam === STREAM_FAMILY) {
    for (const key of ['methods', 'hosts', 'paths', 'headers'] as const) {
      if (isSet(v[key]))
        errors[key] =
          `cannot set '${key}' when 'protocols' is one of 'tcp', 'tls', 'tls_passthrough' or 'udp'`;
    }
    if (![v.sources, v.destinations, v.snis].some(isSet)) {
      addEntityError(
        errors,
        "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'",
      );
    }
    return;
  }
  for (const key of ['sources', 'destinations'] as const) {
    if (isSet(v[key]))
      errors[key] =
        `cannot set '${key}' when 'protocols' is one of 'http', 'https', 'grpc', 'grpcs', 'ws' or 'wss'`;
  }
  if (fam === GRPC_FAMILY) {
    if (isSet(v.methods)) errors.methods = "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'";
    if (v.strip_path) errors.strip_path = "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'";
  }
  const needed =
    fam === GRPC_FAMILY ? ['hosts', 'headers', 'paths'] : ['methods', 'hosts', 'headers', 'paths'];
  if (tlsProtocols.length > 0) needed.push('snis');
  if (!needed.some((key) => isSet(v[key as keyof RouteInput]))) {
    const label =
      tlsProtocols.length > 0
        ? fam === GRPC_FAMILY
          ? 'grpcs'
          : 'https'
        : fam === GRPC_FAMILY
          ? 'grpc'
          : 'http';
    addEntityError(errors, `must set one of ${quoted(needed)} when 'protocols' is '${label}'`);
  }
}

/**
 * Validates a route as the Admin API or a declarative file writes it (Kong 3.x rules) and
 * returns it with Kong's defaults filled. `base` is the stored route a PATCH applies to.
 * Throws a schema-violation GatehouseError (Kong body in `details.body`).
 */
export function validateRoute(input: unknown, options: { base?: Partial<Route> } = {}): RouteInput {
  let base: Record<string, unknown> | undefined;
  if (options.base) {
    const { id: _id, created_at: _c, updated_at: _u, ...rest } = options.base;
    base = rest;
  }
  const { values, errors } = validateFields(input, ROUTE_FIELDS, { base });
  const v = values as unknown as RouteInput;
  if (Object.keys(errors).length === 0) checkRoute(v, errors);
  throwIfErrors(errors);
  const out: RouteInput = {
    name: v.name,
    protocols: v.protocols,
    methods: emptyToNull(v.methods),
    hosts: emptyToNull(v.hosts),
    paths: emptyToNull(v.paths),
    headers: v.headers && Object.keys(v.headers).length > 0 ? v.headers : null,
    snis: emptyToNull(v.snis),
    sources: emptyToNull(v.sources),
    destinations: emptyToNull(v.destinations),
    regex_priority: v.regex_priority,
    strip_path: v.strip_path,
    path_handling: v.path_handling,
    preserve_host: v.preserve_host,
    https_redirect_status_code: v.https_redirect_status_code,
    request_buffering: v.request_buffering,
    response_buffering: v.response_buffering,
    service: v.service,
    tags: emptyToNull(v.tags),
  };
  if (v.id) out.id = v.id;
  return out;
}
