import type { HashOn, Upstream, UpstreamAlgorithm } from '../config/model.js';
import type { FieldErrors } from './errors.js';
import * as f from './fields.js';
import * as k from './kong-fields.js';
import { emptyToNull, throwIfErrors, validateFields, type Specs } from './validate.js';
import { stripReadOnly } from './common.js';

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
const CHECK_TYPES = ['tcp', 'http', 'https', 'grpc', 'grpcs'] as const;

const num = (def: number | undefined, min: number, max: number) => ({
  kind: 'number' as const,
  nullable: false,
  default: def,
  validate: k.number(min, max),
});
const int = (def: number, min: number, max: number) => ({
  kind: 'integer' as const,
  nullable: false,
  default: def,
  validate: f.integer(min, max),
});
const statuses = (def: number[]) => ({
  kind: 'set' as const,
  nullable: false,
  default: def,
  validate: k.array(f.integer(100, 999)),
});
const checkType = {
  kind: 'string' as const,
  nullable: false,
  default: 'http',
  validate: f.oneOf(CHECK_TYPES),
};
const rec = (specs: Specs) => ({ kind: 'record' as const, nullable: false, validate: k.record(specs) });

/** Kong's health-check defaults (kong/db/schema/entities/upstreams.lua). */
export const HEALTHCHECK_FIELDS: Specs = {
  active: rec({
    type: checkType,
    timeout: num(1, 0, 65535),
    concurrency: int(10, 1, 2 ** 31),
    http_path: { kind: 'string', nullable: false, default: '/', validate: k.path },
    https_sni: { kind: 'string', nullable: true, default: null, validate: k.sniName },
    https_verify_certificate: { kind: 'boolean', nullable: false, default: true, validate: f.boolean },
    headers: { kind: 'map', nullable: true, default: null, validate: k.headersMap },
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
};

export type UpstreamInput = Omit<Upstream, 'id' | 'created_at' | 'updated_at'> & { id?: string };

const hashOn = { kind: 'string' as const, nullable: false, default: 'none', validate: f.oneOf(HASH_ON) };
const optional = (validate: f.Validator<string>) => ({
  kind: 'string' as const,
  nullable: true,
  default: null,
  validate,
});

export const UPSTREAM_FIELDS: Specs = {
  id: { kind: 'string', nullable: true, validate: f.uuid },
  created_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  updated_at: { kind: 'ignored', nullable: true, validate: f.timestamp },
  name: { kind: 'string', nullable: false, validate: k.upstreamName },
  algorithm: {
    kind: 'string',
    nullable: false,
    default: 'round-robin',
    validate: f.oneOf(UPSTREAM_ALGORITHMS),
  },
  hash_on: hashOn,
  hash_fallback: hashOn,
  hash_on_header: optional(k.headerName),
  hash_fallback_header: optional(k.headerName),
  hash_on_cookie: optional(k.cookieName),
  hash_on_cookie_path: { kind: 'string', nullable: false, default: '/', validate: k.path },
  hash_on_query_arg: optional(k.nonEmptyString),
  hash_fallback_query_arg: optional(k.nonEmptyString),
  hash_on_uri_capture: optional(k.nonEmptyString),
  hash_fallback_uri_capture: optional(k.nonEmptyString),
  slots: int(10000, 10, 2 ** 16),
  healthchecks: { kind: 'record', nullable: false, default: {}, validate: k.record(HEALTHCHECK_FIELDS) },
  tags: { kind: 'set', nullable: true, default: null, validate: f.set(f.tag) },
  host_header: optional(k.hostWithOptionalPort),
  client_certificate: {
    kind: 'foreign',
    nullable: true,
    default: null,
    validate: f.foreignKey({ byName: false }),
  },
  use_srv_name: { kind: 'boolean', nullable: false, default: false, validate: f.boolean },
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

function checkUpstream(v: UpstreamInput, errors: FieldErrors): void {
  const required = (field: keyof UpstreamInput) => {
    if (v[field] === null && !errors[field]) errors[field] = 'required field missing';
  };
  if (v.hash_on === 'header') required('hash_on_header');
  if (v.hash_fallback === 'header') required('hash_fallback_header');
  if (v.hash_on === 'cookie' || v.hash_fallback === 'cookie') required('hash_on_cookie');
  if (v.hash_on === 'query_arg') required('hash_on_query_arg');
  if (v.hash_fallback === 'query_arg') required('hash_fallback_query_arg');
  if (v.hash_on === 'uri_capture') required('hash_on_uri_capture');
  if (v.hash_fallback === 'uri_capture') required('hash_fallback_uri_capture');
  const fallbackOnly = (allowed: HashOn[]) => {
    if (!allowed.includes(v.hash_fallback)) errors.hash_fallback = `expected one of: ${allowed.join(', ')}`;
  };
  const all = HASH_ON.filter((h) => h !== v.hash_on);
  if (v.hash_on === 'none' || v.hash_on === 'cookie') fallbackOnly(['none']);
  else if (['consumer', 'ip', 'path'].includes(v.hash_on)) fallbackOnly(all);
  const distinct = (a: keyof UpstreamInput, b: keyof UpstreamInput) => {
    if (v[a] !== null && v[a] === v[b])
      errors['@entity'] = [
        ...((errors['@entity'] as string[] | undefined) ?? []),
        `values of these fields must be distinct: '${a}', '${b}'`,
      ];
  };
  distinct('hash_on_header', 'hash_fallback_header');
  distinct('hash_on_query_arg', 'hash_fallback_query_arg');
  distinct('hash_on_uri_capture', 'hash_fallback_uri_capture');
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
  const { values, errors } = validateFields(body, UPSTREAM_FIELDS, { base });
  const v = values as unknown as UpstreamInput;
  if (Object.keys(errors).length === 0) checkUpstream(v, errors);
  throwIfErrors(errors);
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
    tags: emptyToNull(v.tags),
  };
  if (v.id) out.id = v.id;
  return out;
}

function deepMerge(base: unknown, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> =
    base && typeof base === 'object' && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value)
        ? deepMerge(out[key], value as Record<string, unknown>)
        : value;
  }
  return out;
}
