import {
  canonicalJson,
  KIND_SPEC,
  KIND_SPECS,
  verifyBasicAuthPassword,
  type EntityKind,
  type GatehouseConfig,
  type ToConfigResult,
} from '@gatehouse/shared';
import type { ConfigChanges, EntityChanges } from '../store/index.js';

export type ChangeAction = 'create' | 'update' | 'delete';

type Entity = { id: string } & Record<string, unknown>;

/** One entity the import creates, updates or deletes. */
export interface Change {
  action: ChangeAction;
  kind: EntityKind;
  id: string;
  /** Human label: `service 'billing'`, `keyauth_credential of consumer 'alice'`. */
  label: string;
  /** The entity as it will be stored (create/update). */
  after?: Entity;
  /** The entity as stored now (update/delete). */
  before?: Entity;
  /** Fields that differ (update). */
  fields?: string[];
}

const TIMESTAMPS = new Set(['created_at', 'updated_at']);

function changedFields(before: Entity, after: Entity): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys]
    .filter((k) => !TIMESTAMPS.has(k))
    .filter((k) => canonicalJson(before[k] ?? null) !== canonicalJson(after[k] ?? null))
    .sort();
}

/** Entities of a config by kind and id (labels name the parents they reference). */
export type ConfigIndex = (kind: EntityKind, id: string) => Entity | undefined;

/** Indexes `config` once, so labelling every change of a large import stays linear. */
export function indexConfig(config: GatehouseConfig): ConfigIndex {
  const cfg = config as unknown as Record<EntityKind, Entity[]>;
  const maps = new Map<EntityKind, Map<string, Entity>>();
  return (kind, id) => {
    let byId = maps.get(kind);
    if (!byId) maps.set(kind, (byId = new Map(cfg[kind].map((e) => [e.id, e]))));
    return byId.get(id);
  };
}

/** `service 'billing'`, `route 3f0c…`, `acl 'admins' of consumer 'alice'`. */
export function entityLabel(
  config: GatehouseConfig,
  kind: EntityKind,
  entity: Entity,
  index: ConfigIndex = indexConfig(config),
): string {
  const spec = KIND_SPEC[kind];
  const nameOf = (k: EntityKind, id: string | undefined): string => {
    const target = id ? index(k, id) : undefined;
    const key = KIND_SPEC[k].endpointKey;
    const name = target && key ? target[key] : undefined;
    return typeof name === 'string' ? `'${name}'` : (id ?? '?');
  };
  // Its own name: the first endpoint key set (a plugin without instance_name: its plugin name).
  const own =
    spec.nameKeys.map((k) => entity[k]).find((v) => v !== null && v !== undefined) ??
    (kind === 'plugins' ? entity.name : undefined);
  let label = `${spec.label} ${typeof own === 'string' ? `'${own}'` : entity.id}`;
  for (const ref of spec.refs) {
    const fk = (entity[ref.field] as { id: string } | null | undefined)?.id;
    if (fk)
      label += ` ${ref.field === 'consumer_group' ? 'in' : 'of'} ${KIND_SPEC[ref.target].label} ${nameOf(ref.target, fk)}`;
  }
  return label;
}

/** `after`'s generated `field` (`config.x`: a field of its config) set to `before`'s, when stored. */
function keepStored(after: Entity, before: Entity, field: string): void {
  if (!field.startsWith('config.')) {
    after[field] = before[field];
    return;
  }
  const name = field.slice('config.'.length);
  const stored = before.config as Record<string, unknown> | null | undefined;
  const wanted = after.config as Record<string, unknown> | null | undefined;
  if (stored?.[name] === undefined || stored[name] === null || !wanted) return;
  after.config = { ...wanted, [name]: stored[name] };
}

/**
 * The resolved file's config with stored values carried over where the file does not decide them:
 * fields it left to be generated (key-auth keys, secrets), the stored hash when the file's clear
 * basic-auth password matches it, and timestamps of entities that already exist.
 */
export function carryStoredValues(
  current: GatehouseConfig,
  resolved: Pick<ToConfigResult, 'config' | 'generated' | 'clearPasswords'>,
): GatehouseConfig {
  const cur = current as unknown as Record<EntityKind, Entity[]>;
  // Copies of the lists; an entity is copied (shallowly: only its own fields are set) when it changes.
  const desired = Object.fromEntries(
    Object.entries(resolved.config).map(([kind, list]) => [kind, [...(list as unknown as Entity[])]]),
  ) as unknown as GatehouseConfig;
  const want = desired as unknown as Record<EntityKind, Entity[]>;
  const generated = new Map<string, string[]>();
  for (const g of resolved.generated) generated.set(g.id, [...(generated.get(g.id) ?? []), g.field]);
  for (const spec of KIND_SPECS) {
    const stored = new Map((cur[spec.kind] ?? []).map((e) => [e.id, e]));
    const list = want[spec.kind];
    list.forEach((entity, i) => {
      const before = stored.get(entity.id);
      if (!before) return;
      const after = { ...entity };
      list[i] = after;
      for (const field of generated.get(after.id) ?? []) keepStored(after, before, field);
      const clear = resolved.clearPasswords.get(after.id);
      if (
        clear !== undefined &&
        typeof before.password === 'string' &&
        verifyBasicAuthPassword(clear, before.password)
      ) {
        after.password = before.password;
      }
      after.created_at = before.created_at;
      if ('updated_at' in before) after.updated_at = before.updated_at;
      // Unchanged: keep the stored value itself (Json columns come back with their keys reordered).
      if (changedFields(before, after).length === 0) list[i] = before;
    });
  }
  return desired;
}

/**
 * The store's per-list changes as one list: deletes (children first), then creates and updates
 * (parents first), each with a readable label and, for updates, the fields that differ.
 */
export function describeChanges(
  changes: ConfigChanges,
  current: GatehouseConfig,
  desired: GatehouseConfig,
): Change[] {
  const all = changes as unknown as Record<EntityKind, EntityChanges<Entity>>;
  const creates: Change[] = [];
  const updates: Change[] = [];
  const deletes: Change[] = [];
  const inDesired = indexConfig(desired);
  const inCurrent = indexConfig(current);
  for (const spec of KIND_SPECS) {
    const kind = spec.kind;
    const c = all[kind];
    if (!c) continue;
    for (const after of c.created)
      creates.push({
        action: 'create',
        kind,
        id: after.id,
        label: entityLabel(desired, kind, after, inDesired),
        after,
      });
    for (const { before, after } of c.updated)
      updates.push({
        action: 'update',
        kind,
        id: after.id,
        label: entityLabel(desired, kind, after, inDesired),
        before,
        after,
        fields: changedFields(before, after),
      });
    for (const before of [...c.deleted].reverse())
      deletes.push({
        action: 'delete',
        kind,
        id: before.id,
        label: entityLabel(current, kind, before, inCurrent),
        before,
      });
  }
  return [...deletes.reverse(), ...creates, ...updates];
}

/** `+ service 'a'`, `~ route 'r' (paths, strip_path)`, `- consumer 'bob'`, one line per change. */
export function formatChanges(changes: readonly Change[]): string {
  if (changes.length === 0) return 'no changes\n';
  const sign = { create: '+ create', update: '~ update', delete: '- delete' } as const;
  const lines = changes.map(
    (c) => `${sign[c.action]} ${c.label}${c.fields ? ` (${c.fields.join(', ')})` : ''}`,
  );
  const count = (a: ChangeAction) => changes.filter((c) => c.action === a).length;
  lines.push(`${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete`);
  return `${lines.join('\n')}\n`;
}
