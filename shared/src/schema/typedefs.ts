/**
 * Kong's typedefs (kong/db/schema/typedefs.lua) as field constructors: each returns a plain field
 * object, so an entity schema reads like Kong's and `describe` renders it like Kong's. The checks
 * Kong's schema library has no attribute for are `custom_validator`s with Kong's messages;
 * `normalize` gives the stored form (lower-cased hosts, lower-cased UUIDs).
 */
import { scopeTagError } from '../slices/scope.js';
import {
  hostError,
  hostWithOptionalPortError,
  routeHostError,
  routeSniError,
  sniNameError,
  wildcardHostError,
} from './hosts.js';
import { compilePcre } from '../regex/pcre.js';
import type { ArrayField, ForeignField, IntegerField, NumberField, SetField, StringField } from './types.js';

type Opts<F> = Omit<F, 'type'>;

/** The largest timeout Kong accepts (milliseconds). */
export const MAX_TIMEOUT = 2 ** 31 - 2;

const lower = (s: string) => s.toLowerCase();

/** True if `s` holds whitespace or an ASCII control character. */
const hasBadPathChars = (s: string) =>
  /\s/.test(s) || [...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);

/** A string of at least one character (Kong's typedefs mostly set `len_min = 1`). */
export const text = (o: Opts<StringField> = {}): StringField => ({ type: 'string', len_min: 1, ...o });

/*
 * Length limits. Kong sets none on names, tags, hosts or keys; Gatehouse does, so that a value
 * the database would refuse (Postgres cannot index an entry over 2704 bytes: a character is at
 * most 3 bytes per UTF-16 unit counted here) is a 400 naming the field, never a database error.
 */
/** Names (`utf8_name`): services, routes, upstreams, consumer groups, plugin instances. */
export const NAME_MAX = 255;
/** One tag. */
export const TAG_MAX = 128;
/** A hostname (RFC 1035: 253 characters); a `:port` may follow where the typedef allows one. */
export const HOST_MAX = 253;
export const HOST_PORT_MAX = HOST_MAX + ':65535'.length;
/** Other strings an entity is looked up or kept unique by (usernames, custom ids, credential keys). */
export const INDEXED_TEXT_MAX = 512;

/** A free-form string an entity is looked up or kept unique by (an indexed column). */
export const indexedText = (o: Opts<StringField> = {}): StringField =>
  text({ len_max: INDEXED_TEXT_MAX, ...o });

/** A UUID, stored lower-case. */
export const uuid = (o: Opts<StringField> = {}): StringField => ({
  type: 'string',
  uuid: true,
  normalize: lower,
  ...o,
});

/** An entity's primary key: a UUID the store generates when the client gives none. */
export const id = (): StringField => uuid({ auto: true });

/** Kong's `auto_timestamp_s`: read-only, accepted when a client echoes an entity back. */
export const autoTimestamp = (): IntegerField => ({
  type: 'integer',
  timestamp: true,
  auto: true,
  between: [0, Number.MAX_SAFE_INTEGER],
});

/** Kong's `auto_timestamp_ms` (targets): a number with a fraction. */
export const autoTimestampMs = (): NumberField => ({
  type: 'number',
  timestamp: true,
  auto: true,
  between: [0, Number.MAX_SAFE_INTEGER],
});

/** Kong's `utf8_name`: non-ASCII characters, or ASCII alphanumerics and `.`, `-`, `_`, `~`. */
export const name = (o: Opts<StringField> = {}): StringField =>
  text({
    len_max: NAME_MAX,
    custom_validator: (s) => {
      for (const ch of s) {
        if (ch.charCodeAt(0) < 128 && !/[A-Za-z0-9.\-_~]/.test(ch))
          return `invalid value '${s}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`;
      }
      return null;
    },
    ...o,
  });

/**
 * Kong's tag rule (kong/db/schema/typedefs.lua `validate_tag`): valid UTF-8 (a lone surrogate is
 * not), then printable ASCII (space included) except `,` and `/`, or any non-ASCII character.
 * Returns Kong's message, or null for a valid tag. `/tags/{tag}` checks its path with it too.
 */
export function tagError(s: string): string | null {
  let position = 1;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff)
      return `invalid utf-8 character sequence detected at position ${position}`;
    position += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c < 128 && (c < 0x20 || c > 0x7e || ch === ',' || ch === '/'))
      return `invalid tag '${s}': expected printable ascii (except \`,\` and \`/\`) or valid utf-8 sequences`;
  }
  return null;
}

/**
 * Kong's `tag`, with our length limit; a tag in Gatehouse's reserved `gatehouse:` namespace must
 * be a valid scope tag (slices/scope.ts), so a typo never makes a scoped entity go everywhere.
 */
export const tag = (): StringField =>
  text({ len_max: TAG_MAX, custom_validator: (s) => tagError(s) ?? scopeTagError(s) });

/** Kong's `tags`. */
export const tags = (): SetField => ({ type: 'set', elements: tag() });

/** Kong's `host`: hostname, IPv4 or IPv6, no port. */
export const host = (o: Opts<StringField> = {}): StringField =>
  text({ len_max: HOST_MAX, custom_validator: hostError, ...o });

