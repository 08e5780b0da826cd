import { SERVICE_DEFAULTS, type Service, type ServiceProtocol } from '../config/model.js';
import * as td from '../schema/typedefs.js';
import { putOwn } from '../schema/values.js';
import type { RecordField } from '../schema/types.js';
import { stripReadOnly } from './common.js';
import type { FieldErrors } from './errors.js';
import { checkEntity, emptyToNull, throwIfErrors } from './validate.js';

export const SERVICE_PROTOCOLS: readonly ServiceProtocol[] = [
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

/** Fields a client writes on a service; the store adds id and timestamps. */
export type ServiceInput = Omit<Service, 'id' | 'created_at' | 'updated_at'> & { id?: string };

/** Kong's services schema (kong/db/schema/entities/services.lua). */
export const serviceSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    name: td.name(),
    retries: { type: 'integer', required: true, default: SERVICE_DEFAULTS.retries, between: [0, 32767] },
    protocol: {
      type: 'string',
      required: true,
      default: SERVICE_DEFAULTS.protocol,
      one_of: SERVICE_PROTOCOLS,
    },
    host: td.host({ required: true }),
    port: td.port({ required: true, default: SERVICE_DEFAULTS.port }),
    path: td.upstreamPath(),
    connect_timeout: td.timeout({ required: true, default: SERVICE_DEFAULTS.connect_timeout }),
    write_timeout: td.timeout({ required: true, default: SERVICE_DEFAULTS.write_timeout }),
    read_timeout: td.timeout({ required: true, default: SERVICE_DEFAULTS.read_timeout }),
    tags: td.tags(),
    client_certificate: td.foreign('certificates'),
    tls_verify: { type: 'boolean' },
    tls_verify_depth: { type: 'integer', between: [0, 64] },
    ca_certificates: { type: 'set', elements: td.uuid() },
    enabled: { type: 'boolean', required: true, default: SERVICE_DEFAULTS.enabled },
  },
};

const DEFAULT_PORTS: Partial<Record<ServiceProtocol, number>> = {
  http: 80,
  ws: 80,
  grpc: 80,
  https: 443,
  wss: 443,
  grpcs: 443,
};

/**
 * Kong's `url` shorthand: `protocol://host[:port][/path]` sets protocol, host, port and path
 * (port defaults to the protocol's, path to null), overriding those fields if also given.
 */
function expandUrl(url: unknown, errors: FieldErrors): Record<string, unknown> {
  if (typeof url !== 'string') {
    errors.url = 'expected a string';
    return {};
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    errors.url = `invalid url: '${url}'`;
    return {};
  }
  const protocol = parsed.protocol.replace(/:$/, '');
  const host = parsed.hostname;
  if (!host) {
    errors.url = `missing host in url: '${url}'`;
    return {};
  }
  const port = parsed.port ? Number(parsed.port) : (DEFAULT_PORTS[protocol as ServiceProtocol] ?? 80);
  const rawPath = parsed.pathname + parsed.search;
  // new URL() reports "/" for "http://h" and "http://h/": keep a path only if the client wrote one.
  const wrotePath = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]+[/?]/i.test(url);
  return { protocol, host, port, path: wrotePath ? rawPath : null };
}

/**
 * Validates a service as the Admin API or a declarative file writes it (Kong 3.x rules) and
 * returns it with Kong's defaults filled. `base` is the stored service a PATCH applies to.
 * Throws a schema-violation GatehouseError (Kong body in `details.body`).
 */
export function validateService(input: unknown, options: { base?: Partial<Service> } = {}): ServiceInput {
  const errors: FieldErrors = {};
  let body = input;
  if (body && typeof body === 'object' && !Array.isArray(body) && 'url' in body) {
    const { url, ...rest } = body as Record<string, unknown>;
    body = url === null ? rest : { ...rest, ...expandUrl(url, errors) };
  }
  const base = options.base ? stripReadOnly(options.base) : undefined;
  const result = checkEntity(serviceSchema, body, base);
  for (const [key, message] of Object.entries(result.errors)) putOwn(errors, key, message);
  const v = result.values as unknown as ServiceInput;
  if (
    !errors.protocol &&
    !errors.path &&
    v.path !== null &&
    !['http', 'https', 'ws', 'wss'].includes(v.protocol)
  ) {
    errors.path = `value must be null when 'protocol' is '${v.protocol}'`;
  }
  throwIfErrors(errors);
  const out: ServiceInput = {
    name: v.name,
    protocol: v.protocol,
    host: v.host,
    port: v.port,
    path: v.path,
    retries: v.retries,
    connect_timeout: v.connect_timeout,
    write_timeout: v.write_timeout,
    read_timeout: v.read_timeout,
    enabled: v.enabled,
    tags: emptyToNull(v.tags),
    client_certificate: v.client_certificate ? { id: v.client_certificate.id } : null,
    tls_verify: v.tls_verify,
    tls_verify_depth: v.tls_verify_depth,
    ca_certificates: emptyToNull(v.ca_certificates),
  };
  if (v.id) out.id = v.id;
  return out;
}
