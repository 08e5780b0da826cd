import type { HashOn, Upstream, UpstreamAlgorithm } from '../config/model.js';
import { parseHostPort } from '../schema/hosts.js';
import * as td from '../schema/typedefs.js';
import type { EntityCheck, Field, ParseResult, RecordField } from '../schema/types.js';
import { deepMerge, isPlainObject, putOwn } from '../schema/values.js';
import { stripReadOnly } from './common.js';
import { checkEntity, throwIfErrors } from './validate.js';

export const UPSTREAM_ALGORITHMS: readonly UpstreamAlgorithm[] = [
  'consistent-hashing',
  'least-connections',
  'round-robin',
  'latency',
];
export const HASH_ON: readonly HashOn[] = [
  'none',
  'consumer',
  'ip',
  'header',
  'cookie',
  'path',
  'query_arg',
  'uri_capture',
];
const CHECK_TYPES = ['tcp', 'http', 'https', 'grpc', 'grpcs'];

const num = (def: number, min: number, max: number): Field => ({
  type: 'number',
  required: true,
  default: def,
  between: [min, max],
});
const int = (def: number, min: number, max: number): Field => ({
  type: 'integer',
  required: true,
  default: def,
  between: [min, max],
});
const statuses = (def: number[]): Field => td.httpStatuses({ required: true, default: def });
const checkType: Field = { type: 'string', required: true, default: 'http', one_of: CHECK_TYPES };
const rec = (fields: Record<string, Field>): RecordField => ({ type: 'record', required: true, fields });

/** Kong's `headers` typedef: header name -> array of strings (names as written). */
function parseHeaders(v: unknown): ParseResult {
  if (!isPlainObject(v)) return { error: 'expected a map' };
  const out: Record<string, string[]> = {};
  for (const [key, raw] of Object.entries(v)) {
    const bad = key.length === 0 ? 'length must be at least 1' : td.headerNameError(key);
    if (bad !== null) return { error: bad };
    const values = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(values) || values.some((x) => typeof x !== 'string'))
      return { error: `'${key}': expected an array of strings` };
    putOwn(out, key, values as string[]);
  }
  return { value: out };
}

/** Kong's health-check defaults (kong/db/schema/entities/upstreams.lua). */
export const healthchecksSchema: RecordField = {
  type: 'record',
  required: true,
  default: {},
  fields: {
    active: rec({
      type: checkType,
      timeout: num(1, 0, 65535),
      concurrency: int(10, 1, 2 ** 31),
      http_path: td.path({ required: true, default: '/' }),
      https_sni: td.sni(),
      https_verify_certificate: { type: 'boolean', required: true, default: true },
      headers: {
        type: 'map',
        keys: td.headerName(),
        values: { type: 'array', elements: { type: 'string' } },
        parse: parseHeaders,
      },
      healthy: rec({
        interval: num(0, 0, 65535),
        http_statuses: statuses([200, 302]),
        successes: int(0, 0, 255),
      }),
      unhealthy: rec({
        interval: num(0, 0, 65535),
        http_statuses: statuses([429, 404, 500, 501, 502, 503, 504, 505]),
        tcp_failures: int(0, 0, 255),
        timeouts: int(0, 0, 255),
        http_failures: int(0, 0, 255),
      }),
    }),
    passive: rec({
      type: checkType,
      healthy: rec({
        http_statuses: statuses([
          200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
        ]),
        successes: int(0, 0, 255),
      }),
      unhealthy: rec({
        http_statuses: statuses([429, 500, 503]),
        tcp_failures: int(0, 0, 255),
        timeouts: int(0, 0, 255),
        http_failures: int(0, 0, 255),
      }),
    }),
    threshold: num(0, 0, 100),
  },
};

export type UpstreamInput = Omit<Upstream, 'id' | 'created_at' | 'updated_at'> & { id?: string };

const nameError = (s: string) => `Invalid name ('${s}')`;

/** An upstream's name: a hostname (no IP, no port). */
const upstreamName: Field = {
  type: 'string',
  required: true,
  len_max: td.HOST_MAX,
  custom_validator: (s) => {
    if (s.length === 0) return 'length must be at least 1';
    const parsed = parseHostPort(s);
    if (!parsed || parsed === 'invalid port number') return `${nameError(s)}; must be a valid hostname`;
    if (parsed.type !== 'name') return `${nameError(s)}; no ip addresses allowed`;
    if (parsed.port !== undefined) return `${nameError(s)}; no port allowed`;
    return null;
  },
};

const hashOn: Field = { type: 'string', required: true, default: 'none', one_of: HASH_ON };

/** `then_field` is required when `if_field` is `value` (Kong's conditional check). */
const requiredWhen = (if_field: string, value: string, then_field: string): EntityCheck => ({
  conditional: { if_field, if_match: { eq: value }, then_field, then_match: { required: true } },
});
/** `hash_fallback` may only be one of `allowed` when `hash_on` is `hashOnValue`. */
const fallbackOnly = (hashOnValue: string, allowed: readonly HashOn[]): EntityCheck => ({
  conditional: {
    if_field: 'hash_on',
    if_match: { eq: hashOnValue },
    then_field: 'hash_fallback',
    then_match: { one_of: allowed },
  },
});

