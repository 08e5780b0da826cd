/**
 * Kong's secret references, `{vault://<prefix>/<resource>[/<key>][?<config>][#<version>]}`
 * (kong/pdk/vault.lua `is_reference` / `parse_reference`). `prefix` names a vault entity's
 * `prefix` or a backend (`env`, `file`); the last path segment is the key inside a JSON secret
 * when there are two or more segments (a trailing `/` makes the whole path the resource);
 * the query overrides the vault's config (`?ttl=60`); the fragment is a version number.
 *
 * Stricter than Kong on purpose (docs/vaults.md): a segment may not be empty, `.` or `..`,
 * nor decode to one holding `/`, `\` or NUL, so no backend is handed a path that climbs out of
 * its folder; a reference is at most REFERENCE_MAX_LENGTH characters.
 */

export interface VaultReference {
  /** The host part: a vault entity's prefix or a backend name. */
  readonly prefix: string;
  /** The secret's name (segments joined with `/`), decoded. */
  readonly resource: string;
  /** The field of a JSON secret, or null for the whole value. */
  readonly key: string | null;
  /** Config from the query string (null prototype: names are data, never object keys). */
  readonly config: Readonly<Record<string, string>>;
  /** Kong's `#<n>` version, or null. */
  readonly version: number | null;
}

export type ParsedReference = { ok: true; reference: VaultReference } | { ok: false; error: string };

export const REFERENCE_MAX_LENGTH = 1024;

const START = '{vault://';
/** A vault entity prefix (kong/db/schema/entities/vaults.lua) or a backend name. */
const PREFIX = /^[a-z][a-z0-9-]*[a-z0-9]$|^[a-z]$/;

/** Kong's `is_reference`: a string starting with `{vault://` and ending with `}`. */
export function isReference(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(START) && value.endsWith('}');
}

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

function unsafeSegment(s: string): boolean {
  return s === '' || s === '.' || s === '..' || /[/\\\0]/.test(s);
}

/** Parses a reference; errors read like Kong's (`reference url has invalid path [...]`). */
export function parseReference(value: string): ParsedReference {
  const fail = (what: string): ParsedReference => ({ ok: false, error: `${what} [${value}]` });
  if (!isReference(value)) return { ok: false, error: 'not a reference' };
  if (value.length > REFERENCE_MAX_LENGTH)
    return { ok: false, error: `reference is longer than ${REFERENCE_MAX_LENGTH} characters` };
  // No field may hold a NUL (nor a database store one), whether raw or in the query.
  if (value.includes('\0')) return fail('reference contains a NUL character');
  let rest = value.slice(START.length, -1);
  let version: number | null = null;
  const hash = rest.indexOf('#');
  if (hash !== -1) {
    const v = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
    if (!/^[0-9]{1,9}$/.test(v)) return fail('reference url has invalid version');
    version = Number(v);
  }
  let query = '';
  const q = rest.indexOf('?');
  if (q !== -1) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  const prefix = slash === -1 ? rest : rest.slice(0, slash);
  if (prefix === '') return fail('reference url is missing host');
  if (!PREFIX.test(prefix)) return fail('reference url has invalid host');
  if (slash === -1) return fail('reference url is missing path');
  let path = rest.slice(slash + 1);
  if (path === '') return fail('reference url has empty path');
  const directory = path.endsWith('/');
  if (directory) path = path.slice(0, -1);
  const parts: string[] = [];
  for (const raw of path.split('/')) {
    const part = decode(raw);
    if (part === null || unsafeSegment(part)) return fail('reference url has invalid path');
    parts.push(part);
  }
  const key = directory || parts.length === 1 ? null : parts.pop()!;
  const config = Object.create(null) as Record<string, string>;
  if (query !== '') {
    for (const pair of query.split('&')) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      const name = decode((eq === -1 ? pair : pair.slice(0, eq)).replaceAll('+', ' '));
      const val = eq === -1 ? '' : decode(pair.slice(eq + 1).replaceAll('+', ' '));
      if (name === null || val === null || val.includes('\0') || !/^[a-z_][a-z0-9_]*$/.test(name))
        return fail('reference url has invalid query');
      config[name] = val;
    }
  }
  return { ok: true, reference: { prefix, resource: parts.join('/'), key, config, version } };
}
