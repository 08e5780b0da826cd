/**
 * Slicing a configuration for one data plane. The rules (docs/regions-and-slices.md):
 *
 *  1. Services, routes, upstreams, targets and plugins may carry scope tags (scope.ts); an entity
 *     without any goes to every data plane; one with scope tags only where they match.
 *  2. An entity that refers to an entity left out is left out too, through every foreign key
 *     (a route of a left-out service, a plugin on a left-out route/service, a target of a left-out
 *     upstream) and through the one reference Kong makes by name: a service whose `host` is the
 *     name of a left-out upstream (it would otherwise resolve `host` through DNS on that DP).
 *  3. Nothing else is touched: consumers, credentials, certificates… go everywhere.
 *
 * Two data planes whose region and labels match the same scope tags get the same slice: the
 * slice key (`sliceKeyOf` of the placement projected on the config's scope tags) names it. With
 * no scope tag anywhere, every data plane's slice key is 'default' and its slice the whole config.
 */
import type { GatehouseConfig } from '../config/model.js';
import { ENTITIES, ENTITY_KINDS, type EntityKind } from '../entities/registry.js';
import type { NodePlacement } from './node.js';
import { inScope, SCOPABLE_KINDS, scopeOf, type Scope } from './scope.js';

/** The slice key of the whole fleet when nothing is scoped, and of a DP with no region and no labels. */
export const DEFAULT_SLICE_KEY = 'default';

/**
 * A stable name for a placement: 'default' (no region, no labels), else
 * `region=<r>` and `label=<k>=<v>` (labels sorted by key) joined by '/'. Unambiguous for valid
 * placements (names hold no '/' or '='); usable as a NATS KV key.
 */
export function sliceKeyOf(
  region: string | null | undefined,
  labels: Readonly<Record<string, string>> = {},
): string {
  const parts: string[] = [];
  if (region) parts.push(`region=${region}`);
  for (const k of Object.keys(labels).sort()) parts.push(`label=${k}=${labels[k]}`);
  return parts.length === 0 ? DEFAULT_SLICE_KEY : parts.join('/');
}

/** Every region and label value some scope tag of the config names. */
export interface ScopeUniverse {
  regions: ReadonlySet<string>;
  labels: ReadonlyMap<string, ReadonlySet<string>>;
  /** False when no entity has a scope tag: every slice is the whole config. */
  scoped: boolean;
}

type Row = { id: string; tags?: string[] | null; [field: string]: unknown };
const rows = (config: GatehouseConfig, kind: EntityKind) => (config[kind] ?? []) as unknown as Row[];

export function scopeUniverse(config: GatehouseConfig): ScopeUniverse {
  const regions = new Set<string>();
  const labels = new Map<string, Set<string>>();
  let scoped = false;
  for (const kind of SCOPABLE_KINDS) {
    for (const e of rows(config, kind)) {
      const s = scopeOf(e.tags);
      if (s === null) continue;
      scoped = true;
      if (s === 'invalid') continue;
      for (const r of s.regions) regions.add(r);
      for (const [k, vs] of Object.entries(s.labels)) {
        let set = labels.get(k);
        if (!set) labels.set(k, (set = new Set()));
        for (const v of vs) set.add(v);
      }
    }
  }
  return { regions, labels, scoped };
}

/**
 * The part of a placement the config's scope tags can tell apart: a region or label value no
 * scope tag names matches nothing, exactly as none does. Same projection => same slice.
 */
export function projectPlacement(u: ScopeUniverse, node: NodePlacement): NodePlacement {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(node.labels)) if (u.labels.get(k)?.has(v)) labels[k] = v;
  return { region: u.regions.has(node.region) ? node.region : '', labels };
}

/** The key of the slice a data plane at `node` gets from a config with this universe. */
export function configSliceKey(u: ScopeUniverse, node: NodePlacement): string {
  if (!u.scoped) return DEFAULT_SLICE_KEY;
  const p = projectPlacement(u, node);
  return sliceKeyOf(p.region, p.labels);
}

/** Implicit references: `from.field` holding the `by` field of a `to` entity (Kong resolves service hosts to upstreams by name). */
const BY_NAME_REFERENCES = [{ from: 'services', field: 'host', to: 'upstreams', by: 'name' }] as const;

/**
 * The config a data plane at `node` gets (rules in the module comment). Lists that lose nothing
 * are the input's own arrays; the input is not modified.
 */
export function sliceConfig<C extends GatehouseConfig>(config: C, node: NodePlacement): C {
  const left = new Map<EntityKind, Set<string>>();
  const leaveOut = (kind: EntityKind, id: string) => {
    let set = left.get(kind);
    if (!set) left.set(kind, (set = new Set()));
    set.add(id);
  };
  const isOut = (kind: EntityKind, id: string) => left.get(kind)?.has(id) === true;
  const scopes = new Map<Row, Scope | 'invalid'>();
  for (const kind of SCOPABLE_KINDS)
    for (const e of rows(config, kind)) {
      const s = scopeOf(e.tags);
      if (s !== null) scopes.set(e, s);
    }
  if (scopes.size === 0) return config;
  for (const kind of SCOPABLE_KINDS)
    for (const e of rows(config, kind)) {
      const s = scopes.get(e);
      if (s !== undefined && (s === 'invalid' || !inScope(s, node))) leaveOut(kind, e.id);
    }
  // Follow references until nothing more is left out (a chain is at most as long as the kinds).
  for (let changed = true; changed;) {
    changed = false;
    const outByName = BY_NAME_REFERENCES.map((r) => ({
      ...r,
      names: new Set(
        rows(config, r.to)
          .filter((e) => isOut(r.to, e.id))
          .map((e) => String(e[r.by])),
      ),
    }));
    for (const kind of ENTITY_KINDS) {
      const foreign = ENTITIES[kind].foreign;
      const byName = outByName.filter((r) => r.from === kind && r.names.size > 0);
      if (foreign.length === 0 && byName.length === 0) continue;
      for (const e of rows(config, kind)) {
        if (isOut(kind, e.id)) continue;
        const refOut = foreign.some((fk) => {
          const ref = e[fk.field] as { id?: unknown } | null | undefined;
          return typeof ref?.id === 'string' && isOut(fk.target, ref.id);
        });
        if (refOut || byName.some((r) => r.names.has(String(e[r.field])))) {
          leaveOut(kind, e.id);
          changed = true;
        }
      }
    }
  }
  const out = { ...config } as Record<string, unknown>;
  for (const [kind, ids] of left) out[kind] = rows(config, kind).filter((e) => !ids.has(e.id));
  return out as C;
}
