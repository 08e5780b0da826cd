import { ROUTE_DEFAULTS, type Route, type RouteProtocol } from '../config/model.js';
import { isIpOrCidr } from '../schema/hosts.js';
import * as td from '../schema/typedefs.js';
import type { Field, FieldErrorTree, ParseResult, RecordField } from '../schema/types.js';
import { isPlainObject, putOwn } from '../schema/values.js';
import { stripReadOnly } from './common.js';
import { serviceSchema } from './service.js';
import { checkEntity, throwIfErrors } from './validate.js';

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

const bool = (def: boolean): Field => ({ type: 'boolean', required: true, default: def });

/** Route `headers`: header name -> non-empty list of values; names are lower-cased; `host` is refused. */
function parseHeaders(v: unknown): ParseResult {
  if (!isPlainObject(v)) return { error: 'expected a map' };
  const out: Record<string, string[]> = {};
  for (const [rawKey, raw] of Object.entries(v)) {
    const key = rawKey.toLowerCase();
    if (key === 'host')
      return { error: "cannot contain 'host' header, which must be specified in the 'hosts' attribute" };
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) return { error: `invalid header name '${rawKey}'` };
    const values = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(values) || values.length === 0)
      return { error: `'${rawKey}': expected an array of strings` };
    for (const value of values as unknown[]) {
      if (typeof value !== 'string' || value.length === 0) return { error: `'${rawKey}': expected a string` };
    }
    putOwn(out, key, [...new Set(values as string[])]);
  }
  return { value: out };
}

/** Route `sources` / `destinations`: `[{ ip?: "cidr", port?: int }]`, one message for the field. */
function parseIpPorts(v: unknown): ParseResult {
  if (!Array.isArray(v)) return { error: 'expected an array' };
  const out: { ip?: string; port?: number }[] = [];
  for (const item of v as unknown[]) {
    if (!isPlainObject(item)) return { error: 'expected a record' };
    const { ip, port, ...rest } = item;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) return { error: `${unknown}: unknown field` };
    if (ip === undefined && port === undefined)
      return { error: "at least one of these fields must be non-empty: 'ip', 'port'" };
    const entry: { ip?: string; port?: number } = {};
    if (ip !== undefined) {
      if (typeof ip !== 'string') return { error: 'expected a string' };
      if (ip.length === 0) return { error: 'length must be at least 1' };
      if (!isIpOrCidr(ip)) return { error: `invalid ip or cidr range: '${ip}'` };
      entry.ip = ip;
    }
    if (port !== undefined) {
      if (typeof port !== 'number' || !Number.isInteger(port)) return { error: 'expected an integer' };
      if (port < 0 || port > 65535) return { error: 'value should be between 0 and 65535' };
      entry.port = port;
    }
    out.push(entry);
  }
  return { value: out };
}

const ipPorts = (): Field => ({
  type: 'set',
  elements: {
    type: 'record',
    fields: { ip: { type: 'string' }, port: td.port() },
    entity_checks: [{ at_least_one_of: ['ip', 'port'] }],
  },
  parse: parseIpPorts,
});

const HTTP_FAMILY: RouteProtocol[] = ['http', 'https', 'ws', 'wss'];
const GRPC_FAMILY: RouteProtocol[] = ['grpc', 'grpcs'];
const STREAM_FAMILY: RouteProtocol[] = ['tcp', 'tls', 'udp', 'tls_passthrough'];
const quoted = (names: string[]) => names.map((n) => `'${n}'`).join(', ');
const isSet = (value: unknown) =>
  Array.isArray(value)
    ? value.length > 0
    : value !== null && value !== undefined && Object.keys(value).length > 0;

/** Kong's entity checks on a route whose fields are individually valid. */
function checkRoute(record: Record<string, unknown>): FieldErrorTree {
  const v = record as unknown as RouteInput;
  const errors: FieldErrorTree = {};
  const addEntityError = (message: string) => ((errors['@entity'] ??= []) as string[]).push(message);
  const protocols = v.protocols;
  const families = [HTTP_FAMILY, GRPC_FAMILY, STREAM_FAMILY].filter((fam) =>
    protocols.some((p) => fam.includes(p)),
  );
  if (families.length > 1) {
    errors.protocols = `mixing protocols of different families is not allowed: ${protocols.join(', ')}`;
    return errors;
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
        "must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'",
      );
    }
    return errors;
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
    addEntityError(`must set one of ${quoted(needed)} when 'protocols' is '${label}'`);
  }
  return errors;
}