/** Kong's `port`. */
export const port = (o: Opts<IntegerField> = {}): IntegerField => ({
  type: 'integer',
  between: [0, 65535],
  ...o,
});

/** Kong's `timeout` (milliseconds). */
export const timeout = (o: Opts<IntegerField> = {}): IntegerField => ({
  type: 'integer',
  between: [1, MAX_TIMEOUT],
  ...o,
});

/** Kong's `ttl`-style non-negative integer seconds. */
export const seconds = (o: Opts<IntegerField> = {}): IntegerField => ({
  type: 'integer',
  between: [0, 100_000_000],
  ...o,
});

/** Kong's `protocols`: a non-empty set of the given protocols. */
export const protocols = (values: readonly string[], o: Omit<Opts<SetField>, 'elements'> = {}): SetField => ({
  type: 'set',
  elements: { type: 'string', one_of: values },
  len_min: 1,
  ...o,
});

/** Kong's `path`: starts with `/`, no empty segments, no whitespace. */
export const path = (o: Opts<StringField> = {}): StringField =>
  text({
    starts_with: '/',
    custom_validator: (s) =>
      s.includes('//') ? 'must not have empty segments' : /\s/.test(s) ? 'invalid path' : null,
    ...o,
  });

/** A service's upstream path: Kong's `path`, no ASCII control characters either. */
export const upstreamPath = (o: Opts<StringField> = {}): StringField =>
  text({
    starts_with: '/',
    custom_validator: (s) =>
      s.includes('//') ? 'must not have empty segments' : hasBadPathChars(s) ? 'invalid path' : null,
    ...o,
  });

/**
 * Kong's `router_path`: `/prefix` or `~/regex`. The regex is PCRE, as Kong's: it must translate
 * (`compilePcre`, the data plane's router compiles it the same way) and compile.
 */
export const routerPath = (): StringField =>
  text({
    custom_validator: (s) => {
      const wrongStart = 'should start with: / (fixed path) or ~/ (regex path)';
      if (s.startsWith('~')) {
        if (!s.startsWith('~/')) return wrongStart;
        const compiled = compilePcre(s.slice(1), { anchored: true });
        return compiled instanceof RegExp ? null : `invalid regex: '${s.slice(1)}' (${compiled.error})`;
      }
      if (!s.startsWith('/')) return wrongStart;
      if (s.includes('//')) return 'must not have empty segments';
      return hasBadPathChars(s) ? 'invalid path' : null;
    },
  });

/** Kong's `http_method`: upper-case letters. */
export const httpMethod = (): StringField =>
  text({
    custom_validator: (s) =>
      /^[A-Z]+$/.test(s) ? null : `invalid value '${s}': the only accepted characters are uppercase letters`,
  });

/** A route host: hostname with an optional port, one wildcard at either end; stored lower-case. */
export const routeHost = (): StringField =>
  text({ len_max: HOST_PORT_MAX, custom_validator: routeHostError, normalize: lower });

/** A route's SNI: a route host that is not an IP and has no port; stored lower-case. */
export const routeSni = (): StringField =>
  text({ len_max: HOST_MAX, custom_validator: routeSniError, normalize: lower });

/** Kong's `sni`: a hostname, not an IP, no port. */
export const sni = (o: Opts<StringField> = {}): StringField =>
  text({ len_max: HOST_MAX, custom_validator: sniNameError, ...o });

/** Kong's `wildcard_host` (SNI names): stored lower-case. */
export const wildcardHost = (o: Opts<StringField> = {}): StringField =>
  text({ len_max: HOST_MAX, custom_validator: wildcardHostError, normalize: lower, ...o });

/** Kong's `host_with_optional_port`. */
export const hostWithOptionalPort = (o: Opts<StringField> = {}): StringField =>
  text({ len_max: HOST_PORT_MAX, custom_validator: hostWithOptionalPortError, ...o });

/** Kong's message for a `header_name` outside A-Z, a-z, 0-9, `_` and `-`, or null. */
export const headerNameError = (s: string): string | null =>
  /^[a-zA-Z0-9_-]+$/.test(s)
    ? null
    : `bad header name '${s}', allowed characters are A-Z, a-z, 0-9, '_', and '-'`;

/** Kong's `header_name` (the plugin builders' `t.headerName` is the same check). */
export const headerName = (o: Opts<StringField> = {}): StringField =>
  text({ custom_validator: headerNameError, ...o });

/** Kong's `cookie_name` (an HTTP token, RFC 2616). */
export const cookieName = (o: Opts<StringField> = {}): StringField =>
  text({
    custom_validator: (s) =>
      /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s)
        ? null
        : `contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\"/?={}[] are not allowed.`,
    ...o,
  });

/** HTTP status codes (Kong's `http_status` elements). */
export const httpStatuses = (o: Omit<Opts<ArrayField>, 'elements'> = {}): ArrayField => ({
  type: 'array',
  elements: { type: 'integer', between: [100, 999] },
  ...o,
});

/** A reference to another entity (`{ id }`, or `{ name }` when `by_name`). */
export const foreign = (reference: string, o: Omit<Opts<ForeignField>, 'reference'> = {}): ForeignField => ({
  type: 'foreign',
  reference,
  ...o,
});
