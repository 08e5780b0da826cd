import { isIP } from 'node:net';

/**
 * Field validators with Kong's messages. A validator returns the normalised value or throws a
 * FieldError with the message Kong would put under `fields.<name>`.
 */
export class FieldError extends Error {
  constructor(readonly detail: string | (string | null)[] | Record<string, unknown>) {
    super(
      typeof detail === 'string'
        ? detail
        : Array.isArray(detail)
          ? (detail.find((d) => d !== null) ?? 'invalid value')
          : firstMessage(detail),
    );
  }
}

function firstMessage(detail: Record<string, unknown>): string {
  for (const value of Object.values(detail)) {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) {
      const m = value.find((d): d is string => typeof d === 'string');
      if (m) return m;
    } else if (value && typeof value === 'object') return firstMessage(value as Record<string, unknown>);
  }
  return 'invalid value';
}

export type Validator<T> = (value: unknown) => T;

/** How a field is written, so form-encoded input (all strings) can be coerced. */
export type FieldKind =
  'string' | 'integer' | 'number' | 'boolean' | 'set' | 'map' | 'foreign' | 'records' | 'record' | 'ignored';

export interface FieldSpec<T = unknown> {
  kind: FieldKind;
  /** null is accepted (and means "unset") */
  nullable: boolean;
  /** value when the client omits the field; undefined => required */
  default?: T;
  validate: Validator<T>;
}

export const MAX_TIMEOUT = 2 ** 31 - 2;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
/** True if `s` holds whitespace or an ASCII control character. */
const hasBadPathChars = (s: string) =>
  /\s/.test(s) || [...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

export const string: Validator<string> = (v) => {
  if (typeof v !== 'string') throw new FieldError('expected a string');
  if (v.length === 0) throw new FieldError('length must be at least 1');
  return v;
};

export const integer =
  (min: number, max: number): Validator<number> =>
  (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new FieldError('expected an integer');
    if (v < min || v > max) throw new FieldError(`value should be between ${min} and ${max}`);
    return v;
  };

export const boolean: Validator<boolean> = (v) => {
  if (typeof v !== 'boolean') throw new FieldError('expected a boolean');
  return v;
};

export const oneOf =
  <T extends string | number>(values: readonly T[]): Validator<T> =>
  (v) => {
    if (!values.includes(v as T)) throw new FieldError(`expected one of: ${values.join(', ')}`);
    return v as T;
  };

export const uuid: Validator<string> = (v) => {
  if (!isUuid(v)) throw new FieldError('expected a valid UUID');
  return v.toLowerCase();
};

/** Kong's `utf8_name`: non-ASCII characters, or ASCII alphanumerics and `.`, `-`, `_`, `~`. */
export const name: Validator<string> = (v) => {
  const s = string(v);
  for (const ch of s) {
    if (ch.charCodeAt(0) < 128 && !/[A-Za-z0-9.\-_~]/.test(ch)) {
      throw new FieldError(
        `invalid value '${s}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`,
      );
    }
  }
  return s;
};

/** Kong's `tag`: printable ASCII except `,` and `/`, or UTF-8. */
export const tag: Validator<string> = (v) => {
  const s = string(v);
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c < 128 && (c < 0x21 || c > 0x7e || ch === ',' || ch === '/')) {
      throw new FieldError(
        `invalid tag '${s}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`,
      );
    }
  }
  return s;
};

/** A host without a port: hostname, IPv4 or IPv6. */
export const host: Validator<string> = (v) => {
  const s = string(v);
  if (isIP(s) || (s.startsWith('[') && s.endsWith(']') && isIP(s.slice(1, -1)) === 6)) return s;
  if (HOSTNAME_RE.test(s)) return s;
  if (/^[^:]+:\d+$/.test(s) || /^\[.*\]:\d+$/.test(s)) throw new FieldError('must not have a port');
  throw new FieldError('invalid hostname');
};

/** A route host: hostname with an optional port, a wildcard in the leftmost or rightmost label. */
export const routeHost: Validator<string> = (v) => {
  const s = string(v);
  let hostPart = s;
  const m = /^(.*?):(\d+)$/.exec(s);
  if (m && !isIP(s)) {
    hostPart = m[1]!;
    if (Number(m[2]) > 65535) throw new FieldError('invalid port number');
  }
  if (isIP(hostPart) || (hostPart.startsWith('[') && hostPart.endsWith(']'))) return s.toLowerCase();
  const stars = hostPart.split('*').length - 1;
  if (stars > 1) throw new FieldError('only one wildcard must be specified');
  if (stars === 1) {
    if (!hostPart.startsWith('*.') && !hostPart.endsWith('.*')) {
      throw new FieldError('invalid wildcard: must be placed at leftmost or rightmost label');
    }
    const rest = hostPart.startsWith('*.') ? hostPart.slice(2) : hostPart.slice(0, -2);
    if (!HOSTNAME_RE.test(rest)) throw new FieldError('invalid hostname');
    return s.toLowerCase();
  }
  if (!HOSTNAME_RE.test(hostPart)) throw new FieldError('invalid hostname');
  return s.toLowerCase();
};

/** An SNI: a hostname (wildcard allowed at either end), not an IP, no port. */
export const sni: Validator<string> = (v) => {
  const s = string(v);
  if (isIP(s)) throw new FieldError('must not be an IP');
  if (/:\d+$/.test(s)) throw new FieldError('must not have a port');
  return routeHost(s);
};

