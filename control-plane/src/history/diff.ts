/**
 * The difference between two configurations as the Admin API shows it
 * (`GET /config/versions/{a}/diff/{b}`, docs/config-history.md): per entity kind that changed,
 * the entities added and removed (whole) and the entities changed (their id, label and each
 * top-level field that differs, `{ from, to }`). Timestamps are not compared. Secrets are never
 * shown: a secret field's value reads "[redacted]" (a changed secret is still listed as changed).
 */
import {
  canonicalJson,
  ENTITIES,
  ENTITY_KINDS,
  type EntityKind,
  type GatehouseConfig,
} from '@gatehouse/shared';
import { entityLabel, indexConfig } from '../declarative/diff.js';
import type { ConfigChanges, EntityChanges } from '../store/index.js';
import { diffConfigs } from '../store/replace.js';
import { summarizeChanges } from './summary.js';

export const REDACTED = '[redacted]';

type Entity = Record<string, unknown> & { id: string };

/** What the history needs of plugin schemas: Kong's description of a plugin (`/schemas/plugins/{name}`). */
export interface PluginDescriptions {
  describe(name: string): Record<string, unknown> | undefined;
}

export interface ChangedEntity {
  id: string;
  label: string;
  fields: Record<string, { from: unknown; to: unknown }>;
}

export interface KindDiff {
  added: Record<string, unknown>[];
  removed: Record<string, unknown>[];
  changed: ChangedEntity[];
}

export interface ConfigDiff {
  summary: string;
  changes: Partial<Record<EntityKind, KindDiff>>;
}

const TIMESTAMPS = new Set(['created_at', 'updated_at']);

/** A plugin config field name that reads as a secret (a plugin whose schema is not known here). */
const SECRET_NAME = /pass|secret|token|credential|private|(^|_)key$/i;

/** The fields of an entity kind that hold secrets: hidden ones, generated ones, `encrypted` ones. */
function secretFields(kind: EntityKind): Set<string> {
  const def = ENTITIES[kind];
  const out = new Set<string>([...(def.hidden ?? []), ...(def.generated ?? [])]);
  for (const [name, field] of Object.entries(def.schema.fields))
    if ((field as { encrypted?: boolean }).encrypted === true) out.add(name);
  return out;
}
const SECRETS = new Map(ENTITY_KINDS.map((k) => [k, secretFields(k)]));

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** `described` is Kong's description of a field (`{ type, fields: [{ name: {...} }], elements, values, encrypted }`). */
function redactBySchema(value: unknown, described: Record<string, unknown> | undefined): unknown {
  if (value === null || value === undefined) return value;
  if (described === undefined) return redactByName(value);
  if (described.encrypted === true) return REDACTED;
  if (Array.isArray(value)) {
    const elements = isRecord(described.elements) ? described.elements : undefined;
    return value.map((v) => redactBySchema(v, elements ?? {}));
  }
  if (!isRecord(value)) return value;
  if (described.type === 'map') {
    const values = isRecord(described.values) ? described.values : {};
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactBySchema(v, values)]));
  }
  const fields = new Map<string, Record<string, unknown>>();
  if (Array.isArray(described.fields))
    for (const entry of described.fields as unknown[])
      if (isRecord(entry))
        for (const [name, spec] of Object.entries(entry)) if (isRecord(spec)) fields.set(name, spec);
  // A field the schema does not describe is judged by its name.
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      fields.has(k) ? redactBySchema(v, fields.get(k)) : SECRET_NAME.test(k) ? REDACTED : redactByName(v),
    ]),
  );
}

function redactByName(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactByName);
  if (!isRecord(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      SECRET_NAME.test(k) && v !== null ? REDACTED : redactByName(v),
    ]),
  );
}

/** The entity with its secrets replaced by "[redacted]" (a plugin's config by its schema). */
export function redactEntity(
  kind: EntityKind,
  entity: Record<string, unknown>,
  plugins: PluginDescriptions | undefined,
): Record<string, unknown> {
  const secrets = SECRETS.get(kind)!;
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(entity)) {
    if (secrets.has(field) && value !== null && value !== undefined) out[field] = REDACTED;
    else if (kind === 'plugins' && field === 'config')
      out[field] = redactBySchema(value, pluginConfigDescription(plugins, entity.name));
    else out[field] = value;
  }
  return out;
}

function pluginConfigDescription(
  plugins: PluginDescriptions | undefined,
  name: unknown,
): Record<string, unknown> | undefined {
  if (typeof name !== 'string' || !plugins) return undefined;
  let described: Record<string, unknown> | undefined;
  try {
    described = plugins.describe(name);
  } catch {
    return undefined;
  }
  const fields = Array.isArray(described?.fields) ? (described.fields as unknown[]) : [];
  for (const entry of fields) if (isRecord(entry) && isRecord(entry.config)) return entry.config;
  return undefined;
}

/** `from`'s configuration against `to`'s: what restoring `to` over `from` would change. */
export function diffVersions(
  from: GatehouseConfig,
  to: GatehouseConfig,
  plugins: PluginDescriptions | undefined,
): ConfigDiff {
  const { changes } = diffConfigs(from, to);
  return { summary: summarizeChanges(changes), changes: describe(changes, from, to, plugins) };
}

function describe(
  changes: ConfigChanges,
  from: GatehouseConfig,
  to: GatehouseConfig,
  plugins: PluginDescriptions | undefined,
): Partial<Record<EntityKind, KindDiff>> {
  const all = changes as unknown as Record<EntityKind, EntityChanges<Entity>>;
  const fromIndex = indexConfig(from);
  const toIndex = indexConfig(to);
  const out: Partial<Record<EntityKind, KindDiff>> = {};
  for (const kind of ENTITY_KINDS) {
    const c = all[kind];
    if (c.created.length + c.updated.length + c.deleted.length === 0) continue;
    const secrets = SECRETS.get(kind)!;
    out[kind] = {
      added: c.created.map((e) => redactEntity(kind, e, plugins)),
      removed: c.deleted.map((e) => redactEntity(kind, e, plugins)),
      changed: c.updated.map(({ before, after }) => {
        const b = redactEntity(kind, before, plugins);
        const a = redactEntity(kind, after, plugins);
        const fields: Record<string, { from: unknown; to: unknown }> = {};
        for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
          if (TIMESTAMPS.has(key)) continue;
          // Compared in clear (a changed secret is a change), shown redacted.
          if (canonicalJson(before[key] ?? null) === canonicalJson(after[key] ?? null)) continue;
          fields[key] = secrets.has(key)
            ? { from: REDACTED, to: REDACTED }
            : { from: b[key] ?? null, to: a[key] ?? null };
        }
        return {
          id: after.id,
          label: entityLabel(to, kind, after, toIndex) || entityLabel(from, kind, before, fromIndex),
          fields,
        };
      }),
    };
  }
  return out;
}