/** Kong's upstreams schema (kong/db/schema/entities/upstreams.lua). */
export const upstreamSchema: RecordField = {
  type: 'record',
  fields: {
    id: td.id(),
    created_at: td.autoTimestamp(),
    updated_at: td.autoTimestamp(),
    name: upstreamName,
    algorithm: { type: 'string', required: true, default: 'round-robin', one_of: UPSTREAM_ALGORITHMS },
    hash_on: hashOn,
    hash_fallback: hashOn,
    hash_on_header: td.headerName(),
    hash_fallback_header: td.headerName(),
    hash_on_cookie: td.cookieName(),
    hash_on_cookie_path: td.path({ required: true, default: '/' }),
    hash_on_query_arg: td.text(),
    hash_fallback_query_arg: td.text(),
    hash_on_uri_capture: td.text(),
    hash_fallback_uri_capture: td.text(),
    slots: int(10000, 10, 2 ** 16),
    healthchecks: healthchecksSchema,
    tags: td.tags(),
    host_header: td.hostWithOptionalPort(),
    client_certificate: td.foreign('certificates'),
    use_srv_name: { type: 'boolean', required: true, default: false },
  },
  // Kong's checks, in Kong's order (the order of the `@entity` messages); the lists as Kong writes them.
  entity_checks: [
    requiredWhen('hash_on', 'header', 'hash_on_header'),
    requiredWhen('hash_fallback', 'header', 'hash_fallback_header'),
    requiredWhen('hash_on', 'cookie', 'hash_on_cookie'),
    requiredWhen('hash_fallback', 'cookie', 'hash_on_cookie'),
    fallbackOnly('none', ['none']),
    fallbackOnly('cookie', ['none']),
    fallbackOnly('consumer', ['none', 'ip', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']),
    fallbackOnly('ip', ['none', 'consumer', 'header', 'cookie', 'path', 'query_arg', 'uri_capture']),
    fallbackOnly('path', ['none', 'consumer', 'header', 'cookie', 'query_arg', 'ip', 'uri_capture']),
    { distinct: ['hash_on_header', 'hash_fallback_header'] },
    requiredWhen('hash_on', 'query_arg', 'hash_on_query_arg'),
    requiredWhen('hash_fallback', 'query_arg', 'hash_fallback_query_arg'),
    { distinct: ['hash_on_query_arg', 'hash_fallback_query_arg'] },
    requiredWhen('hash_on', 'uri_capture', 'hash_on_uri_capture'),
    requiredWhen('hash_fallback', 'uri_capture', 'hash_fallback_uri_capture'),
    { distinct: ['hash_on_uri_capture', 'hash_fallback_uri_capture'] },
  ],
};

/** Kong's shorthands: least-connections/latency reset hash_on; a hash_on other than none selects consistent-hashing. */
function applyShorthands(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const body = { ...(input as Record<string, unknown>) };
  if (body.algorithm === 'least-connections' || body.algorithm === 'latency') body.hash_on = null;
  if ('hash_on' in body) {
    if (body.hash_on === null) body.hash_on = 'none';
    else if (body.hash_on === 'none') body.algorithm = 'round-robin';
    else if (typeof body.hash_on === 'string') body.algorithm = 'consistent-hashing';
  }
  return body;
}

/**
 * Validates an upstream (Kong 3.x rules: name a hostname, hashing fields consistent with
 * `hash_on`/`hash_fallback`, health checks filled with Kong's defaults). `base` is the stored
 * upstream a PATCH applies to (a partial `healthchecks` in a PATCH is merged over the stored one).
 */
export function validateUpstream(input: unknown, options: { base?: Partial<Upstream> } = {}): UpstreamInput {
  let body = applyShorthands(input);
  const base = options.base ? stripReadOnly(options.base) : undefined;
  if (base && body && typeof body === 'object' && !Array.isArray(body)) {
    const hc = (body as Record<string, unknown>).healthchecks;
    if (hc && typeof hc === 'object' && !Array.isArray(hc) && base.healthchecks)
      body = { ...body, healthchecks: deepMerge(base.healthchecks, hc as Record<string, unknown>) };
  }
  const { values, errors } = checkEntity(upstreamSchema, body, base);
  throwIfErrors(errors);
  const v = values as unknown as UpstreamInput;
  const out: UpstreamInput = {
    name: v.name,
    algorithm: v.algorithm,
    hash_on: v.hash_on,
    hash_fallback: v.hash_fallback,
    hash_on_header: v.hash_on_header,
    hash_fallback_header: v.hash_fallback_header,
    hash_on_cookie: v.hash_on_cookie,
    hash_on_cookie_path: v.hash_on_cookie_path,
    hash_on_query_arg: v.hash_on_query_arg,
    hash_fallback_query_arg: v.hash_fallback_query_arg,
    hash_on_uri_capture: v.hash_on_uri_capture,
    hash_fallback_uri_capture: v.hash_fallback_uri_capture,
    slots: v.slots,
    healthchecks: v.healthchecks,
    host_header: v.host_header,
    client_certificate: v.client_certificate ? { id: v.client_certificate.id } : null,
    use_srv_name: v.use_srv_name,
    tags: v.tags ?? null,
  };
  if (v.id) out.id = v.id;
  return out;
}
