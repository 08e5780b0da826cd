/**
 * Scope tags: how an entity says which data planes get it, in Kong's own `tags` field so Kong
 * files load unchanged. Every tag starting with `gatehouse:` is reserved:
 *
 *   gatehouse:region=<region>         only data planes started with `--region <region>`
 *   gatehouse:label=<key>=<value>     only data planes started with `--label <key>=<value>`
 *
 * Several region tags: any of them (OR). Several label tags with the same key: any of the values
 * (OR). Region and different label keys: all of them (AND). No scope tag: every data plane.
 * Both forms are valid Kong tags (printable ASCII without `,` and `/`).
 *
 * The other reserved tags are settings, not scopes, read where they apply:
 *
 *   gatehouse:half-open=<seconds>    an upstream's half-open retry (docs/load-balancing.md)
 */
import { labelError, regionError, type NodePlacement } from './node.js';

export const SCOPE_TAG_PREFIX = 'gatehouse:';

/** An upstream's half-open cool-down (data-plane/src/balancer/half-open.ts reads it). */
export const HALF_OPEN_TAG_PREFIX = `${SCOPE_TAG_PREFIX}half-open=`;
/** Reserved tags that are settings: not scope tags, so they neither scope nor are refused here. */
const SETTING_TAG_PREFIXES = [HALF_OPEN_TAG_PREFIX];
const isSettingTag = (tag: string) => SETTING_TAG_PREFIXES.some((p) => tag.startsWith(p));

/** The entity kinds whose scope tags are read (other kinds refuse scope tags). */
export const SCOPABLE_KINDS = ['services', 'routes', 'upstreams', 'targets', 'plugins'] as const;
export type ScopableKind = (typeof SCOPABLE_KINDS)[number];

export function isScopable(kind: string): kind is ScopableKind {
  return (SCOPABLE_KINDS as readonly string[]).includes(kind);
}

/** Why an entity of `kind` may not carry these tags (a scope tag on a kind that is not scopable), or null. */
export function misplacedScopeTag(kind: string, tags: readonly string[] | null | undefined): string | null {
  if (isScopable(kind) || !tags) return null;
  const t = tags.find((tag) => parseScopeTag(tag) !== null);
  return t === undefined
    ? null
    : `scope tag '${t}': only ${SCOPABLE_KINDS.join(', ')} can be scoped to regions or labels`;
}
const REGION_PREFIX = `${SCOPE_TAG_PREFIX}region=`;
const LABEL_PREFIX = `${SCOPE_TAG_PREFIX}label=`;

/** Where an entity goes. Empty `regions`: any region; a key in `labels`: the DP's value must be listed. */
export interface Scope {
  regions: readonly string[];
  labels: Readonly<Record<string, readonly string[]>>;
}

export type ScopeTag = { kind: 'region'; region: string } | { kind: 'label'; key: string; value: string };

/**
 * One tag: a scope tag, null for an ordinary tag, or `{ error }` for a reserved (`gatehouse:`) tag
 * that is not a valid scope tag (refused on write, so a typo never turns an entity global).
 */
export function parseScopeTag(tag: string): ScopeTag | null | { error: string } {
  if (!tag.startsWith(SCOPE_TAG_PREFIX) || isSettingTag(tag)) return null;
  const expected = `expected ${REGION_PREFIX}<region>, ${LABEL_PREFIX}<key>=<value> or ${HALF_OPEN_TAG_PREFIX}<seconds>`;
  if (tag.startsWith(REGION_PREFIX)) {
    const region = tag.slice(REGION_PREFIX.length);
    const e = regionError(region);
    return e ? { error: `invalid scope tag '${tag}': ${e}` } : { kind: 'region', region };
  }
  if (tag.startsWith(LABEL_PREFIX)) {
    const rest = tag.slice(LABEL_PREFIX.length);
    const eq = rest.indexOf('=');
    if (eq < 0) return { error: `invalid scope tag '${tag}': ${expected}` };
    const key = rest.slice(0, eq);
    const value = rest.slice(eq + 1);
    const e = labelError(key, value);
    return e ? { error: `invalid scope tag '${tag}': ${e}` } : { kind: 'label', key, value };
  }
  return {
    error: `invalid scope tag '${tag}': tags starting with '${SCOPE_TAG_PREFIX}' are reserved; ${expected}`,
  };
}

/** Why a tag is not acceptable as a scope tag (null: a valid scope tag or an ordinary tag). */
export function scopeTagError(tag: string): string | null {
  const t = parseScopeTag(tag);
  return t && 'error' in t ? t.error : null;
}

/** The scope tag for a region / a label (for docs, tests and tools that write them). */
export const regionTag = (region: string) => `${REGION_PREFIX}${region}`;
export const labelTag = (key: string, value: string) => `${LABEL_PREFIX}${key}=${value}`;

/**
 * An entity's scope from its tags: null when it has no scope tag (it goes everywhere),
 * 'invalid' when a reserved tag does not parse (it goes nowhere: fail closed).
 */
export function scopeOf(tags: readonly string[] | null | undefined): Scope | null | 'invalid' {
  if (!tags) return null;
  let regions: string[] | null = null;
  let labels: Record<string, string[]> | null = null;
  for (const tag of tags) {
    const t = parseScopeTag(tag);
    if (t === null) continue;
    if ('error' in t) return 'invalid';
    if (t.kind === 'region') (regions ??= []).push(t.region);
    else {
      labels ??= Object.create(null) as Record<string, string[]>;
      (labels[t.key] ??= []).push(t.value);
    }
  }
  if (!regions && !labels) return null;
  return { regions: regions ?? [], labels: labels ?? {} };
}

/** Does a data plane at `node` fall in `scope`? */
export function inScope(scope: Scope, node: NodePlacement): boolean {
  if (scope.regions.length > 0 && !scope.regions.includes(node.region)) return false;
  for (const [key, values] of Object.entries(scope.labels)) {
    const v = Object.hasOwn(node.labels, key) ? node.labels[key] : undefined;
    if (v === undefined || !values.includes(v)) return false;
  }
  return true;
}
