import { SERVICE_DEFAULTS, type Service, type ServiceProtocol } from '../config/model.js';
import * as td from '../schema/typedefs.js';
import { putOwn } from '../schema/values.js';
import type { RecordField } from '../schema/types.js';
import { stripReadOnly } from './common.js';
import type { FieldErrors } from './errors.js';
import { checkEntity, throwIfErrors } from './validate.js';

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

/** What LuaSocket's `url.parse` (the parser behind Kong's `url` shorthand) reads from a URL. */
interface ParsedUrl {
  scheme?: string;
  host?: string;
  port?: string;
  path?: string;
}

/**
 * LuaSocket's `url.parse`, step for step: scheme, `//authority`, then `#fragment`, `?query` and
 * `;params` are cut off and whatever is left is the path; the authority loses its `user@` and
 * `:port`, and `[v6]` its brackets. Undefined for an empty string. It never fails otherwise:
 * "invalid url" is a path (Kong then reports `host` missing and the path's own message).
 */
function parseUrlAsKong(url: string): ParsedUrl | undefined {
  if (url === '') return undefined;
  const out: ParsedUrl = {};
  let rest = url;
  const scheme = /^([A-Za-z0-9][A-Za-z0-9+\-.]*):/.exec(rest);
  if (scheme) {
    out.scheme = scheme[1]!;
    rest = rest.slice(scheme[0].length);
  }
  let authority: string | undefined;
  const auth = /^\/\/([^/]*)/.exec(rest);
  if (auth) {
    authority = auth[1]!;
    rest = rest.slice(auth[0].length);
  }
  for (const cut of ['#', '?', ';']) {
    const at = rest.indexOf(cut);
    if (at !== -1) rest = rest.slice(0, at);
  }
  if (rest !== '') out.path = rest;
  if (authority === undefined) return out;
  authority = authority.replace(/^[^@]*@/, '');
  const port = /:([^:\]]*)$/.exec(authority);
  if (port) {
    out.port = port[1]!;
    authority = authority.slice(0, port.index);
  }
  if (authority !== '') out.host = /^\[(.+)\]$/.exec(authority)?.[1] ?? authority;
  return out;
}

/**
 * Kong's `url` shorthand (services.lua): sets protocol, host, port and path, overriding those
 * fields if also given. The protocol is the scheme, else https for port 443, else http; the port
 * the URL's, else the protocol's; host and path null when the URL has none. A URL Kong cannot
 * read gives nothing (an empty string: `host` is then missing).
 */
function expandUrl(url: unknown, errors: FieldErrors): Record<string, unknown> {
  if (typeof url !== 'string') {
    errors.url = 'expected a string';
    return {};
  }
  const parsed = parseUrlAsKong(url);
  if (!parsed) return {};
  const numeric = parsed.port !== undefined && /^\d+$/.test(parsed.port) ? Number(parsed.port) : undefined;
  const protocol = parsed.scheme ?? (numeric === 443 ? 'https' : 'http');
  return {
    protocol,
    host: parsed.host ?? null,
    port: numeric ?? parsed.port ?? DEFAULT_PORTS[protocol as ServiceProtocol] ?? 80,
    path: parsed.path ?? null,
  };
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
    tags: v.tags ?? null,
    client_certificate: v.client_certificate ? { id: v.client_certificate.id } : null,
    tls_verify: v.tls_verify,
    tls_verify_depth: v.tls_verify_depth,
    ca_certificates: v.ca_certificates ?? null,
  };
  if (v.id) out.id = v.id;
  return out;
}