/** An upstream path on a service: starts with `/`, no empty segments, no whitespace. */
export const servicePath: Validator<string> = (v) => {
  const s = string(v);
  if (!s.startsWith('/')) throw new FieldError('should start with: /');
  if (s.includes('//')) throw new FieldError('must not have empty segments');
  if (hasBadPathChars(s)) throw new FieldError('invalid path');
  return s;
};

/** A route path: `/prefix` or `~/regex` (the regex must compile). */
export const routePath: Validator<string> = (v) => {
  const s = string(v);
  if (s.startsWith('~')) {
    if (!s.startsWith('~/')) throw new FieldError('should start with: / (fixed path) or ~/ (regex path)');
    try {
      new RegExp(s.slice(1));
    } catch (e) {
      throw new FieldError(`invalid regex: '${s.slice(1)}' (${(e as Error).message})`);
    }
    return s;
  }
  if (!s.startsWith('/')) throw new FieldError('should start with: / (fixed path) or ~/ (regex path)');
  if (s.includes('//')) throw new FieldError('must not have empty segments');
  if (hasBadPathChars(s)) throw new FieldError('invalid path');
  return s;
};

export const httpMethod: Validator<string> = (v) => {
  const s = string(v);
  if (!/^[A-Z]+$/.test(s)) {
    throw new FieldError(`invalid value '${s}': the only accepted characters are uppercase letters`);
  }
  return s;
};

/**
 * Validates every element of an array, collecting per-element errors as Kong reports them
 * (an array with null for the good elements). `unique` refuses duplicates (Kong's `set`).
 */
export function validateElements<T>(v: unknown[], element: Validator<T>, unique: boolean): T[] {
  const errors: (string | null)[] = [];
  const out: T[] = [];
  let failed = false;
  for (const item of v) {
    try {
      const value = element(item);
      if (unique && out.includes(value)) throw new FieldError(`duplicate value '${String(item)}'`);
      out.push(value);
      errors.push(null);
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      failed = true;
      errors.push(e.message);
    }
  }
  if (failed) throw new FieldError(errors);
  return out;
}

/** Kong's `set`: an array of unique elements (duplicates are rejected). */
export const set =
  <T>(element: Validator<T>, opts: { minLength?: number } = {}): Validator<T[]> =>
  (v) => {
    if (!Array.isArray(v)) throw new FieldError('expected a set');
    if (opts.minLength && v.length < opts.minLength)
      throw new FieldError(`length must be at least ${opts.minLength}`);
    return validateElements(v, element, true);
  };

/** Route `headers`: header name -> non-empty list of values; names are lower-cased; `host` is refused. */
export const headerMap: Validator<Record<string, string[]>> = (v) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FieldError('expected a map');
  const out: Record<string, string[]> = {};
  for (const [rawKey, raw] of Object.entries(v as Record<string, unknown>)) {
    const key = rawKey.toLowerCase();
    if (key === 'host')
      throw new FieldError("cannot contain 'host' header, which must be specified in the 'hosts' attribute");
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(key)) throw new FieldError(`invalid header name '${rawKey}'`);
    const values = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(values) || values.length === 0)
      throw new FieldError(`'${rawKey}': expected an array of strings`);
    for (const value of values) {
      if (typeof value !== 'string' || value.length === 0)
        throw new FieldError(`'${rawKey}': expected a string`);
    }
    out[key] = [...new Set(values as string[])];
  }
  return out;
};

/** Route `sources` / `destinations`: `[{ ip?: "cidr", port?: int }]`. */
export const ipPortRecords: Validator<{ ip?: string; port?: number }[]> = (v) => {
  if (!Array.isArray(v)) throw new FieldError('expected an array');
  return v.map((item) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw new FieldError('expected a record');
    const { ip, port, ...rest } = item as Record<string, unknown>;
    if (Object.keys(rest).length) throw new FieldError(`${Object.keys(rest)[0]}: unknown field`);
    if (ip === undefined && port === undefined) {
      throw new FieldError("at least one of these fields must be non-empty: 'ip', 'port'");
    }
    const out: { ip?: string; port?: number } = {};
    if (ip !== undefined) {
      const s = string(ip);
      const [addr, bits, extra] = s.split('/');
      const family = isIP(addr ?? '');
      const maxBits = family === 6 ? 128 : 32;
      if (
        !family ||
        extra !== undefined ||
        (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= maxBits))
      ) {
        throw new FieldError(`invalid ip or cidr range: '${s}'`);
      }
      out.ip = s;
    }
    if (port !== undefined) out.port = integer(0, 65535)(port);
    return out;
  });
};

/** A foreign key written as `{ id }` (or `{ name }` where the target has a name). */
export const foreignKey =
  (opts: { byName: boolean }): Validator<{ id?: string; name?: string }> =>
  (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FieldError('expected a record');
    const { id, name: byName, ...rest } = v as Record<string, unknown>;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw new FieldError(`${unknown}: unknown field`);
    if (id !== undefined) return { id: uuid(id) };
    if (opts.byName && byName !== undefined) return { name: string(byName) };
    throw new FieldError(opts.byName ? "must set one of 'id', 'name'" : 'id: required field missing');
  };

/** Timestamps are read-only; a client echoing back an entity it fetched may include them. */
export const timestamp: Validator<number> = (v) => integer(0, Number.MAX_SAFE_INTEGER)(v);
