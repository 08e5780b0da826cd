import { isIP } from 'node:net';
import { FieldError, integer, string, validateElements, type Validator } from './fields.js';
import type { Specs } from './validate.js';

/**
 * Field validators for the entities beyond services and routes (Kong's typedefs and the custom
 * validators of kong/db/schema/entities/*.lua), with Kong's messages.
 */

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

/** A host as Kong's normalize_ip splits it: name/ipv4/ipv6 and an optional port. */
export interface ParsedHost {
  type: 'name' | 'ipv4' | 'ipv6';
  host: string;
  port?: number;
}

/** Kong's `normalize_ip`: undefined when `s` is not a hostname or IP with an optional port. */
export function parseHostPort(s: string): ParsedHost | 'invalid port number' | undefined {
  if (isIP(s) === 6) return { type: 'ipv6', host: `[${s.toLowerCase()}]` };
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    if (isIP(bracket[1]!) !== 6) return undefined;
    const out: ParsedHost = { type: 'ipv6', host: `[${bracket[1]!.toLowerCase()}]` };
    if (bracket[2] !== undefined) {
      const port = Number(bracket[2]);
      if (port > 65535) return 'invalid port number';
      out.port = port;
    }
    return out;
  }
  const m = /^([^:]+)(?::(\d*))?$/.exec(s);
  if (!m) return undefined;
  const host = m[1]!;
  let port: number | undefined;
  if (m[2] !== undefined) {
    if (m[2] === '' || Number(m[2]) > 65535) return 'invalid port number';
    port = Number(m[2]);
  }
  const type = isIP(host) === 4 ? 'ipv4' : HOSTNAME_RE.test(host) ? 'name' : undefined;
  if (!type) return undefined;
  if (type === 'name' && /^[\d.]+$/.test(host)) return undefined;
  const out: ParsedHost = { type, host: type === 'name' ? host.toLowerCase() : host };
  if (port !== undefined) out.port = port;
  return out;
}

/** Kong's `number` with `between`. */
export const number =
  (min: number, max: number): Validator<number> =>
  (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new FieldError('expected a number');
    if (v < min || v > max) throw new FieldError(`value should be between ${min} and ${max}`);
    return v;
  };

/** A string of at least one character (Kong's `len_min = 1`). */
export const nonEmptyString: Validator<string> = string;

/** Any non-empty string (Kong's plain `type = "string"` still refuses ""). */
export const anyString: Validator<string> = (v) => {
  if (typeof v !== 'string') throw new FieldError('expected a string');
  if (v.length === 0) throw new FieldError('length must be at least 1');
  return v;
};

/** Kong's `header_name`: A-Z, a-z, 0-9, `_` and `-`. */
export const headerName: Validator<string> = (v) => {
  const s = string(v);
  if (!/^[a-zA-Z0-9_-]+$/.test(s))
    throw new FieldError(`bad header name '${s}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`);
  return s;
};

/** Kong's `cookie_name` (an HTTP token, RFC 2616). */
export const cookieName: Validator<string> = (v) => {
  const s = string(v);
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s))
    throw new FieldError(
      `contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.`,
    );
  return s;
};

/** Kong's `path` typedef (used for health-check paths and cookie paths). */
export const path: Validator<string> = (v) => {
  const s = string(v);
  if (!s.startsWith('/')) throw new FieldError('should start with: /');
  if (s.includes('//')) throw new FieldError('must not have empty segments');
  if (/\s/.test(s)) throw new FieldError('invalid path');
  return s;
};

/** Kong's `host_with_optional_port`. */
export const hostWithOptionalPort: Validator<string> = (v) => {
  const s = string(v);
  const parsed = parseHostPort(s);
  if (parsed === 'invalid port number') throw new FieldError('invalid port number');
  if (!parsed) throw new FieldError(`invalid value: ${s}`);
  return s;
};

/** Kong's `sni` typedef: a hostname, not an IP, no port. */
export const sniName: Validator<string> = (v) => {
  const s = string(v);
  const parsed = parseHostPort(s);
  if (parsed === 'invalid port number') throw new FieldError('must not have a port');
  if (!parsed) throw new FieldError(`invalid value: ${s}`);
  if (parsed.type !== 'name') throw new FieldError('must not be an IP');
  if (parsed.port !== undefined) throw new FieldError('must not have a port');
  return s;
};