/** Kong's routes schema (kong/db/schema/entities/routes.lua). */
export const routeSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    name: td.name(),
    protocols: td.protocols(ROUTE_PROTOCOLS, { required: true, default: [...ROUTE_DEFAULTS.protocols] }),
    methods: { type: 'set', elements: td.httpMethod() },
    hosts: { type: 'set', elements: td.routeHost() },
    paths: { type: 'set', elements: td.routerPath() },
    headers: {
      type: 'map',
      keys: { type: 'string' },
      values: { type: 'array', elements: { type: 'string' } },
      parse: parseHeaders,
    },
    https_redirect_status_code: {
      type: 'integer',
      required: true,
      default: ROUTE_DEFAULTS.https_redirect_status_code,
      one_of: [426, 301, 302, 307, 308],
    },
    regex_priority: {
      type: 'integer',
      required: true,
      default: ROUTE_DEFAULTS.regex_priority,
      between: [-(2 ** 31), 2 ** 31 - 1],
    },
    strip_path: bool(ROUTE_DEFAULTS.strip_path),
    path_handling: {
      type: 'string',
      required: true,
      default: ROUTE_DEFAULTS.path_handling,
      one_of: ['v0', 'v1'],
    },
    preserve_host: bool(ROUTE_DEFAULTS.preserve_host),
    request_buffering: bool(ROUTE_DEFAULTS.request_buffering),
    response_buffering: bool(ROUTE_DEFAULTS.response_buffering),
    snis: { type: 'set', elements: td.routeSni() },
    sources: ipPorts(),
    destinations: ipPorts(),
    tags: td.tags(),
    service: td.foreign('services', { by_name: true, schema: () => serviceSchema }),
  },
  entity_checks: [
    {
      custom_entity_check: {
        field_sources: [
          'protocols',
          'methods',
          'hosts',
          'paths',
          'headers',
          'snis',
          'sources',
          'destinations',
          'strip_path',
        ],
        fn: checkRoute,
      },
    },
  ],
};

/**
 * Kong's grpc subschema (routes_subschemas.lua): `strip_path` defaults to false on a route whose
 * protocols are gRPC ones, so such a route is created without writing `strip_path: false`.
 */
function withGrpcDefaults(input: unknown, base: Record<string, unknown> | undefined): unknown {
  if (!isPlainObject(input) || Object.hasOwn(input, 'strip_path') || (base && 'strip_path' in base))
    return input;
  const protocols = Object.hasOwn(input, 'protocols') ? input.protocols : base?.protocols;
  if (!Array.isArray(protocols) || !protocols.some((p) => GRPC_FAMILY.includes(p as RouteProtocol)))
    return input;
  return { ...input, strip_path: false };
}

/**
 * Validates a route as the Admin API or a declarative file writes it (Kong 3.x rules) and
 * returns it with Kong's defaults filled. `base` is the stored route a PATCH applies to.
 * Throws a schema-violation GatehouseError (Kong body in `details.body`).
 */
export function validateRoute(input: unknown, options: { base?: Partial<Route> } = {}): RouteInput {
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const { values, errors } = checkEntity(routeSchema, withGrpcDefaults(input, base), base);
  throwIfErrors(errors);
  const v = values as unknown as RouteInput;
  const out: RouteInput = {
    name: v.name,
    protocols: v.protocols,
    methods: v.methods ?? null,
    hosts: v.hosts ?? null,
    paths: v.paths ?? null,
    headers: v.headers ?? null,
    snis: v.snis ?? null,
    sources: v.sources ?? null,
    destinations: v.destinations ?? null,
    regex_priority: v.regex_priority,
    strip_path: v.strip_path,
    path_handling: v.path_handling,
    preserve_host: v.preserve_host,
    https_redirect_status_code: v.https_redirect_status_code,
    request_buffering: v.request_buffering,
    response_buffering: v.response_buffering,
    service: v.service,
    tags: v.tags ?? null,
  };
  if (v.id) out.id = v.id;
  return out;
}
