/**
 * Finds the vault references of a configuration and gives the configuration a data plane serves
 * with their values in place. Where a reference may stand is the schemas' `referenceable` flag
 * (entity schemas from the entity registry, plugin config schemas from the plugin registry):
 * no second list. A value that cannot be resolved is never replaced by an empty string:
 *
 * - a plugin instance with one fails where it runs (its handlers throw, naming the reference:
 *   the client gets Kong's 500, the log GH_ERR_PLUGIN_HANDLER_FAILED);
 * - an entity with one (a key-auth credential) is left out of what is served (its key
 *   authenticates no one), with a warning naming the reference.
 *
 * key-auth keys travel as digests (shared/src/snapshot/credential-digests.ts) except references,
 * which the CP sends as they are: the value read here is digested the same way.
 */
import * as schema from '@gatehouse/shared/schema/index';
import { ENTITY_RECORDS } from '@gatehouse/shared/entities/registry';
import { isReference } from '@gatehouse/shared/vaults/reference';
import { keyAuthLookup } from '@gatehouse/shared/snapshot/credential-digests';
import type { DigestedConfig, GatehouseConfig } from '@gatehouse/shared/config/model';
import type { Resolution } from './resolver.js';

type Field = schema.Field;

/** The plugin schemas a configuration's instances are read with (the plugin registry). */
export interface PluginSchemas {
  spec(name: string): { readonly schema: schema.RecordField } | undefined;
}

export interface ResolvedConfig {
  readonly config: GatehouseConfig;
  /** Plugin instance id → why it cannot run (naming the reference). */
  readonly failedPlugins: ReadonlyMap<string, string>;
  /** What was left out, for the log (references only, never values). */
  readonly warnings: readonly { message: string; fields: Record<string, unknown> }[];
}

const hasRefCache = new WeakMap<object, boolean>();

/** The field, or something under it, may hold a reference. */
function mayHoldReference(field: Field): boolean {
  const seen = hasRefCache.get(field);
  if (seen !== undefined) return seen;
  let yes = field.referenceable === true;
  if (!yes && field.type === 'record') yes = Object.values(field.fields).some(mayHoldReference);
  if (!yes && (field.type === 'array' || field.type === 'set')) yes = mayHoldReference(field.elements);
  if (!yes && field.type === 'map') yes = mayHoldReference(field.values);
  hasRefCache.set(field, yes);
  return yes;
}

/**
 * `value` with each reference in a referenceable place replaced by `visit(reference)` (null:
 * unresolved, left as is). Copies only what changes; never assigns a key it did not read from a
 * schema's own fields.
 */
function walk(field: Field, value: unknown, visit: (ref: string) => string | null): unknown {
  if (value === null || value === undefined || !mayHoldReference(field)) return value;
  if (field.referenceable === true && isReference(value)) return visit(value) ?? value;
  if (field.type === 'record' && typeof value === 'object' && !Array.isArray(value)) {
    let out: Record<string, unknown> | null = null;
    for (const [name, f] of Object.entries(field.fields)) {
      if (!Object.hasOwn(value, name)) continue;
      const before = (value as Record<string, unknown>)[name];
      const after = walk(f, before, visit);
      if (after !== before) (out ??= { ...(value as Record<string, unknown>) })[name] = after;
    }
    return out ?? value;
  }
  if ((field.type === 'array' || field.type === 'set') && Array.isArray(value)) {
    const after = value.map((v: unknown) => walk(field.elements, v, visit));
    return after.some((v, i) => v !== value[i]) ? after : value;
  }
  if (field.type === 'map' && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    const after = entries.map(([k, v]) => [k, walk(field.values, v, visit)] as const);
    if (after.every(([, v], i) => v === entries[i]![1])) return value;
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of after)
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return { ...out };
  }
  return value;
}

/** Every reference of `config` in a referenceable place (entities and plugin configs). */
export function referencesOf(config: GatehouseConfig, plugins: PluginSchemas | null): Set<string> {
  const refs = new Set<string>();
  const collect = (r: string): null => {
    refs.add(r);
    return null;
  };
  const cfg = config as unknown as Record<string, unknown>;
  for (const rec of ENTITY_RECORDS) {
    const list = cfg[rec.kind];
    if (!Array.isArray(list) || !mayHoldReference(rec.schema)) continue;
    for (const e of list) walk(rec.schema, e, collect);
  }
  if (plugins !== null)
    for (const p of config.plugins) {
      const s = plugins.spec(p.name)?.schema;
      if (s !== undefined) walk(s, p.config, collect);
    }
  return refs;
}

/** `config` with the references' values from `lookup` (see the module comment for failures). */
export function resolveConfig(
  config: GatehouseConfig,
  plugins: PluginSchemas | null,
  lookup: (reference: string) => Resolution | undefined,
): ResolvedConfig {
  const warnings: { message: string; fields: Record<string, unknown> }[] = [];
  const failedPlugins = new Map<string, string>();
  const out: Record<string, unknown> = { ...(config as unknown as Record<string, unknown>) };
  let failure: string | null = null;
  const visit = (ref: string): string | null => {
    const r = lookup(ref) ?? { error: 'not read yet' };
    if ('value' in r) return r.value;
    failure ??= `vault reference ${ref} cannot be resolved: ${r.error}`;
    return null;
  };
  const digested = (config as DigestedConfig)._credential_digests !== undefined;
  for (const rec of ENTITY_RECORDS) {
    const list = out[rec.kind];
    if (!Array.isArray(list) || !mayHoldReference(rec.schema)) continue;
    const kept: unknown[] = [];
    for (const e of list as Record<string, unknown>[]) {
      failure = null;
      let after = walk(rec.schema, e, visit) as Record<string, unknown>;
      if (failure !== null) {
        warnings.push({
          message: `${rec.label} left out: ${failure as string}`,
          fields: { [rec.label]: e.id },
        });
        continue;
      }
      // A key-auth key read from a vault is digested as the CP digests the others.
      if (rec.kind === 'keyauth_credentials' && digested && after !== e && isReference(e.key))
        after = { ...after, key: keyAuthLookup(config).digest(after.key as string) };
      kept.push(after);
    }
    if (kept.length !== list.length || kept.some((k, i) => k !== list[i])) out[rec.kind] = kept;
  }
  if (plugins !== null) {
    out.plugins = config.plugins.map((p) => {
      const s = plugins.spec(p.name)?.schema;
      if (s === undefined) return p;
      failure = null;
      const c = walk(s, p.config, visit);
      if (failure !== null) {
        failedPlugins.set(p.id, failure);
        return p;
      }
      return c === p.config ? p : { ...p, config: c as typeof p.config };
    });
  }
  return { config: out as unknown as GatehouseConfig, failedPlugins, warnings };
}