/** Kong's `wildcard_host` (SNI names): one `*`, as the first or last character. */
export const wildcardHost: Validator<string> = (v) => {
  let s = string(v);
  const original = s;
  const idx = s.indexOf('*');
  if (idx !== -1) {
    if (idx !== 0 && idx !== s.length - 1)
      throw new FieldError('wildcard must be leftmost or rightmost character');
    if (s.split('*').length - 1 > 1) throw new FieldError('only one wildcard must be specified');
    s = s.replace('*', 'wildcard');
  }
  const parsed = parseHostPort(s);
  if (parsed === 'invalid port number') throw new FieldError('must not have a port');
  if (!parsed) throw new FieldError(`invalid value: ${s}`);
  if (parsed.type !== 'name') throw new FieldError('must not be an IP');
  if (parsed.port !== undefined) throw new FieldError('must not have a port');
  return original.toLowerCase();
};

const nameForError = (s: string) => `Invalid name ('${s}')`;

/** An upstream's name: a hostname (no IP, no port). */
export const upstreamName: Validator<string> = (v) => {
  const s = string(v);
  const parsed = parseHostPort(s);
  if (!parsed || parsed === 'invalid port number')
    throw new FieldError(`${nameForError(s)}; must be a valid hostname`);
  if (parsed.type !== 'name') throw new FieldError(`${nameForError(s)}; no ip addresses allowed`);
  if (parsed.port !== undefined) throw new FieldError(`${nameForError(s)}; no port allowed`);
  return s;
};

export const DEFAULT_TARGET_PORT = 8000;

/** A target: `host[:port]`, normalised to `host:port` (port 8000 when omitted), IPv6 in brackets. */
export const target: Validator<string> = (v) => {
  const s = string(v);
  const parsed = parseHostPort(s);
  if (!parsed || parsed === 'invalid port number')
    throw new FieldError(`Invalid target ('${s}'); not a valid hostname or ip address`);
  return `${parsed.host}:${parsed.port ?? DEFAULT_TARGET_PORT}`;
};

/** Kong's `array` of elements (duplicates allowed); per-element errors as an array. */
export const array =
  <T>(element: Validator<T>): Validator<T[]> =>
  (v) => {
    if (!Array.isArray(v)) throw new FieldError('expected an array');
    return validateElements(v, element, false);
  };

/** Kong's `headers` typedef: header name -> array of strings (names as written). */
export const headersMap: Validator<Record<string, string[]>> = (v) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FieldError('expected a map');
  const out: Record<string, string[]> = {};
  for (const [key, raw] of Object.entries(v as Record<string, unknown>)) {
    headerName(key);
    const values = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(values) || values.some((x) => typeof x !== 'string'))
      throw new FieldError(`'${key}': expected an array of strings`);
    out[key] = values as string[];
  }
  return out;
};

/**
 * Kong's nested `record`: fields validated recursively, defaults filled in for omitted fields,
 * unknown fields refused; errors nested by field name (as Kong's `fields`).
 */
export const record =
  (specs: Specs): Validator<Record<string, unknown>> =>
  (v) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FieldError('expected a record');
    const body = v as Record<string, unknown>;
    const errors: Record<string, unknown> = {};
    for (const key of Object.keys(body)) if (!(key in specs)) errors[key] = 'unknown field';
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(specs)) {
      let value = body[key];
      if (value === undefined) value = spec.default;
      if (value === undefined && spec.kind === 'record' && spec.default === undefined) value = {};
      if (value === undefined || value === null) {
        if (spec.nullable) out[key] = null;
        else errors[key] = 'required field missing';
        continue;
      }
      try {
        out[key] = spec.validate(value);
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        errors[key] = e.detail;
      }
    }
    if (Object.keys(errors).length > 0) throw new FieldError(errors);
    return out;
  };

/** Kong's `ttl`-style non-negative integer seconds. */
export const seconds = integer(0, 100_000_000);
